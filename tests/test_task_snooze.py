"""Snoozing a reminder moves its due time, is journaled, and refuses what makes no sense."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from crm_core.api import Conflict, Crm, InvalidInput, PermissionDenied
from crm_core.cli.main import app
from crm_core.clock import ManualClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _task(people: Crm) -> int:
    rid = people.add_record("alice", "lead", {"name": "Wang", "phone": "13900000001"}).record.id
    return people.add_task("alice", rid, START + timedelta(hours=2), "call back").id


def test_a_snooze_moves_the_due_time_and_is_journaled(people: Crm) -> None:
    task_id = _task(people)
    later = START + timedelta(days=1)
    task = people.snooze_task("alice", task_id, later)
    assert task.due_at == later
    (row,) = [j for j in people.journal("admin") if j.entity == "task" and j.action == "snooze"]
    assert (row.entity_id, row.actor) == (task_id, "alice")
    assert row.before == {"due_at": (START + timedelta(hours=2)).isoformat()}
    assert row.after == {"due_at": later.isoformat()}
    # the manager of alice's team may snooze it too
    assert people.snooze_task("mia", task_id, later + timedelta(hours=1)).due_at > later


def test_a_snooze_is_refused_into_the_past_for_others_and_when_done(
    people: Crm, clock: ManualClock
) -> None:
    task_id = _task(people)
    with pytest.raises(InvalidInput, match="later time than now"):
        people.snooze_task("alice", task_id, START - timedelta(minutes=1))
    with pytest.raises(PermissionDenied):
        people.snooze_task("carol", task_id, START + timedelta(days=1))
    people.complete_task("alice", task_id)
    with pytest.raises(Conflict, match="done"):
        people.snooze_task("alice", task_id, START + timedelta(days=1))
    assert [j.action for j in people.journal("admin") if j.entity == "task"] == ["done", "create"]


def test_crm_task_snooze(people: Crm, db_url: str) -> None:
    task_id = _task(people)
    runner = CliRunner()
    args = ["--db", db_url, "--as", "alice", "task", "snooze", str(task_id)]
    ok = runner.invoke(app, [*args, "--until", "2030-03-04T09:00+00:00"])
    assert ok.exit_code == 0, ok.output
    assert "snoozed until 2030-03-04T09:00:00+00:00" in ok.output
    bad = runner.invoke(app, [*args, "--until", "soon"])
    assert bad.exit_code != 0
    assert "is not an ISO time" in bad.output and "Traceback" not in bad.output
    assert people.list_tasks("alice")[0].due_at == datetime(2030, 3, 4, 9, tzinfo=UTC)
