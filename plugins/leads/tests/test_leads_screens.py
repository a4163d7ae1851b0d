"""The lead's parts of ``crm tui``: list columns, the qualification panel, the conversion card.

Rendered through the API as the TUI renders them (``Crm.render_panel``,
``Crm.render_card``).
"""

from __future__ import annotations

from itertools import count
from typing import Any

from crm_leads.screens import score

from crm_core.api import Crm

PHONES = count(13900000001)


def lead(crm: Crm, owner: str, **fields: Any) -> int:
    """A lead of ``owner`` with a phone of its own (phones are dedupe keys)."""
    values = {"name": "x", "phone": str(next(PHONES)), **fields}
    return crm.add_record("admin", "lead", values, owner=owner).record.id


def test_lead_lists_show_company_phone_source_and_budget(crm: Crm) -> None:
    columns = [(c.field, c.width) for c in crm.list_columns("lead")]
    assert columns == [("company", 18), ("phone", 14), ("source", 12), ("budget", 10)]
    assert [p.name for p in crm.detail_panels("lead")] == ["qualification"]
    assert "lead_conversion" in [c.name for c in crm.dashboard_cards()]


def test_the_panel_scores_like_the_lead_scores_report(desk: Crm) -> None:
    referrer = lead(desk, "alice")
    cases = [
        {"source": "referral", "referrer_id": referrer, "budget": 150_000},
        {"source": "event", "budget": 20_000},
        {"source": "ad", "budget": 500},
        {"source": "other"},
        {"source": "web", "budget": 10_000},
    ]
    ids = [lead(desk, "alice", **fields) for fields in cases]
    for calls, record_id in enumerate(ids):
        for _ in range(calls * 2):  # 0, 2, 4, 6 and 8 activities: the points stop at 5
            desk.log_activity("alice", record_id, "call")
    reported = {row[0]: row[2] for row in desk.run_report("alice", "lead_scores").rows}
    for record_id in ids:
        panel = desk.render_panel("alice", record_id, "qualification")
        assert panel.startswith(f"[b]Score {reported[record_id]}[/b] = ")
    assert score({"budget": 150_000, "source": "referral"}, 7) == (40, 30, 30)
    assert score({}, 0) == (0, 0, 0)


def test_the_panel_says_what_the_lead_lacks_to_be_qualified(desk: Crm) -> None:
    referrer = lead(desk, "bob", name="王芳")
    record_id = lead(desk, "alice", source="referral", referrer_id=referrer, budget=20_000)
    desk.log_activity("alice", record_id, "call")
    assert desk.render_panel("mia", record_id, "qualification") == "\n".join([
        "[b]Score 61[/b] = budget 25 + source 30 (referral) + follow-ups 6 (1 of 5)",
        "To qualify: [green]✓[/] budget of 10,000  [green]✓[/] a call logged  [red]✗[/] region",
        f"Referred by #{referrer} 王芳",
    ])  # fmt: skip
    # alice may not see bob's record: the referrer shows by its id only
    assert desk.render_panel("alice", record_id, "qualification").endswith(
        f"Referred by #{referrer}"
    )


def test_the_card_ranks_sources_by_conversion(desk: Crm) -> None:
    assert desk.render_card("alice", "lead_conversion") == (
        "[dim]No leads in your scope (yours or your pools').[/dim]"
    )
    won = lead(desk, "alice", source="event", budget=50_000, region="east")
    lead(desk, "alice", source="event", company="Event Co")
    lead(desk, "alice", source="web", company="Web Co")
    lead(desk, "bob", source="ad", company="Ad Co")
    desk.log_activity("alice", won, "call")
    for stage in ("contacted", "qualified", "won"):
        desk.move_record("alice", won, stage)
    assert desk.render_card("alice", "lead_conversion") == "\n".join([
        "event             1 of 2     [b] 50%[/b]",
        "web               0 of 1     [b]  0%[/b]",
    ])  # fmt: skip
    assert "ad " in desk.render_card("mia", "lead_conversion")  # the manager's team
