"""Applying a workflow and moving records through it: guards, required fields, lost reasons."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_core.api import Conflict, Crm, FieldError, InvalidInput, PermissionDenied
from crm_core.cli.main import app

LEADS = Path(__file__).parent.parent / "workflows" / "leads.yaml"


@pytest.fixture
def leads(people: Crm) -> Crm:
    people.apply_workflow("admin", LEADS)
    return people


def _lead(crm: Crm, **fields: object) -> int:
    values = {"name": "Wang", "phone": "13900001111", **fields}
    return crm.add_record("alice", "lead", values).record.id


def test_new_records_start_in_the_first_stage(leads: Crm) -> None:
    assert leads.get_record("alice", _lead(leads)).stage == "new"
    assert [w.name for w in leads.list_workflows("alice")] == ["leads"]


def test_only_admins_apply(people: Crm) -> None:
    with pytest.raises(PermissionDenied):
        people.apply_workflow("alice", LEADS)


def test_guard_refusal_names_the_condition_then_passes(leads: Crm) -> None:
    rid = _lead(leads, budget=50000, region="east")
    leads.move_record("alice", rid, "contacted")
    with pytest.raises(InvalidInput, match=r"guard of contacted → qualified is not met.*call"):
        leads.move_record("alice", rid, "qualified")
    assert leads.get_record("alice", rid).stage == "contacted"
    leads.log_activity("alice", rid, "call")
    moved = leads.move_record("alice", rid, "qualified")
    assert moved.stage == "qualified"
    tasks = leads.list_tasks("alice")
    assert [t.note for t in tasks] == ["Send the quote"]
    assert tasks[0].cause == "workflow:leads:contacted->qualified"


def test_required_fields_and_disallowed_moves(leads: Crm) -> None:
    rid = _lead(leads)
    with pytest.raises(InvalidInput, match="cannot move from new to won"):
        leads.move_record("alice", rid, "won")
    leads.move_record("alice", rid, "contacted")
    leads.log_activity("alice", rid, "call")
    with pytest.raises(FieldError) as err:
        leads.move_record("alice", rid, "qualified")
    assert ("budget", "is required to enter qualified") in err.value.problems


def test_lost_needs_a_listed_reason_and_journals_it(leads: Crm) -> None:
    rid = _lead(leads)
    with pytest.raises(InvalidInput, match="needs --reason, one of: no_budget"):
        leads.move_record("alice", rid, "lost")
    leads.move_record("alice", rid, "lost", reason="competitor")
    entry = leads.journal("alice", record_id=rid)[0]
    assert (entry.action, entry.reason, entry.after) == ("move", "competitor", {"stage": "lost"})
    assert leads.replay_journal("admin") == leads.record_states("admin")


def test_apply_refuses_dropping_a_stage_in_use(leads: Crm, tmp_path: Path) -> None:
    rid = _lead(leads)
    leads.move_record("alice", rid, "contacted")
    smaller = tmp_path / "leads.yaml"
    text = LEADS.read_text(encoding="utf-8")
    text = text.replace("version: 1", "version: 2")
    text = text.replace("  - {from: new, to: [contacted, lost]}\n", "")
    text = text.replace("  - {from: contacted, to: lost}\n", "")
    start = text.index("  - id: contacted")
    end = text.index("  - id: qualified")
    text = text[:start] + text[end:]
    text = text.replace(
        "  - from: contacted\n    to: qualified", "  - from: new\n    to: qualified"
    )
    smaller.write_text(text, encoding="utf-8")
    assert leads.check_workflow(smaller).problems == []
    with pytest.raises(Conflict, match="'contacted' holds 1 record"):
        leads.apply_workflow("admin", smaller)
    assert leads.list_workflows("admin")[0].version == 1


def test_cli_move(db_url: str) -> None:
    runner = CliRunner()

    def crm(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["--db", db_url, "--as", "admin", *args])
        return result.exit_code, result.output

    assert crm("workflow", "apply", str(LEADS), "--create-users")[0] == 0
    code, out = crm("record", "add", "lead", "--set", "name=Li", "--set", "phone=13800000000")
    rid = out.strip()
    assert crm("record", "move", rid, "contacted") == (0, f"record #{rid} is now in contacted\n")
    code, out = crm("record", "move", rid, "lost")
    assert code == 2
    assert "needs --reason" in out
    code, out = crm("record", "move", rid, "nowhere")
    assert code == 2
    assert "no stage 'nowhere'" in out


def test_stage_moves_offer_what_a_move_would_take_next_stage_first(leads: Crm) -> None:
    rid = _lead(leads, budget=50000, region="east")
    moves = leads.stage_moves("alice", rid)
    assert [(m.stage, m.allowed) for m in moves] == [
        ("contacted", True), ("lost", True), ("qualified", False), ("won", False)
    ]  # fmt: skip
    refused = {m.stage: m.why_not for m in moves if not m.allowed}
    with pytest.raises(InvalidInput) as err:
        leads.move_record("alice", rid, "won")
    assert refused["won"] == str(err.value)  # the move's own words
    leads.move_record("alice", rid, "contacted")
    moves = leads.stage_moves("alice", rid)
    assert [(m.stage, m.allowed, m.behind) for m in moves] == [
        ("lost", True, False), ("qualified", False, False), ("won", False, False),
        ("new", False, True),
    ]  # fmt: skip
    guard = next(m for m in moves if m.stage == "qualified")
    assert not guard.allowed and "guard of contacted → qualified is not met" in str(guard.why_not)
    leads.log_activity("alice", rid, "call")
    assert leads.stage_moves("alice", rid)[0].stage == "qualified"  # the next stage leads


def test_stage_moves_need_the_right_to_move(leads: Crm) -> None:
    rid = _lead(leads)
    with pytest.raises(PermissionDenied):
        leads.stage_moves("bob", rid)
