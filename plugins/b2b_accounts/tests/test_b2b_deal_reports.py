"""Deals that belong to people: products, lines and the win-rate reports, checked against
figures the test computes itself from the deals it made."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from conftest import Clock
from crm_b2b_accounts import products

from crm_core.api import Conflict, Crm, InvalidInput, NotFound, PermissionDenied
from crm_core.testing import CLEAN_ENV, invoke_cli

TEAMS = {"north": "N", "south": "S", "west": "W"}  # west: a team without deals
USERS = [("ann", "north"), ("ben", "north"), ("cal", "south"), ("dee", "west")]
CATALOGUE = {"Pump": ("P-1", "100.00"), "Valve": ("V-1", "25.50"), "Gauge": ("G-1", "9.99")}


@dataclass
class Made:
    owner: str
    stage: str
    amount: int  # minor units
    closed: date | None
    lines: dict[str, int]  # product -> amount of its line, minor units


@pytest.fixture
def world(crm: Crm, clock: Clock) -> tuple[Crm, list[Made]]:
    """Teams with regions, users, a catalogue and 60 random deals on two accounts of ann's."""
    for name, region in TEAMS.items():
        crm.add_team("admin", name, region=region)
    for name, team in USERS:
        crm.add_user("admin", name, "operator", team)
    crm.add_user("admin", "mo", "manager", "north")
    crm.add_user("admin", "gone", "operator", "north")
    crm.set_user_active("admin", "gone", False)
    for name, (code, price) in CATALOGUE.items():
        products.add_product(crm, "admin", name, code=code, series="A", price=price)
    accounts = [crm.add_record("admin", "account", {"company": c}, owner="ann").record.id
                for c in ("Acme", "Bolt")]  # fmt: skip
    rng = random.Random(16)
    made = []
    for i in range(60):
        owner = rng.choice(["ann", "ben", "cal"])
        deal = crm.add_deal("admin", accounts[i % 2], f"deal {i}", amount=rng.randint(1, 9999),
                            owner=owner)  # fmt: skip
        lines: dict[str, int] = defaultdict(int)
        for _ in range(rng.randint(0, 2)):
            name = rng.choice(sorted(CATALOGUE))
            qty = rng.randint(1, 5)
            line = products.add_line(crm, "admin", deal.id, name, quantity=qty)
            lines[name] += int(line.amount * 100)
        amount = sum(lines.values()) if lines else int(crm.get_deal("admin", deal.id).amount * 100)
        clock.advance(days=rng.randint(1, 12))
        stage = rng.choice(["open", "proposal", "won", "won", "lost"])
        closed = None
        if stage != "open":
            crm.move_deal("admin", deal.id, stage)
            closed = clock.now.date() if stage in ("won", "lost") else None
        made.append(Made(owner, stage, amount, closed, dict(lines)))
    return crm, made


def _row(key: str, deals: list[Made], value: Any = None) -> list[Any]:
    won = [d for d in deals if d.stage == "won"]
    lost = [d for d in deals if d.stage == "lost"]
    won_minor = sum(value(d) if value else d.amount for d in won)
    rate = round(len(won) / (len(won) + len(lost)), 4) if won or lost else None
    return [key, len(deals), len(deals) - len(won) - len(lost), len(won), len(lost), rate,
            f"{Decimal(won_minor) / 100:.2f}"]  # fmt: skip


def test_lines_make_the_amount(world: tuple[Crm, list[Made]]) -> None:
    crm, made = world
    deals = crm.list_deals("admin")
    assert [int(d.amount * 100) for d in deals] == [m.amount for m in made]
    with_lines = next(i for i, m in enumerate(made) if m.lines)
    lines = products.deal_lines(crm, "admin", deals[with_lines].id)
    assert sum(line.amount for line in lines) == deals[with_lines].amount


def test_win_rate_overall_and_by_owner(world: tuple[Crm, list[Made]]) -> None:
    crm, made = world
    assert crm.run_report("admin", "b2b_win_rate").rows == [_row("all", made)]
    by_owner = crm.run_report("admin", "b2b_win_rate", params={"group": "owner"}).rows
    people = ["admin", "ann", "ben", "cal", "dee", "mo"]  # active users; dee and mo: zeros
    assert by_owner == [_row(p, [m for m in made if m.owner == p]) for p in people]
    legacy = crm.run_report("admin", "b2b_win_rate_by_owner").rows
    assert legacy == by_owner


def test_win_rate_by_team_and_region(world: tuple[Crm, list[Made]]) -> None:
    crm, made = world
    team_of = dict(USERS)
    by_team = crm.run_report("admin", "b2b_win_rate", params={"group": "team"}).rows
    assert by_team == [_row(t, [m for m in made if team_of[m.owner] == t]) for t in sorted(TEAMS)]
    by_region = crm.run_report("admin", "b2b_win_rate", params={"group": "region"}).rows
    assert by_region == [
        _row(r, [m for m in made if TEAMS[team_of[m.owner]] == r]) for r in sorted(TEAMS.values())
    ]


def test_win_rate_by_product_and_quarter(world: tuple[Crm, list[Made]]) -> None:
    crm, made = world
    by_product = crm.run_report("admin", "b2b_win_rate", params={"group": "product"}).rows
    expected = [
        _row(p, [m for m in made if p in m.lines], lambda m, p=p: m.lines[p])
        for p in sorted(CATALOGUE)
    ]
    expected.append(_row("(no product)", [m for m in made if not m.lines]))
    assert by_product == expected
    by_quarter = crm.run_report("admin", "b2b_win_rate", params={"group": "quarter"}).rows
    quarters: dict[str, list[Made]] = defaultdict(list)
    for m in made:
        if m.closed is not None:
            quarters[f"{m.closed.year}-Q{(m.closed.month - 1) // 3 + 1}"].append(m)
    assert [r[0] for r in by_quarter] == sorted(quarters)  # no quarter is empty here
    assert by_quarter == [_row(q, quarters[q]) for q in sorted(quarters)]


def test_reports_credit_the_deal_owner_and_follow_permissions(
    world: tuple[Crm, list[Made]],
) -> None:
    crm, made = world
    # ben owns none of the accounts, yet sees and is credited with his own deals only
    assert crm.run_report("ben", "b2b_win_rate").rows == [
        _row("all", [m for m in made if m.owner == "ben"])
    ]
    assert crm.run_report("ben", "b2b_win_rate", params={"group": "owner"}).rows == [
        _row("ben", [m for m in made if m.owner == "ben"])
    ]
    north = [m for m in made if m.owner in ("ann", "ben")]
    assert crm.run_report("mo", "b2b_win_rate").rows == [_row("all", north)]
    by_team = crm.run_report("mo", "b2b_win_rate_by_owner", params={"group": "team"}).rows
    assert by_team == [_row("north", north)]
    with pytest.raises(InvalidInput, match="group"):
        crm.run_report("admin", "b2b_win_rate", params={"group": "colour"})


def test_pipeline_by_close_month(crm: Crm) -> None:
    crm.add_user("admin", "ann", "operator")
    acme = crm.add_record("admin", "account", {"company": "Acme"}, owner="ann").record.id
    for amount, close in [("10", date(2026, 4, 3)), ("5.5", date(2026, 4, 30)),
                          ("7", date(2026, 7, 1)), ("1", None)]:  # fmt: skip
        crm.add_deal("admin", acme, "d", amount=amount, expected_close=close)
    crm.add_deal("admin", acme, "won one", amount="99", expected_close=date(2026, 5, 1),
                 stage="won")  # fmt: skip
    rows = crm.run_report("admin", "b2b_pipeline_by_month").rows
    assert rows == [["2026-04", 2, "15.50"], ["2026-05", 0, "0.00"], ["2026-06", 0, "0.00"],
                    ["2026-07", 1, "7.00"], ["(none)", 1, "1.00"]]  # fmt: skip
    by_owner = crm.run_report("admin", "b2b_pipeline_by_month", params={"group": "owner"})
    assert by_owner.columns == ["month", "owner", "deals", "amount"]
    assert by_owner.rows[0] == ["2026-04", "ann", 2, "15.50"]


def test_catalogue_and_lines_refuse_bad_input(world: tuple[Crm, list[Made]]) -> None:
    crm, _ = world
    deal = crm.list_deals("admin")[0]
    before = products.list_products(crm, "admin"), products.deal_lines(crm, "admin", deal.id)
    with pytest.raises(Conflict, match="name"):
        products.add_product(crm, "admin", "Pump")
    with pytest.raises(InvalidInput, match="two decimals"):
        products.add_product(crm, "admin", "Hose", price="1.005")
    with pytest.raises(PermissionDenied):
        products.add_product(crm, "ann", "Hose")
    with pytest.raises(NotFound):
        products.add_line(crm, "admin", deal.id, "Nothing")
    with pytest.raises(InvalidInput, match="quantity"):
        products.add_line(crm, "admin", deal.id, "Pump", quantity=0)
    with pytest.raises(PermissionDenied):
        products.add_line(crm, "dee", deal.id, "Pump")
    with pytest.raises(NotFound):
        products.remove_line(crm, "admin", 99999)
    products.update_product(crm, "admin", "G-1", active=False)
    with pytest.raises(InvalidInput, match="inactive"):
        products.add_line(crm, "admin", deal.id, "Gauge")
    after = products.list_products(crm, "admin"), products.deal_lines(crm, "admin", deal.id)
    assert [p.name for p in after[0]] == ["Pump", "Valve"]
    assert after[1] == before[1] and crm.get_deal("admin", deal.id).amount == deal.amount


def test_product_and_line_commands(crm: Crm, db_url: str) -> None:
    crm.add_user("admin", "ann", "operator")
    acme = crm.add_record("admin", "account", {"company": "Acme"}, owner="ann").record.id
    deal = crm.add_deal("admin", acme, "Order", amount="1", owner="ann")

    def run(user: str, *args: str) -> tuple[int, str, str]:
        result = invoke_cli(["--db", db_url, "--as", user, *args], env=CLEAN_ENV, entry_points=True)
        return result.exit_code, result.stdout, result.stderr

    assert run("admin", "product", "add", "Pump", "--code", "P-1", "--price", "1054")[0] == 0
    code, out, _ = run("admin", "product", "list", "--json")
    assert code == 0 and '"list_price": "1054.00"' in out
    code, out, _ = run("ann", "deal-line", "add", str(deal.id), "P-1", "--quantity", "2")
    assert code == 0 and f"deal #{deal.id} is now 2108.00 CNY" in out
    assert crm.get_deal("admin", deal.id).amount == Decimal("2108.00")
    journal = [e for e in crm.journal("admin", record_id=acme) if e.entity == "deal"]
    assert journal[0].after == {"amount": "2108.00"}
    for user, args, exit_code, words in [
        ("ann", ["product", "add", "Hose"], 3, "manager"),
        ("admin", ["product", "add", "Hose", "--price", "ten"], 2, "not a number"),
        ("admin", ["product", "add", "Hose", "--currency", "EURO"], 2, "three-letter"),
        ("ann", ["deal-line", "add", str(deal.id), "Nothing"], 4, "no product"),
        ("ann", ["deal-line", "add", str(deal.id), "Pump", "--unit-price", "-1"], 2, ">= 0"),
        ("ann", ["deal-line", "remove", "999"], 4, "no deal line"),
    ]:
        code, _, err = run(user, *args)
        assert (code, len(err.strip().splitlines())) == (exit_code, 1), (args, err)
        assert words in err, (args, err)
    assert [p.name for p in products.list_products(crm, "admin")] == ["Pump"]
    assert len(products.deal_lines(crm, "admin", deal.id)) == 1
    assert crm.get_deal("admin", deal.id).amount == Decimal("2108.00")
