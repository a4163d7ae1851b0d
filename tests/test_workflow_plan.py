"""``crm workflow plan`` and ``apply --map``: what a new workflow version changes, and moving
the records of removed stages in bulk, journaled and replayable."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crm_core.api import Conflict, Crm, InvalidInput, PermissionDenied
from crm_core.cli.main import app
from crm_core.clock import ManualClock
from crm_core.workflow.plan import RemovedStage, RenamedStage

LEADS = Path(__file__).parent.parent / "workflows" / "leads.yaml"
TEXT = LEADS.read_text(encoding="utf-8")
V2 = TEXT.replace("version: 1", "version: 2")
REASON = "workflow leads v2 maps contacted to reached"
ENV: dict[str, str | None] = {
    "CRM_USER": None, "CRM_DATABASE_URL": None, "CRM_DISABLED_PLUGINS": None, "CRM_DEBUG": None,
    "COLUMNS": "200",
}  # fmt: skip


def _write(tmp_path: Path, text: str, name: str = "leads-v2.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _renamed(tmp_path: Path) -> Path:
    """Version 2 with stage ``contacted`` renamed to ``reached``."""
    text = V2.replace("id: contacted", "id: reached").replace("from: contacted", "from: reached")
    return _write(tmp_path, text.replace("to: [contacted, lost]", "to: [reached, lost]"))


def _without_contacted(tmp_path: Path) -> Path:
    """Version 2 without stage ``contacted`` (as tests/test_workflow_moves.py builds it)."""
    text = V2.replace("  - {from: new, to: [contacted, lost]}\n", "")
    text = text.replace("  - {from: contacted, to: lost}\n", "")
    text = text[: text.index("  - id: contacted")] + text[text.index("  - id: qualified") :]
    text = text.replace(
        "  - from: contacted\n    to: qualified", "  - from: new\n    to: qualified"
    )
    return _write(tmp_path, text)


@pytest.fixture
def leads(people: Crm) -> Crm:
    people.apply_workflow("admin", LEADS)
    return people


def _lead(crm: Crm, phone: str, stage: str | None = None) -> int:
    rid = crm.add_record("alice", "lead", {"name": "Wang", "phone": phone}).record.id
    if stage is not None:
        crm.move_record("alice", rid, stage)
    return rid


def _journal_size(crm: Crm) -> int:
    return len(crm.journal("admin", limit=10_000))


def _cli(db_url: str, *args: str, user: str = "admin") -> Any:
    return CliRunner().invoke(app, ["--db", db_url, "--as", user, *args], env=ENV)


def test_plan_with_no_applied_workflow(people: Crm) -> None:
    rid = _lead(people, "13900000001")
    plan = people.plan_workflow("admin", LEADS)
    assert (plan.workflow, plan.kind) == ("leads", "lead")
    assert (plan.old_version, plan.new_version) == (None, 1)
    assert plan.added == ["new", "contacted", "qualified", "won", "lost"]
    assert (plan.removed, plan.renamed, plan.reordered, plan.blockers) == ([], [], False, [])
    assert plan.changed_sections == ["assignment", "label", "pools", "transitions", "users"]
    assert plan.unstaged == 1  # added before any workflow: not yet in a stage, not a blocker
    assert plan.ok
    assert people.list_workflows("admin") == []
    assert people.get_record("admin", rid).stage is None


def test_renamed_label(leads: Crm, tmp_path: Path) -> None:
    path = _write(tmp_path, V2.replace("{en: New, zh: 新线索}", "{en: Fresh, zh: 新线索}"))
    plan = leads.plan_workflow("admin", path)
    assert (plan.old_version, plan.new_version) == (1, 2)
    old, new = {"en": "New", "zh": "新线索"}, {"en": "Fresh", "zh": "新线索"}
    assert plan.renamed == [RenamedStage("new", "new", old, new, mapped=False)]
    assert plan.added == plan.removed == plan.changed_sections == plan.changed_stages == []
    assert plan.ok


def test_added_stage_and_changed_sections(leads: Crm, tmp_path: Path) -> None:
    text = V2.replace(
        "  - id: qualified ",
        "  - id: nurture\n    label: {en: Nurture, zh: 培育}\n  - id: qualified ",
    )
    text = text.replace(
        "  - {from: contacted, to: lost}\n",
        "  - {from: contacted, to: [nurture, lost]}\n  - {from: nurture, to: lost}\n",
    )
    text = text.replace("strategy: weighted", "strategy: round_robin")
    text = text.replace("probability: 0.4", "probability: 0.5")
    plan = leads.plan_workflow("mia", _write(tmp_path, text))  # managers may plan too
    assert plan.added == ["nurture"]
    assert plan.changed_sections == ["assignment", "transitions"]
    assert plan.changed_stages == ["qualified"]
    assert (plan.removed, plan.renamed, plan.reordered, plan.ok) == ([], [], False, True)


def test_reordered_stages(leads: Crm, tmp_path: Path) -> None:
    won = V2[V2.index("  - id: won") : V2.index("  - id: lost")]
    lost = V2[V2.index("  - id: lost") : V2.index("\ntransitions:")]
    plan = leads.plan_workflow("admin", _write(tmp_path, V2.replace(won + lost, lost + "\n" + won)))
    assert plan.reordered
    assert plan.ok


def test_removed_empty_stage_is_no_blocker(leads: Crm, tmp_path: Path) -> None:
    _lead(leads, "13900000001")  # in "new", which stays
    path = _without_contacted(tmp_path)
    plan = leads.plan_workflow("admin", path)
    assert plan.removed == [RemovedStage("contacted", 0, None)]
    assert plan.ok
    leads.apply_workflow("admin", path)
    assert leads.list_workflows("admin")[0].stages == ["new", "qualified", "won", "lost"]


def test_removed_stage_with_records_blocks(leads: Crm, tmp_path: Path, db_url: str) -> None:
    rid = _lead(leads, "13900000001", "contacted")
    archived = _lead(leads, "13900000002", "contacted")
    leads.archive_record("alice", archived)  # archived records never block
    path = _without_contacted(tmp_path)
    plan = leads.plan_workflow("admin", path)
    assert plan.removed == [RemovedStage("contacted", 1, None)]
    (blocker,) = plan.blockers
    assert "'contacted' holds 1 record(s)" in blocker
    assert "--map contacted=NEW" in blocker
    size = _journal_size(leads)
    with pytest.raises(Conflict, match=r"'contacted' holds 1 record.*--map contacted=NEW"):
        leads.apply_workflow("admin", path)

    result = _cli(db_url, "workflow", "plan", str(path))
    assert result.exit_code == 5, result.output
    assert "apply             refused" in result.stdout
    assert result.stderr.startswith("error: the new workflow drops a stage in use: 'contacted'")
    result = _cli(db_url, "workflow", "apply", str(path))
    assert result.exit_code == 5
    assert "--map contacted=NEW" in result.stderr

    assert leads.list_workflows("admin")[0].version == 1
    assert leads.get_record("admin", rid).stage == "contacted"
    assert _journal_size(leads) == size


def test_map_moves_records_journaled_and_replayable(
    leads: Crm, tmp_path: Path, clock: ManualClock
) -> None:
    moved = [_lead(leads, f"1390000000{i}", "contacted") for i in range(3)]
    stays = _lead(leads, "13900000009")
    archived = _lead(leads, "13900000008", "contacted")
    leads.archive_record("alice", archived)
    versions = {r: leads.get_record("admin", r).version for r in moved}
    path = _renamed(tmp_path)
    plan = leads.plan_workflow("admin", path, {"contacted": "reached"})
    assert plan.removed == [RemovedStage("contacted", 3, "reached")]
    label = {"en": "Contacted", "zh": "已联系"}
    assert RenamedStage("contacted", "reached", label, label, mapped=True) in plan.renamed
    assert (plan.added, plan.ok) == ([], True)

    now = clock.advance(timedelta(hours=1))
    leads.apply_workflow("admin", path, {"contacted": "reached"})
    for rid in moved:
        record = leads.get_record("admin", rid)
        assert (record.stage, record.stage_entered_at, record.updated_at) == ("reached", now, now)
        assert record.version == versions[rid] + 1
        entry = leads.journal("admin", record_id=rid)[0]
        assert (entry.entity, entry.action, entry.reason) == ("record", "move", REASON)
        assert (entry.before, entry.after) == ({"stage": "contacted"}, {"stage": "reached"})
        assert (entry.cause, entry.actor, entry.at) == ("user:admin", "admin", now)
    assert leads.get_record("admin", stays).stage == "new"
    assert leads.get_record("admin", archived).stage == "contacted"
    rows = [e for e in leads.journal("admin", limit=10_000) if e.reason == REASON]
    assert sorted(e.record_id for e in rows) == sorted(moved)
    apply_row = next(e for e in leads.journal("admin") if e.entity == "workflow")
    assert apply_row.after == {"version": 2, "file": str(path), "map": {"contacted": "reached"}}
    assert leads.replay_journal("admin") == leads.record_states("admin")
    # The moved records go on through the new workflow as usual.
    leads.log_activity("alice", moved[0], "call")
    leads.update_record("alice", moved[0], {"budget": 50000, "region": "east"})
    assert leads.move_record("alice", moved[0], "qualified").stage == "qualified"


def test_cli_plan_and_apply_with_map(leads: Crm, tmp_path: Path, db_url: str) -> None:
    rid = _lead(leads, "13900000001", "contacted")
    path = str(_renamed(tmp_path))
    result = _cli(db_url, "workflow", "plan", path, "--map", "contacted=reached")
    assert result.exit_code == 0, result.output
    assert "contacted: 1 live record(s) → reached" in result.stdout
    assert "contacted → reached (--map)" in result.stdout
    assert result.stderr == ""
    result = _cli(db_url, "workflow", "plan", path, "--map", "contacted=reached", "--json")
    data = json.loads(result.stdout)
    assert (data["ok"], data["old_version"], data["new_version"]) == (True, 1, 2)
    assert data["removed"] == [{"id": "contacted", "live": 1, "to": "reached"}]
    assert data["mapping"] == {"contacted": "reached"}
    result = _cli(db_url, "workflow", "apply", path, "--map", "contacted=reached")
    assert (result.exit_code, result.stdout) == (0, "applied leads v2 to lead\n")
    assert leads.get_record("admin", rid).stage == "reached"
    assert leads.journal("admin", record_id=rid)[0].reason == REASON
    assert leads.replay_journal("admin") == leads.record_states("admin")


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("nowhere=reached", "'nowhere' is not a stage of the applied workflow leads v1"),
        ("contacted=nowhere", "'nowhere' is not a stage of leads v2"),
        ("new=reached", "the new file keeps stage 'new'"),
        ("contacted", "--map expects OLD=NEW"),
        ("=reached", "--map expects OLD=NEW"),
    ],
)
def test_bad_map_exits_2_and_changes_nothing(
    leads: Crm, tmp_path: Path, db_url: str, pair: str, message: str
) -> None:
    rid = _lead(leads, "13900000001", "contacted")
    path = str(_renamed(tmp_path))
    size, states = _journal_size(leads), leads.record_states("admin")
    for command in ("plan", "apply"):
        result = _cli(db_url, "workflow", command, path, "--map", pair)
        assert result.exit_code == 2, (command, result.output)
        assert message in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.output
    assert leads.list_workflows("admin")[0].version == 1
    assert leads.get_record("admin", rid).stage == "contacted"
    assert (_journal_size(leads), leads.record_states("admin")) == (size, states)


def test_map_needs_an_applied_workflow(people: Crm) -> None:
    with pytest.raises(InvalidInput, match="no workflow is applied to lead yet"):
        people.plan_workflow("admin", LEADS, {"new": "new"})


def test_plan_changes_nothing(leads: Crm, tmp_path: Path, db_url: str) -> None:
    _lead(leads, "13900000001", "contacted")
    path = _renamed(tmp_path)
    size, states = _journal_size(leads), leads.record_states("admin")
    leads.plan_workflow("admin", path, {"contacted": "reached"})
    assert _cli(db_url, "workflow", "plan", str(path), "--map", "contacted=reached").exit_code == 0
    assert _cli(db_url, "workflow", "plan", str(path)).exit_code == 5
    assert (_journal_size(leads), leads.record_states("admin")) == (size, states)
    assert leads.list_workflows("admin")[0].version == 1


def test_plan_refuses_operators_and_invalid_files(leads: Crm, tmp_path: Path, db_url: str) -> None:
    with pytest.raises(PermissionDenied, match="only an admin or a manager"):
        leads.plan_workflow("alice", LEADS)
    bad = _write(
        tmp_path, V2.replace("  - {from: qualified, to: [won, lost]}", "  - {from: x, to: y}")
    )
    result = _cli(db_url, "workflow", "plan", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:" in result.stderr
    assert "unknown stage 'x'" in result.stderr
    assert result.stdout == ""
