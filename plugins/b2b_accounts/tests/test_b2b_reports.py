"""The b2b reports on small hand-made data: exact money, probabilities, permissions, Kotler."""

from __future__ import annotations

from datetime import date

import pytest
from crm_b2b_accounts.reports import KOTLER_LEVELS, money

from crm_core.api import Crm, InvalidInput


@pytest.fixture
def pipeline(b2b: Crm) -> dict[str, int]:
    """A1 (wang, lead) and A2 (zhang, qualified) with open, won and lost deals in CNY."""
    a1 = b2b.add_record("admin", "account", {"company": "A1", "region": "east"},
                        owner="wang").record.id  # fmt: skip
    a2 = b2b.add_record("admin", "account", {"company": "A2", "region": "west",
                        "industry": "steel"}, owner="zhang").record.id  # fmt: skip
    b2b.move_record("admin", a2, "qualified")
    b2b.add_deal("admin", a1, "open, lead", amount="1000.00", expected_close=date(2026, 4, 15))
    b2b.add_deal("admin", a1, "tracked at proposal", amount="333.33", stage="proposal",
                 expected_close=date(2026, 4, 30))  # fmt: skip
    b2b.add_deal("admin", a1, "won", amount="5000", stage="won", expected_close=date(2026, 2, 1))
    b2b.add_deal("admin", a1, "lost", amount="700", stage="lost")
    b2b.add_deal("admin", a2, "open, undated", amount="2000.01")
    b2b.add_deal("admin", a2, "won", amount="1234.56", stage="won")
    return {"a1": a1, "a2": a2}


def test_money_is_exact() -> None:
    assert money(123450) == "1234.50"
    assert money(0) == "0.00"
    assert money(None) == "0.00"


def test_pipeline_by_account_stage(b2b: Crm, pipeline: dict[str, int]) -> None:
    result = b2b.run_report("admin", "b2b_pipeline")
    assert result.columns == ["account_stage", "deals", "amount", "weighted"]
    # lead: 1000.00 x 0.1 + 333.33 x 0.5 (the deal's own stage) = 266.665 -> 266.67
    # qualified: 2000.01 x 0.25 = 500.0025 -> 500.00
    assert result.rows == [["lead", 2, "1333.33", "266.67"], ["qualified", 1, "2000.01", "500.00"]]
    assert result.notes == ["amounts in CNY; total: 3 open deals, 3333.34, weighted 766.67"]
    same = b2b.run_report("admin", "b2b_pipeline", kind="account")
    assert same.rows == result.rows


def test_pipeline_by_deal_stage(b2b: Crm, pipeline: dict[str, int]) -> None:
    result = b2b.run_report("admin", "b2b_pipeline", params={"group": "deal_stage"})
    # the workflow's stages first, in order, then other deal stages by name
    assert result.rows == [["proposal", 1, "333.33", "166.67"], ["open", 2, "3000.01", "600.00"]]
    with pytest.raises(InvalidInput, match="group"):
        b2b.run_report("admin", "b2b_pipeline", params={"group": "region"})


def test_pipeline_by_owner_and_team(b2b: Crm, pipeline: dict[str, int]) -> None:
    # wang's account: 1000.00 x 0.1 + 333.33 x 0.5; zhang's: 2000.01 x 0.25 (as above)
    by_team = b2b.run_report("admin", "b2b_pipeline", params={"group": "team"}).rows
    assert by_team == [
        ["sales_east", 2, "1333.33", "266.67"],
        ["sales_west", 1, "2000.01", "500.00"],
    ]
    # a deal of zhang's account that li (sales_east) works counts for li and his team
    b2b.add_deal("admin", pipeline["a2"], "li's", amount="100", owner="li")
    by_owner = b2b.run_report("admin", "b2b_pipeline", params={"group": "owner"}).rows
    assert by_owner == [["li", 1, "100.00", "25.00"], ["wang", 2, "1333.33", "266.67"],
                        ["zhang", 1, "2000.01", "500.00"]]  # fmt: skip
    by_team = b2b.run_report("admin", "b2b_pipeline", params={"group": "team"}).rows
    assert by_team[0] == ["sales_east", 3, "1433.33", "291.67"]


def test_forecast_by_month(b2b: Crm, pipeline: dict[str, int]) -> None:
    result = b2b.run_report("admin", "b2b_forecast")
    assert result.columns == ["month", "deals", "amount", "weighted"]
    assert result.rows == [["2026-04", 2, "1333.33", "266.67"], ["(none)", 1, "2000.01", "500.00"]]


def test_win_rate_and_revenue(b2b: Crm, pipeline: dict[str, int]) -> None:
    rate = b2b.run_report("admin", "b2b_win_rate_by_owner")
    zero = [0, 0, 0, 0, None, "0.00"]  # every active user has a row
    assert rate.rows == [
        ["admin", *zero],
        ["chen", *zero],
        ["li", *zero],
        ["wang", 4, 2, 1, 1, 0.5, "5000.00"],
        ["zhang", 2, 1, 1, 0, 1.0, "1234.56"],
        ["zhao", *zero],
    ]
    region = b2b.run_report("admin", "b2b_revenue_by_region")
    assert region.rows == [["east", 1, 1, "5000.00", 0.802], ["west", 1, 1, "1234.56", 0.198]]


def test_reports_count_only_what_the_user_sees(b2b: Crm, pipeline: dict[str, int]) -> None:
    mine = b2b.run_report("wang", "b2b_pipeline")
    assert mine.rows == [["lead", 2, "1333.33", "266.67"]]
    assert [r[0] for r in b2b.run_report("zhang", "b2b_win_rate_by_owner").rows] == ["zhang"]


def test_deals_of_other_kinds_do_not_count(b2b: Crm, pipeline: dict[str, int]) -> None:
    lead = b2b.add_record("admin", "lead", {"name": "x", "phone": "13900001111"}).record.id
    b2b.add_deal("admin", lead, "a lead's deal", amount=99999, stage="won")
    assert b2b.run_report("admin", "b2b_pareto").rows[0][2] == "5000.00"


def test_one_currency_at_a_time(b2b: Crm, pipeline: dict[str, int]) -> None:
    b2b.add_deal("admin", pipeline["a2"], "export order", amount="10", currency="USD", stage="won")
    with pytest.raises(InvalidInput, match="CNY, USD"):
        b2b.run_report("admin", "b2b_revenue_by_region")
    usd = b2b.run_report("admin", "b2b_revenue_by_region", params={"currency": "usd"})
    assert usd.rows == [["west", 1, 1, "10.00", 1.0]]
    cny = b2b.run_report("admin", "b2b_pareto", params={"currency": "CNY"})
    assert cny.rows == [["A", 1, "5000.00", 0.802], ["B", 1, "1234.56", 0.198],
                        ["C", 0, "0.00", 0.0], ["none", 0, "0.00", 0.0]]  # fmt: skip


def test_weighted_reports_need_the_workflow(team: Crm) -> None:
    team.add_record("admin", "account", {"company": "A"})
    with pytest.raises(InvalidInput, match="no workflow"):
        team.run_report("admin", "b2b_pipeline")
    assert team.run_report("admin", "b2b_pareto").rows[3] == ["none", 1, "0.00", None]


def test_kotlers_table_is_complete_and_monotone() -> None:
    levels = ["basic", "reactive", "accountable", "proactive", "partnership"]
    counts, margins = ["many", "medium", "few"], ["low", "medium", "high"]
    assert set(KOTLER_LEVELS) == {(n, m) for n in counts for m in margins}
    assert KOTLER_LEVELS["few", "high"] == "partnership"
    assert KOTLER_LEVELS["many", "low"] == "basic"
    # one step fewer customers, or one step more margin: one level closer to a partnership
    rank = {(n, m): levels.index(KOTLER_LEVELS[n, m]) for n in counts for m in margins}
    for i, n in enumerate(counts):
        for j, m in enumerate(margins):
            assert rank[n, m] == i + j


def test_relationship_levels(crm: Crm) -> None:
    def add(company: str, type_: str, margin: float | None = None) -> int:
        fields: dict[str, object] = {"company": company, "type": type_}
        if margin is not None:
            fields["margin"] = margin
        return crm.add_record("admin", "account", fields).record.id

    ids = [
        add("E1", "end_customer", 0.5), add("E2", "end_customer", 0.2),
        add("E3", "end_customer", 0.05), add("D1", "distributor", 0.5),
        add("D2", "distributor", 0.2), add("G1", "agent", 0.5), add("R1", "dealer"),
    ]  # fmt: skip
    params = {"many": "3", "few": "1"}
    result = crm.run_report("admin", "b2b_relationship", params=params)
    assert result.columns == ["account_id", "account", "type", "customers_in_segment", "margin",
                              "margin_level", "customers", "relationship"]  # fmt: skip
    assert result.rows == [
        [ids[0], "E1", "end_customer", 3, 0.5, "high", "many", "accountable"],
        [ids[1], "E2", "end_customer", 3, 0.2, "medium", "many", "reactive"],
        [ids[2], "E3", "end_customer", 3, 0.05, "low", "many", "basic"],
        [ids[3], "D1", "distributor", 2, 0.5, "high", "medium", "proactive"],
        [ids[4], "D2", "distributor", 2, 0.2, "medium", "medium", "accountable"],
        [ids[5], "G1", "agent", 1, 0.5, "high", "few", "partnership"],
        [ids[6], "R1", "dealer", 1, None, None, "few", None],
    ]
    summary = crm.run_report("admin", "b2b_relationship", params={**params, "summary": "1"})
    assert summary.rows == [["basic", 1], ["reactive", 1], ["accountable", 2], ["proactive", 1],
                            ["partnership", 1], ["(no margin)", 1]]  # fmt: skip
    with pytest.raises(InvalidInput):
        crm.run_report("admin", "b2b_relationship", params={"margin_high": "2"})
    with pytest.raises(InvalidInput):
        crm.run_report("admin", "b2b_relationship", params={"segment": "x'; drop"})
