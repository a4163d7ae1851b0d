"""Rule reminders close when their reason is gone; open tasks follow their record's owner.

Each scenario applies a ``lead`` workflow with a stage limit, a return warning,
an SLA and an on-enter task, lets the sweep raise reminders, then makes the
write that ends them (or hands the record over) and reads the tasks and their
journal rows back through the API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from crm_core.api import Crm
from crm_core.clock import ManualClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the test clock's start (conftest)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

FLOW = """\
workflow: leads
version: 1
kind: lead
stages:
  - id: new
    max_days: {{days: 3, action: notify}}
  - id: contacted
    max_days: {{days: 5, action: escalate}}
  - id: qualified
  - id: won
    outcome: won
transitions:
  - {{from: new, to: contacted}}
  - {{from: contacted, to: new}}
  - from: qualified
    to: won
    on_enter:
      - task: {{note: "Hand over to delivery", due_in_days: 1}}
  - from: contacted
    to: qualified
    on_enter:
      - task: {{note: "Send the quote", due_in_days: 2}}
assignment:
  strategy: round_robin
  members: [alice, bob]
  sla: {{contact_within_hours: 24, then: {sla}}}
pools:
  - id: public
    members: [alice, bob, carol]
    return:
      - id: idle
        when: {{days_since: last_activity, gt: 14}}
        warn_days_before: 2
{rotation}"""


def _apply(crm: Crm, tmp_path: Path, sla: str = "notify", rotation: str = "") -> Crm:
    path = tmp_path / "leads.yaml"
    path.write_text(FLOW.format(sla=sla, rotation=rotation), encoding="utf-8")
    crm.apply_workflow("admin", path)
    return crm


@pytest.fixture
def flow(people: Crm, tmp_path: Path) -> Crm:
    """The people, with the workflow above applied (SLA: notify)."""
    return _apply(people, tmp_path)


def lead(crm: Crm, owner: str | None, n: int) -> int:
    values = {"name": f"Lead {n}", "phone": f"1390000{n:04d}"}
    if owner is None:
        return crm.add_record("admin", "lead", values, auto_assign=True).record.id
    return crm.add_record("admin", "lead", values, owner=owner).record.id


def sweep(crm: Crm) -> Any:
    (result,) = crm.sweep(None)
    return result


def open_tasks(crm: Crm) -> list[tuple[str, int | None, str | None]]:
    """Open tasks as (assignee, record id, cause), sorted."""
    return sorted((t.assignee, t.record_id, t.cause) for t in crm.list_tasks("admin"))


def task_rows(crm: Crm, rid: int, action: str) -> list[Any]:
    """The journal rows of the record's tasks with ``action``, oldest first."""
    rows = reversed(crm.journal("admin", record_id=rid, limit=1000))
    return [r for r in rows if r.entity == "task" and r.action == action]


def uid(crm: Crm, name: str) -> int:
    return next(u.id for u in crm.list_users("admin") if u.name == name)


def test_a_stage_reminder_closes_when_the_record_leaves_the_stage(
    flow: Crm, clock: ManualClock
) -> None:
    rid = lead(flow, "alice", 1)
    clock.advance(3 * DAY + HOUR)
    sweep(flow)
    ((task_id, _),) = [(t.id, t.cause) for t in flow.list_tasks("alice")]
    clock.advance(HOUR)
    flow.move_record("alice", rid, "contacted")
    assert open_tasks(flow) == []
    (done,) = flow.list_tasks("admin", include_done=True)
    assert (done.id, done.done_at) == (task_id, clock())
    (row,) = task_rows(flow, rid, "close")
    assert (row.entity_id, row.actor, row.cause, row.reason) == (
        task_id, "alice", "system:reminders", "no longer in stage new"
    )  # fmt: skip
    assert (row.before, row.after) == ({"done_at": None}, {"done_at": clock().isoformat()})


def test_a_return_warning_closes_on_a_follow_up(flow: Crm, clock: ManualClock) -> None:
    rid = lead(flow, "alice", 1)
    flow.move_record("alice", rid, "contacted")
    flow.move_record("alice", rid, "qualified")  # no stage limit in qualified
    flow.complete_task("alice", flow.list_tasks("alice")[0].id)  # the on-enter task
    clock.advance(12 * DAY + 12 * HOUR)
    assert sweep(flow).warned == 1
    assert open_tasks(flow) == [("alice", rid, "pool:public:idle:warn")]
    clock.advance(HOUR)
    flow.log_activity("alice", rid, "call")
    assert open_tasks(flow) == []
    (row,) = task_rows(flow, rid, "close")
    assert row.reason == "an activity was logged"
    clock.advance(HOUR)
    assert sweep(flow).warned == 0  # a new idle period, far from its end


def test_an_sla_reminder_closes_when_the_record_is_contacted(flow: Crm, clock: ManualClock) -> None:
    rid = lead(flow, None, 1)  # assigned by the rules: the SLA clock runs
    clock.advance(25 * HOUR)
    sweep(flow)
    owner = flow.get_record("admin", rid).owner
    assert open_tasks(flow) == [(owner, rid, "sla:leads:notify")]
    assert owner is not None
    flow.log_activity(owner, rid, "call")
    assert open_tasks(flow) == []
    assert [r.reason for r in task_rows(flow, rid, "close")] == ["an activity was logged"]


def test_release_and_archive_close_rule_reminders_but_not_hand_made_tasks(
    flow: Crm, clock: ManualClock
) -> None:
    released, archived = lead(flow, "alice", 1), lead(flow, "alice", 2)
    for rid in (released, archived):
        flow.add_task("alice", rid, START + 30 * DAY, "ask about the budget")
    clock.advance(12 * DAY + 12 * HOUR)
    sweep(flow)  # stage limit and return warning, for both
    assert len(open_tasks(flow)) == 6
    flow.release("alice", released, "wrong region")
    flow.archive_record("admin", archived)
    # Hand-made tasks stay with whoever wrote them down, even for a pooled record.
    assert open_tasks(flow) == [
        ("alice", released, "user:alice"),
        ("alice", archived, "user:alice"),
    ]
    assert (
        sorted(r.reason for r in task_rows(flow, released, "close"))
        == ["record went back to a pool"] * 2
    )
    assert sorted(r.reason for r in task_rows(flow, archived, "close")) == ["record archived"] * 2


def test_the_sweep_closes_what_its_own_returns_ended(flow: Crm, clock: ManualClock) -> None:
    rid = lead(flow, "alice", 1)
    clock.advance(12 * DAY + 12 * HOUR)
    sweep(flow)
    assert len(open_tasks(flow)) == 2
    clock.advance(3 * DAY)
    result = sweep(flow)
    assert (result.returned, result.closed) == (1, 2)
    assert open_tasks(flow) == []
    assert {r.reason for r in task_rows(flow, rid, "close")} == {"record went back to a pool"}


def test_the_sweep_closes_reminders_an_older_version_left_open(
    flow: Crm, clock: ManualClock
) -> None:
    rid = lead(flow, "alice", 1)
    clock.advance(3 * DAY + HOUR)
    sweep(flow)
    flow.move_record("alice", rid, "contacted")
    # A database from before reminders closed themselves: the task is still open.
    with flow.engine.begin() as connection:
        connection.execute(sa.text("UPDATE task SET done_at = NULL"))
    assert open_tasks(flow) == [("alice", rid, "stage:leads:new:notify")]
    clock.advance(HOUR)
    assert sweep(flow).closed == 1
    assert open_tasks(flow) == []
    last = task_rows(flow, rid, "close")[-1]
    assert (last.cause, last.actor, last.reason) == (
        "system:reminders", None, "no longer in stage new"
    )  # fmt: skip


def test_a_workflow_mapping_closes_the_reminders_of_the_stages_it_empties(
    flow: Crm, clock: ManualClock, tmp_path: Path
) -> None:
    rid = lead(flow, "alice", 1)
    idle = lead(flow, "bob", 2)
    flow.move_record("bob", idle, "contacted")
    flow.move_record("bob", idle, "qualified")
    clock.advance(12 * DAY + 12 * HOUR)
    sweep(flow)
    clock.advance(HOUR)
    flow.log_activity("bob", idle, "call")
    # A warning left open by an older version: both versions of the workflow know its cause.
    with flow.engine.begin() as connection:
        connection.execute(sa.text("UPDATE task SET done_at = NULL WHERE cause LIKE 'pool:%'"))
    assert [t[2] for t in open_tasks(flow) if t[1] == rid] == [
        "pool:public:idle:warn", "stage:leads:new:notify"
    ]  # fmt: skip
    text = FLOW.format(sla="notify", rotation="").replace("  - id: new\n", "  - id: fresh\n")
    text = text.replace("from: new", "from: fresh").replace("to: new}", "to: fresh}")
    path = tmp_path / "v2.yaml"
    path.write_text(text.replace("version: 1", "version: 2"), encoding="utf-8")
    flow.apply_workflow("admin", path, {"new": "fresh"})
    assert flow.get_record("admin", rid).stage == "fresh"
    assert [t[2] for t in open_tasks(flow)] == ["workflow:leads:contacted->qualified"]
    assert sorted(r.reason for r in task_rows(flow, rid, "close")) == [
        "no longer in stage new", "record changed stage"
    ]  # fmt: skip
    assert task_rows(flow, idle, "close")[-1].reason == "an activity was logged"


def test_an_on_enter_task_closes_when_the_record_moves_on(flow: Crm, clock: ManualClock) -> None:
    rid = lead(flow, "alice", 1)
    flow.move_record("alice", rid, "contacted")
    flow.move_record("alice", rid, "qualified")
    cause = "workflow:leads:contacted->qualified"
    assert open_tasks(flow) == [("alice", rid, cause)]
    clock.advance(HOUR)
    flow.move_record("alice", rid, "won")
    assert open_tasks(flow) == [("alice", rid, "workflow:leads:qualified->won")]
    assert [r.reason for r in task_rows(flow, rid, "close")] == ["no longer in stage qualified"]


def test_a_hand_made_task_never_closes_by_itself(flow: Crm, clock: ManualClock) -> None:
    rid = lead(flow, "alice", 1)
    flow.add_task("alice", rid, START + DAY, "call back")
    for stage in ("contacted", "qualified", "won"):
        clock.advance(HOUR)
        flow.move_record("alice", rid, stage)
    flow.log_activity("alice", rid, "call")
    clock.advance(40 * DAY)
    sweep(flow)
    flow.archive_record("admin", rid)
    assert ("alice", rid, "user:alice") in open_tasks(flow)


def test_open_tasks_follow_a_new_owner_and_ended_reminders_close(
    flow: Crm, clock: ManualClock
) -> None:
    rid = lead(flow, "alice", 1)
    other = lead(flow, "alice", 2)
    flow.add_task("alice", rid, START + 30 * DAY, "call back")
    flow.add_task("alice", other, START + 30 * DAY, "not this record")
    clock.advance(12 * DAY + 12 * HOUR)
    sweep(flow)
    mine = [t for t in open_tasks(flow) if t[1] == rid]
    assert [t[2] for t in mine] == ["pool:public:idle:warn", "stage:leads:new:notify", "user:alice"]
    clock.advance(HOUR)
    flow.update_record("mia", rid, owner="bob")
    assert [t for t in open_tasks(flow) if t[1] == rid] == [
        ("bob", rid, "stage:leads:new:notify"),
        ("bob", rid, "user:alice"),
    ]
    assert ("alice", other, "user:alice") in open_tasks(flow)
    moved = task_rows(flow, rid, "reassign")
    alice, bob = uid(flow, "alice"), uid(flow, "bob")
    assert [(r.actor, r.cause, r.before, r.after) for r in moved] == [
        ("mia", "user:mia", {"assignee_id": alice}, {"assignee_id": bob})
    ] * 2
    (closed,) = task_rows(flow, rid, "close")
    assert closed.reason == "record changed owner"


def test_an_sla_reassignment_hands_the_open_tasks_over(
    people: Crm, clock: ManualClock, tmp_path: Path
) -> None:
    crm = _apply(people, tmp_path, sla="reassign")
    rid = lead(crm, None, 1)
    first = crm.get_record("admin", rid).owner
    assert first is not None
    crm.add_task(first, rid, START + 30 * DAY, "call back")
    clock.advance(25 * HOUR)
    assert sweep(crm).reassigned == 1
    second = crm.get_record("admin", rid).owner
    assert second not in (None, first)
    assert open_tasks(crm) == [(second, rid, f"user:{first}")]
    (row,) = task_rows(crm, rid, "reassign")
    assert (row.cause, row.before, row.after) == (
        "sla:leads:reassign", {"assignee_id": uid(crm, first)}, {"assignee_id": uid(crm, second)}
    )  # fmt: skip


def test_a_rotation_hands_the_open_tasks_over(
    people: Crm, clock: ManualClock, tmp_path: Path
) -> None:
    crm = _apply(people, tmp_path, rotation="    rotation: {max_rotations: 2}\n")
    rid = lead(crm, "alice", 1)
    crm.add_task("alice", rid, START + 30 * DAY, "call back")
    clock.advance(15 * DAY)
    assert sweep(crm).rotated == 1
    owner = crm.get_record("admin", rid).owner
    assert owner not in (None, "alice")
    assert (owner, rid, "user:alice") in open_tasks(crm)
    assert all(t[0] != "alice" for t in open_tasks(crm))
    (row,) = task_rows(crm, rid, "reassign")
    assert (row.cause, row.after) == ("pool:public:idle", {"assignee_id": uid(crm, owner)})
