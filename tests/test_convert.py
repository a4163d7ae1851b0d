"""Converting a qualified lead into a customer, deal stages, and the leads plugin's reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_core.api import Crm
from crm_core.cli.main import app
from crm_core.errors import Conflict, InvalidInput, NotFound

LEADS = """workflow: leads
version: 1
kind: lead
stages:
  - {id: new}
  - {id: qualified, require: [budget]}
  - {id: won, outcome: won}
  - {id: lost, outcome: lost, lost_reasons: [no_budget]}
"""


@pytest.fixture
def flow(people: Crm, tmp_path: Path) -> Crm:
    path = tmp_path / "leads.yaml"
    path.write_text(LEADS, encoding="utf-8")
    people.apply_workflow("admin", path)
    return people


def lead(crm: Crm, owner: str, **fields: object) -> int:
    values = {"name": "张伟", "phone": "13812345678", "source": "web", **fields}
    return crm.add_record("admin", "lead", values, owner=owner).record.id


def test_a_qualified_lead_becomes_a_customer_with_its_contacts_and_a_deal(flow: Crm) -> None:
    rid = lead(flow, "alice", budget=50000, company="星河科技")
    flow.add_contact("alice", rid, "李娜", phone="13900000000")
    flow.move_record("alice", rid, "qualified")
    member = flow.convert_record(
        "alice", rid, "member", {"plan": "yearly", "email": "li@example.com"},
        deal_title="First order", deal_amount="1200.50",
    )  # fmt: skip
    assert member.kind == "member" and member.owner == "alice"
    assert member.fields["name"] == "张伟" and member.fields["phone"] == "13812345678"
    source = flow.get_record("alice", rid)
    assert source.stage == "won" and source.fields["converted_to"] == member.id
    assert [c.name for c in flow.list_contacts("alice", member.id)] == ["李娜"]
    deals = flow.list_deals("alice", member.id)
    assert [(d.title, str(d.amount)) for d in deals] == [("First order", "1200.50")]
    assert flow.replay_journal("admin") == flow.record_states("admin")


def test_conversion_follows_the_workflow_and_happens_once(flow: Crm) -> None:
    rid = lead(flow, "alice")
    journal = len(flow.journal("admin", limit=1000))
    with pytest.raises(InvalidInput, match="cannot move from new to won"):
        flow.convert_record("alice", rid, "member", {})
    assert len(flow.journal("admin", limit=1000)) == journal
    flow.update_record("alice", rid, {"budget": 9000})
    flow.move_record("alice", rid, "qualified")
    flow.convert_record("alice", rid, "member", {})
    with pytest.raises(Conflict, match="already converted"):
        flow.convert_record("alice", rid, "member", {})
    with pytest.raises(InvalidInput, match="already a lead"):
        flow.convert_record("bob", lead(flow, "bob", phone="13700000000"), "lead", {})


def test_deal_stages_are_journaled(flow: Crm) -> None:
    rid = lead(flow, "alice")
    deal = flow.add_deal("alice", rid, "Pilot", amount="100")
    assert flow.move_deal("alice", deal.id, "won").stage == "won"
    with pytest.raises(Conflict):
        flow.move_deal("alice", deal.id, "won")
    with pytest.raises(NotFound):
        flow.move_deal("alice", 999, "won")
    moves = [e for e in flow.journal("admin", record_id=rid) if e.entity == "deal"]
    won = flow.get_deal("alice", deal.id)
    assert won.closed_at is not None and won.stage_entered_at == won.closed_at
    assert [(e.action, e.after) for e in moves][:1] == [
        ("move", {"stage": "won", "closed_at": won.closed_at.isoformat()})
    ]


def test_lead_reports(flow: Crm) -> None:
    referrer = lead(flow, "alice", budget=200000, source="event", phone="13100000001")
    a = lead(flow, "alice", source="referral", referrer_id=referrer, phone="13100000002")
    lead(flow, "bob", source="referral", referrer_id=referrer, phone="13100000003")
    lead(flow, "bob", source="web", phone="13100000004")
    flow.log_activity("alice", a, "call")
    flow.update_record("alice", a, {"budget": 20000})
    flow.move_record("alice", a, "qualified")
    flow.move_record("alice", a, "won")
    by_source = flow.run_report("admin", "lead_conversion_by_source")
    assert by_source.rows == [
        ["event", 1, 0, 0, 0.0], ["referral", 2, 1, 0, 0.5], ["web", 1, 0, 0, 0.0]
    ]  # fmt: skip
    board = flow.run_report("admin", "lead_referrals")
    assert board.rows[0] == [referrer, "张伟", 2, 1]
    scores = flow.run_report("admin", "lead_scores")
    assert scores.rows[0] == [referrer, "张伟", 40 + 20]
    aging = flow.run_report("admin", "lead_aging")
    assert aging.rows == [["alice", 1, 0, 0, 0], ["bob", 2, 0, 0, 0]]


def test_convert_and_deal_stage_from_the_cli(flow: Crm, db_url: str) -> None:
    rid = lead(flow, "alice", budget=50000)
    flow.move_record("alice", rid, "qualified")
    runner = CliRunner()
    base = ["--db", db_url, "--as", "alice"]
    out = runner.invoke(app, [*base, "record", "convert", str(rid), "member", "--deal", "Order",
                              "--amount", "99"])  # fmt: skip
    assert out.exit_code == 0, out.output
    new_id = int(out.stdout.splitlines()[0])
    deal_id = flow.list_deals("alice", new_id)[0].id
    out = runner.invoke(app, [*base, "deal", "move", str(deal_id), "won"])
    assert out.exit_code == 0 and "is now won" in out.output
    bad = runner.invoke(app, [*base, "record", "convert", str(rid), "nokind"])
    assert bad.exit_code == 4 and "Traceback" not in bad.output
