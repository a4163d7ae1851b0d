"""A manager gives or releases several records in one action; open tasks follow the new owner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_core.api import Crm
from crm_core.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
DUE = datetime(2026, 3, 5, 9, tzinfo=UTC)


@pytest.fixture
def leads(people: Crm) -> list[int]:
    people.apply_workflow("admin", ROOT / "workflows" / "leads.yaml")
    ids = []
    for i in range(3):
        fields = {"name": f"Lead {i}", "phone": f"1390000000{i}"}
        ids.append(people.add_record("admin", "lead", fields, owner="alice").record.id)
    people.add_task("alice", ids[0], DUE, "call back")
    people.add_task("alice", ids[0], DUE + timedelta(days=1), "send the quote")
    people.add_task("alice", ids[1], DUE, "visit")
    return ids


def _open_tasks(crm: Crm) -> list[tuple[str, int | None, str]]:
    return sorted((t.assignee, t.record_id, t.note) for t in crm.list_tasks("admin"))


def test_reassigning_several_records_moves_their_open_tasks(people: Crm, leads: list[int]) -> None:
    carol_only = people.add_record(
        "admin", "lead", {"name": "West", "phone": "13911111111"}, owner="carol"
    ).record.id
    results = people.reassign_records("mia", [*leads, carol_only, leads[0]], "bob")
    assert [(r.record_id, r.ok, r.tasks_moved) for r in results] == [
        (leads[0], True, 2), (leads[1], True, 1), (leads[2], True, 0), (carol_only, False, 0),
    ]  # fmt: skip
    assert results[3].error is not None and "carol" in results[3].error
    assert {people.get_record("admin", r).owner for r in leads} == {"bob"}
    assert _open_tasks(people) == [
        ("bob", leads[0], "call back"), ("bob", leads[0], "send the quote"),
        ("bob", leads[1], "visit"),
    ]  # fmt: skip
    moved = [j for j in people.journal("admin") if j.entity == "task" and j.action == "reassign"]
    assert len(moved) == 3 and {j.actor for j in moved} == {"mia"}


def test_releasing_several_records_gives_each_a_result(people: Crm, leads: list[int]) -> None:
    people.reassign_records("mia", [leads[2]], "bob")
    results = people.release_records("alice", leads, "wrong number")
    assert [(r.record_id, r.ok) for r in results] == [(leads[0], True), (leads[1], True),
                                                     (leads[2], False)]  # fmt: skip
    assert [people.get_record("admin", r).pool for r in leads[:2]] == ["public", "public"]
    assert results[0].record is not None and results[0].record.owner is None
    assert people.get_record("admin", leads[2]).owner == "bob"


def test_crm_record_reassign(people: Crm, leads: list[int], db_url: str) -> None:
    runner = CliRunner()
    base = ["--db", db_url, "--as", "mia", "record", "reassign"]
    ok = runner.invoke(app, [*base, str(leads[0]), str(leads[1]), "--to", "bob"])
    assert ok.exit_code == 0, ok.output
    assert f"#{leads[0]} now bob's, 2 open task(s) moved" in ok.output
    refused = runner.invoke(app, [*base, str(leads[2]), "999", "--to", "bob", "--json"])
    assert refused.exit_code == 1
    rows = json.loads(refused.output)
    assert [(r["record_id"], r["error"] is None) for r in rows] == [(leads[2], True), (999, False)]
    assert ("bob", leads[1], "visit") in _open_tasks(people)
