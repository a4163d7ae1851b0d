"""Rule reminders that close when their reason is gone, and open tasks that follow their record.

A reminder a rule raised names the rule in its task's ``cause``. For each such
cause of a workflow, :func:`rules` says in SQL, over the task and its record,
when the reminder no longer holds and why. :func:`close` closes every such
task set-based (a temporary table, one journal ``INSERT … SELECT``, one
``UPDATE``): the sweep runs it over all records as a safety net, and every
write that can end a reminder (a stage move, an archive, a return to a pool,
a new owner, a logged activity) runs it at once for its record.

When a record changes hands, :func:`follow` moves its open tasks from the old
owner to the new one, journaled as ``reassign``. A record that goes back to a
pool has no new owner: its rule reminders are closed (their reason is gone)
and the tasks people wrote by hand stay with their assignee, who still knows
why they wrote them. Hand-made tasks (cause ``user:NAME``) never close by
themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from crm_core.i18n import N_, _
from crm_core.journal import json_object
from crm_core.models import Record, Task, WorkflowDef
from crm_core.workflow.loader import action_name, targets

if TYPE_CHECKING:
    from crm_core.records import WriteContext

CAUSE = "system:reminders"
"""The journal cause of a reminder closed because its reason is gone."""

JOURNAL = Record.metadata.tables["journal"]
TASK = Record.metadata.tables["task"]
_metadata = MetaData()
GONE = Table(
    "crm_gone",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("reason", String),
    prefixes=["TEMPORARY"],
)
MOVED = Table(
    "crm_moved",
    _metadata,
    Column("record_id", Integer, primary_key=True),
    Column("old_owner_id", Integer),
    Column("new_owner_id", Integer),
    Column("cause", String),
    prefixes=["TEMPORARY"],
)
COLUMNS = ["at", "actor_id", "cause", "entity", "entity_id", "record_id", "action",
           "reason", "before", "after"]  # fmt: skip
OWNER_MOVES = ("stage", "owner_id", "pool_id", "archived")
"""The record keys whose change can end a reminder or hand its tasks over."""


@dataclass(frozen=True)
class Rule:
    """The reminders of some causes and, in order, each condition that ends them with its reason."""

    causes: list[str]
    gone: list[tuple[ColumnElement[bool], str]]


def _common() -> list[tuple[ColumnElement[bool], str]]:
    """What ends every rule reminder about an owned record: archiving, leaving its owner."""
    return [
        (col(Record.archived_at).is_not(None), N_("record archived")),
        (
            and_(col(Record.owner_id).is_(None), col(Record.pool_id).is_not(None)),
            N_("record went back to a pool"),
        ),
        (col(Record.owner_id).is_(None), N_("record has no owner")),
    ]


def _left(stage: str) -> tuple[ColumnElement[bool], str]:
    """The record is not in ``stage``, or left it and came back since the reminder."""
    moved = or_(
        func.coalesce(col(Record.stage), "") != stage,
        col(Record.stage_entered_at) > col(Task.created_at),
    )
    return moved, str(_("no longer in stage {stage}", stage=stage))


def rules(wf: WorkflowDef) -> list[Rule]:
    """Every reminder ``wf``'s rules raise, with what ends it (see crm_core.schedule.sweep)."""
    definition = wf.definition
    out: list[Rule] = []
    for pool in definition.get("pools", []):
        for rule in pool.get("return", []):
            if not rule.get("warn_days_before"):
                continue
            # The warning is about this owner's idle period: a follow-up, a hand-over or a
            # stage move starts a new one (the sweep warns again if it runs out too).
            gone = [
                *_common(),
                (col(Record.owner_id) != col(Task.assignee_id), N_("record changed owner")),
                (col(Record.last_activity_at) > col(Task.created_at), N_("an activity was logged")),
                (col(Record.assigned_at) > col(Task.created_at), N_("record changed hands")),
                (col(Record.stage_entered_at) > col(Task.created_at), N_("record changed stage")),
            ]
            out.append(Rule([f"pool:{pool['id']}:{rule['id']}:warn"], gone))
    for stage in definition["stages"]:
        limit = stage.get("max_days")
        if limit and limit["action"] != "return_to_pool":
            cause = f"stage:{wf.name}:{stage['id']}:{action_name(limit['action'])}"
            out.append(Rule([cause], [*_common(), _left(stage["id"])]))
    sla = definition.get("assignment", {}).get("sla")
    if sla and sla.get("then", "notify") == "notify":
        terminal = [s["id"] for s in definition["stages"] if s.get("outcome")]
        gone = [
            *_common(),
            (col(Record.last_activity_at) >= col(Record.assigned_at), N_("an activity was logged")),
            (col(Record.assigned_at) > col(Task.created_at), N_("record changed hands")),
            (col(Record.stage).in_(terminal), N_("record was won or lost")),
        ]
        out.append(Rule([f"sla:{wf.name}:notify"], gone))
    stage_ids = [s["id"] for s in definition["stages"]]
    entered: dict[str, list[str]] = {}
    for transition in definition.get("transitions", []):
        if not any("task" in a or "notify" in a for a in transition.get("on_enter", [])):
            continue
        sources = stage_ids if transition["from"] == "*" else [transition["from"]]
        for target in targets(transition):
            entered.setdefault(target, []).extend(
                f"workflow:{wf.name}:{s}->{target}" for s in sources
            )
    for target, causes in entered.items():
        # Such a reminder may go to a manager or the pool's admins, so an owner change or a
        # return to the pool does not end it: leaving the stage does.
        out.append(Rule(causes, [_common()[0], _left(target)]))
    return out


def close(
    ctx: WriteContext, workflows: Iterable[WorkflowDef], record_ids: Any | None = None
) -> int:
    """Close the open rule reminders of ``workflows`` whose reason is gone; return how many.

    ``record_ids`` (ids, or a SELECT of ids) limits the search to those records.
    """
    connection = ctx.session.connection()
    GONE.create(connection, checkfirst=True)
    connection.execute(GONE.delete())
    for wf in workflows:
        for rule in rules(wf):
            reason = case(*rule.gone)
            query = (
                select(col(Task.id), reason)
                .join(Record, col(Record.id) == col(Task.record_id))
                .where(
                    col(Task.done_at).is_(None),
                    col(Task.cause).in_(rule.causes),
                    or_(*(c for c, _r in rule.gone)),
                    # two versions of a workflow (see apply_workflow) share most causes
                    col(Task.id).not_in(select(GONE.c.id)),
                )
            )
            if record_ids is not None:
                query = query.where(col(Task.record_id).in_(record_ids))
            connection.execute(insert(GONE).from_select(["id", "reason"], query))
    found = int(connection.execute(select(func.count()).select_from(GONE)).scalar_one())
    if not found:
        return 0
    actor = ctx.actor.id if ctx.actor else None
    before = literal({"done_at": None}, JOURNAL.c.before.type)
    after = literal({"done_at": ctx.now.isoformat()}, JOURNAL.c.after.type)
    rows = select(
        literal(ctx.now, JOURNAL.c.at.type), literal(actor, Integer), literal(CAUSE),
        literal("task"), TASK.c.id, TASK.c.record_id, literal("close"), GONE.c.reason,
        before, after,
    ).join(GONE, GONE.c.id == TASK.c.id)  # fmt: skip
    connection.execute(insert(JOURNAL).from_select(COLUMNS, rows))
    connection.execute(update(TASK).where(TASK.c.id.in_(select(GONE.c.id))).values(done_at=ctx.now))
    return found


def follow(ctx: WriteContext, kind: str, moves: Iterable[tuple[int, int, int, str]]) -> int:
    """Hand the open tasks of records of ``kind`` from their old owner to their new one.

    ``moves`` holds ``(record id, old owner id, new owner id, cause)``; the
    cause is the reassignment's, so each ``reassign`` journal row says why.
    Reminders the change of hands ended (a return warning, a missed SLA) are
    closed first rather than handed over. Returns how many tasks moved.
    """
    plan = [
        {"record_id": r, "old_owner_id": o, "new_owner_id": n, "cause": c}
        for r, o, n, c in moves
        if o != n
    ]
    if not plan:
        return 0
    connection = ctx.session.connection()
    dialect = connection.dialect.name
    MOVED.create(connection, checkfirst=True)
    connection.execute(MOVED.delete())
    connection.execute(insert(MOVED), plan)
    wf = _workflow(ctx, kind)
    if wf is not None:
        close(ctx, [wf], select(MOVED.c.record_id))
    mine = and_(
        TASK.c.done_at.is_(None),
        MOVED.c.record_id == TASK.c.record_id,
        MOVED.c.old_owner_id == TASK.c.assignee_id,
    )
    found = int(connection.execute(select(func.count()).select_from(TASK, MOVED).where(mine))
                .scalar_one())  # fmt: skip
    if not found:
        return 0
    actor = ctx.actor.id if ctx.actor else None
    rows = select(
        literal(ctx.now, JOURNAL.c.at.type), literal(actor, Integer), MOVED.c.cause,
        literal("task"), TASK.c.id, TASK.c.record_id, literal("reassign"), literal(None, String),
        json_object(dialect, assignee_id=MOVED.c.old_owner_id),
        json_object(dialect, assignee_id=MOVED.c.new_owner_id),
    ).where(mine)  # fmt: skip
    connection.execute(insert(JOURNAL).from_select(COLUMNS, rows))
    new_owner = (
        select(MOVED.c.new_owner_id).where(MOVED.c.record_id == TASK.c.record_id).scalar_subquery()
    )
    connection.execute(update(TASK).where(exists().where(mine)).values(assignee_id=new_owner))
    return found


def _workflow(ctx: WriteContext, kind: str) -> WorkflowDef | None:
    return ctx.session.scalars(select(WorkflowDef).where(col(WorkflowDef.kind) == kind)).first()


def after_change(
    ctx: WriteContext, record: Record, before: dict[str, Any], after: dict[str, Any]
) -> None:
    """After one record's change: close the reminders it ended, hand its tasks to a new owner."""
    if not any(key in after for key in OWNER_MOVES) or not _has_open_tasks(ctx, record):
        return
    assert record.id is not None
    old, new = before.get("owner_id"), after.get("owner_id")
    if old is not None and new is not None:
        follow(ctx, record.kind, [(record.id, old, new, ctx.cause)])
    else:
        touched(ctx, record)


def touched(ctx: WriteContext, record: Record) -> int:
    """Close the reminders of one record that its latest write (or activity) ended."""
    if not _has_open_tasks(ctx, record):
        return 0
    wf = _workflow(ctx, record.kind)
    return close(ctx, [wf], [record.id]) if wf is not None else 0


def _has_open_tasks(ctx: WriteContext, record: Record) -> bool:
    """One indexed look-up that spares most single-record writes the statements above."""
    query = select(TASK.c.id).where(TASK.c.record_id == record.id, TASK.c.done_at.is_(None))
    return ctx.session.connection().execute(query.limit(1)).first() is not None
