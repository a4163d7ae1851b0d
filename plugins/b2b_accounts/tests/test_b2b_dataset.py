"""A public CRM data set's shape, imported through the public API, gives exact figures.

``data/accounts.csv`` and ``data/opportunities.csv`` are built by hand in the
shape of the public "CRM sales opportunities" data set (accounts with sector,
size and region; opportunities with a sales agent, a stage of Won, Lost,
Engaging or Prospecting, and a close value). Each account is worked by one
agent, who becomes its owner (the core's deals have no owner of their own).
The expected figures are computed here from the CSV with plain Python, apart
from the reports' SQL.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from crm_core.api import Crm

DATA = Path(__file__).parent / "data"


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


ACCOUNTS = _read("accounts.csv")
OPPORTUNITIES = _read("opportunities.csv")


def _size(employees: int) -> str:
    for bound, size in ((10, "micro"), (50, "small"), (250, "medium"), (1000, "large")):
        if employees < bound:
            return size
    return "enterprise"


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def import_dataset(crm: Crm) -> dict[str, Any]:
    """Users for the agents, an account per account row, a deal per opportunity with an account."""
    agents = sorted({o["sales_agent"] for o in OPPORTUNITIES})
    for agent in agents:
        crm.add_user("admin", agent, "operator")
    owner_of = {o["account"]: o["sales_agent"] for o in OPPORTUNITIES if o["account"]}
    ids: dict[str, int] = {}
    for row in ACCOUNTS:
        fields = {
            "company": row["account"], "industry": row["sector"], "region": row["region"],
            "size": _size(int(row["employees"])),
        }  # fmt: skip
        owner = owner_of.get(row["account"], agents[0])
        ids[row["account"]] = crm.add_record("admin", "account", fields, owner=owner).record.id
    for row in ACCOUNTS:  # group companies: a second pass, once every parent exists
        if row["subsidiary_of"]:
            parent = ids[row["subsidiary_of"]]
            crm.update_record("admin", ids[row["account"]], {"parent_account_id": parent})
    skipped = 0
    for o in OPPORTUNITIES:
        if not o["account"]:  # prospecting without an account yet: nothing to attach it to
            skipped += 1
            continue
        close = date.fromisoformat(o["close_date"]) if o["close_date"] else None
        crm.add_deal(
            "admin", ids[o["account"]], f"{o['product']} ({o['opportunity_id']})",
            amount=o["close_value"] or "0", currency="USD", stage=o["deal_stage"].lower(),
            expected_close=close,
        )  # fmt: skip
    return {"ids": ids, "skipped": skipped}


def test_each_account_has_one_agent() -> None:
    """The premise of owner = agent: no account in the file is shared by two agents."""
    agents = defaultdict(set)
    for o in OPPORTUNITIES:
        if o["account"]:
            agents[o["account"]].add(o["sales_agent"])
    assert all(len(a) == 1 for a in agents.values())
    assert len(ACCOUNTS) == 20 and len(OPPORTUNITIES) == 62


def test_win_rate_by_owner_matches_the_csv(crm: Crm) -> None:
    imported = import_dataset(crm)
    assert imported["skipped"] == 2
    expected: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"deals": 0, "won": 0, "lost": 0, "amount": Decimal(0)}
    )
    for o in OPPORTUNITIES:
        if not o["account"]:
            continue
        e = expected[o["sales_agent"]]
        e["deals"] += 1
        if o["deal_stage"] == "Won":
            e["won"] += 1
            e["amount"] += Decimal(o["close_value"])
        elif o["deal_stage"] == "Lost":
            e["lost"] += 1
    result = crm.run_report("admin", "b2b_win_rate_by_owner")
    assert result.columns == ["owner", "deals", "open", "won", "lost", "win_rate", "won_amount"]
    got = {row[0]: row for row in result.rows}
    assert {k for k, row in got.items() if row[1]} == set(expected)  # others: zero rows
    for agent, e in expected.items():
        _, deals, open_, won, lost, rate, amount = got[agent]
        assert (deals, won, lost, open_) == (e["deals"], e["won"], e["lost"],
                                             e["deals"] - e["won"] - e["lost"])  # fmt: skip
        assert rate == round(e["won"] / (e["won"] + e["lost"]), 4)
        assert amount == _money(e["amount"])
    assert result.notes == ["amounts in USD; win rate = won / (won + lost)"]
    # the grand totals: every won dollar of the file, to the cent
    total = sum((Decimal(o["close_value"]) for o in OPPORTUNITIES if o["deal_stage"] == "Won"),
                Decimal(0))  # fmt: skip
    assert sum(Decimal(row[6]) for row in result.rows) == total


def test_revenue_by_region_matches_the_csv(crm: Crm) -> None:
    import_dataset(crm)
    region_of = {a["account"]: a["region"] for a in ACCOUNTS}
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    deals: dict[str, int] = defaultdict(int)
    accounts: dict[str, set[str]] = defaultdict(set)
    for o in OPPORTUNITIES:
        if o["deal_stage"] == "Won":
            region = region_of[o["account"]]
            revenue[region] += Decimal(o["close_value"])
            deals[region] += 1
            accounts[region].add(o["account"])
    total = sum(revenue.values(), Decimal(0))
    result = crm.run_report("admin", "b2b_revenue_by_region")
    expected = sorted(revenue, key=lambda r: -revenue[r])
    assert [row[0] for row in result.rows] == expected
    for region, n_accounts, n_deals, amount, part in result.rows:
        assert n_accounts == len(accounts[region])
        assert n_deals == deals[region]
        assert amount == _money(revenue[region])
        assert part == round(float(revenue[region] / total), 4)
    assert result.notes == [f"amounts in USD; total revenue {_money(total)}"]


def _abc(revenue_by_account: dict[str, Decimal]) -> dict[str, str]:
    """ABC classes the long way: walk the accounts from the richest, summing shares."""
    total = sum(revenue_by_account.values(), Decimal(0))
    ranked = sorted(revenue_by_account.items(), key=lambda kv: -kv[1])
    out, before = {}, Decimal(0)
    for account, revenue in ranked:
        if revenue == 0:
            out[account] = "none"
        elif before / total < Decimal("0.80"):
            out[account] = "A"
        elif before / total < Decimal("0.95"):
            out[account] = "B"
        else:
            out[account] = "C"
        before += revenue
    return out


def test_pareto_matches_the_csv(crm: Crm) -> None:
    imported = import_dataset(crm)
    revenue = {a["account"]: Decimal(0) for a in ACCOUNTS}
    for o in OPPORTUNITIES:
        if o["deal_stage"] == "Won":
            revenue[o["account"]] += Decimal(o["close_value"])
    assert len(set(revenue.values())) == len(revenue) - list(revenue.values()).count(0) + (
        1 if 0 in revenue.values() else 0
    ), "the test data has no ties, so the ranking is unambiguous"
    classes = _abc(revenue)
    total = sum(revenue.values(), Decimal(0))
    result = crm.run_report("admin", "b2b_pareto")
    assert result.columns == ["class", "accounts", "revenue", "share"]
    for name, n, amount, part in result.rows:
        members = [a for a, c in classes.items() if c == name]
        money = sum((revenue[a] for a in members), Decimal(0))
        assert n == len(members), name
        assert amount == _money(money)
        assert part == round(float(money / total), 4)
    by_class = {row[0]: row for row in result.rows}
    assert by_class["A"][1] >= 1 and by_class["none"][1] >= 1
    # the golden customers (黄金客户) themselves, richest first
    listed = crm.run_report("admin", "b2b_pareto", params={"class": "A"})
    expected = sorted((a for a, c in classes.items() if c == "A"), key=lambda a: -revenue[a])
    assert [row[0] for row in listed.rows] == [imported["ids"][a] for a in expected]
    assert [row[1] for row in listed.rows] == expected
    assert listed.rows[-1][3] >= 0.8 > (listed.rows[-2][3] if len(listed.rows) > 1 else 0)


def test_an_agent_sees_only_their_accounts(crm: Crm) -> None:
    import_dataset(crm)
    agent = OPPORTUNITIES[0]["sales_agent"]
    result = crm.run_report(agent, "b2b_win_rate_by_owner")
    assert [row[0] for row in result.rows] == [agent]
    mine = [o for o in OPPORTUNITIES if o["sales_agent"] == agent and o["account"]]
    assert result.rows[0][1] == len(mine)
