"""The buyer's parts of ``crm tui``: list columns, the needs panel, the funnel card.

Rendered through the API as the TUI renders them (``Crm.render_panel``,
``Crm.render_card``), on SQLite and, with ``CRM_TEST_PG_URL``, PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from crm_real_estate.screens import budget_range

from crm_core.api import Crm
from crm_core.clock import ManualClock

WORKFLOW = Path(__file__).resolve().parents[3] / "workflows" / "real_estate.yaml"


@pytest.fixture
def estate(people: Crm) -> Crm:
    """The users, and the shipped workflow applied."""
    people.apply_workflow("admin", WORKFLOW)
    return people


def test_buyer_lists_show_district_rooms_budget_and_member_level(crm: Crm) -> None:
    columns = [(c.field, c.width) for c in crm.list_columns("buyer")]
    assert columns == [("district", 12), ("rooms", 6), ("budget_min", 12), ("budget_max", 12),
                       ("member_level", 10)]  # fmt: skip
    assert [p.name for p in crm.detail_panels("buyer")] == ["needs"]
    assert crm.detail_panels("buyer")[0].label == {"en": "Needs", "zh": "购房需求"}
    assert "buyer_funnel" in [c.name for c in crm.dashboard_cards()]


def test_budget_range_reads_as_people_say_it() -> None:
    assert budget_range({"budget_min": 1_500_000, "budget_max": 2_500_000}) == (
        "1,500,000 – 2,500,000"
    )
    assert budget_range({"budget_min": 800_000}) == "from 800,000"
    assert budget_range({"budget_max": 3_000_000}) == "up to 3,000,000"
    assert budget_range({}) == "not given"


def test_the_needs_panel_sums_up_what_the_buyer_wants(estate: Crm, clock: ManualClock) -> None:
    fields = {"name": "张伟", "phone": "13800000001", "budget_min": 1_500_000,
              "budget_max": 2_500_000, "rooms": 3, "district": "金水区", "purpose": "upgrade",
              "property_interest": "3号楼", "member_level": "gold", "member_points": 1200,
              "complaint_open": True}  # fmt: skip
    buyer = estate.add_record("wang", "buyer", fields).record.id
    estate.log_activity("wang", buyer, "viewing", note="带看 3号楼")
    assert estate.render_panel("wang", buyer, "needs") == "\n".join([
        "Budget 1,500,000 – 2,500,000 · 3 rooms · 金水区 · upgrade",
        "Interested in 3号楼",
        f"Viewings: 1 (last {clock.now:%Y-%m-%d})",
        "Member: [b]gold[/b], 1,200 points",
        "[red]A complaint is open[/red]: the buyer stays out of the pool",
    ])  # fmt: skip


def test_a_new_buyer_has_no_viewings_and_no_membership(estate: Crm) -> None:
    buyer = estate.add_record("wang", "buyer", {"name": "李娜", "phone": "13800000002"})
    assert estate.render_panel("wang", buyer.record.id, "needs") == (
        "Budget not given\nViewings: none yet"
    )


def test_the_funnel_card_follows_re_funnel_for_the_operator(estate: Crm) -> None:
    assert estate.render_card("admin", "buyer_funnel") == "[dim]No buyers yet.[/dim]"
    first = estate.add_record("wang", "buyer", {"name": "A", "phone": "13800000003",
                                                "district": "金水区"}).record.id  # fmt: skip
    estate.add_record("zhang", "buyer", {"name": "B", "phone": "13800000004"})
    estate.log_activity("wang", first, "call")
    estate.move_record("wang", first, "intent")
    card = estate.render_card("admin", "buyer_funnel").splitlines()
    assert card[0] == "prospect          1  reached     2 [b]     [/b]"
    assert card[1] == "intent            1  reached     1 [b]  50%[/b]"
    assert card[-2] == "lost              0"
    assert card[-1] == "[dim]prospect → member: 0 of 2 (0.0)[/dim]"
    zhangs = estate.render_card("zhang", "buyer_funnel").splitlines()
    assert zhangs[0] == "prospect          1  reached     1 [b]     [/b]"
