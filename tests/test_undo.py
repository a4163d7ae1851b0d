"""Undo of a field edit or a stage move: a change of its own in the journal, refused when stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_core.api import Conflict, Crm, InvalidInput

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def lead(people: Crm) -> int:
    people.apply_workflow("admin", ROOT / "workflows" / "leads.yaml")
    fields = {"name": "Wang", "phone": "13900000001", "region": "east"}
    return people.add_record("admin", "lead", fields, owner="alice").record.id


def test_an_edit_is_undone_as_its_own_journal_row(people: Crm, lead: int) -> None:
    edited = people.update_record("alice", lead, {"region": "west", "budget": 500})
    undone = people.undo_change(
        "alice", lead, version=edited.version, fields={"region": "east", "budget": None}
    )
    assert undone.fields.get("region") == "east" and "budget" not in undone.fields
    assert undone.version == edited.version + 1
    rows = people.journal("alice", record_id=lead)
    assert [r.action for r in rows] == ["undo", "update", "create"]  # nothing deleted
    assert rows[0].reason == f"undo of version {edited.version}"
    assert rows[0].after == {"fields": {"region": "east", "budget": None}}


def test_a_stage_move_is_undone_even_where_the_workflow_has_no_way_back(
    people: Crm, lead: int
) -> None:
    moved = people.move_record("alice", lead, "contacted")
    undone = people.undo_change("alice", lead, version=moved.version, stage="new")
    assert undone.stage == "new"
    assert [r.action for r in people.journal("alice", record_id=lead)][:2] == ["undo", "move"]


def test_an_undo_after_someone_else_changed_the_record_is_refused(people: Crm, lead: int) -> None:
    edited = people.update_record("alice", lead, {"region": "west"})
    people.update_record("mia", lead, {"budget": 900})
    with pytest.raises(Conflict, match="someone else edited it"):
        people.undo_change("alice", lead, version=edited.version, fields={"region": "east"})
    assert people.get_record("alice", lead).fields["region"] == "west"


def test_bad_undos_change_nothing(people: Crm, lead: int) -> None:
    version = people.get_record("alice", lead).version
    with pytest.raises(InvalidInput, match="needs the fields"):
        people.undo_change("alice", lead, version=version)
    with pytest.raises(InvalidInput, match="no stage 'limbo'"):
        people.undo_change("alice", lead, version=version, stage="limbo")
    with pytest.raises(Conflict, match="nothing to undo"):
        people.undo_change("alice", lead, version=version, fields={"region": "east"})
    with pytest.raises(Exception, match="carol"):
        people.undo_change("carol", lead, version=version, fields={"region": "x"})
    assert people.get_record("admin", lead).version == version
