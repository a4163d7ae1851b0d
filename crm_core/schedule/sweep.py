"""One sweep of a workflow: pool returns and rotation, return warnings, stage limits, SLA.

Every rule is a declarative condition compiled to SQL, so a sweep touches the
matching records set-based. A rule that raises a notice writes it once per
tenure: the task it leaves behind (its ``cause``) is how the next sweep knows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, insert, not_, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from crm_core import conditions, notify, reminders
from crm_core.assign import run as assign_run
from crm_core.errors import CrmError, InvalidInput
from crm_core.fieldsql import kind_is
from crm_core.i18n import _
from crm_core.models import Holding, Journal, Record, Task, User, WorkflowDef
from crm_core.notify import Notice
from crm_core.pools import ensure_pools
from crm_core.records import WriteContext, changed_in_bulk
from crm_core.schedule import bulk
from crm_core.schedule.contain import Containment, Failure
from crm_core.views import View
from crm_core.workflow import actions
from crm_core.workflow.calendar import WorkCalendar
from crm_core.workflow.loader import action_name


@dataclass
class SweepResult(View):
    """What one sweep did, or in a dry run would do, for one workflow, rule by rule.

    ``notified`` counts the notices raised (a reminder task each);
    ``outbox`` the rows queued for delivery per channel.
    """

    workflow: str
    returned: int = 0
    rotated: int = 0
    warned: int = 0
    alerted: int = 0
    reassigned: int = 0
    closed: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    notified: int = 0
    outbox: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)


def _owned(wf: WorkflowDef, dialect: str) -> ColumnElement[bool]:
    return and_(
        kind_is(dialect, wf.kind),
        col(Record.archived_at).is_(None),
        col(Record.owner_id).is_not(None),
    )


def _not_exempt(
    spec: dict[str, Any], dialect: str, now: datetime, operators: conditions.Operators
) -> ColumnElement[bool]:
    if "exempt" not in spec:
        return true()
    return not_(conditions.to_sql(spec["exempt"], dialect, now, operators))


def _rule_sql(
    ctx: WriteContext,
    spec: dict[str, Any],
    rule: dict[str, Any],
    dialect: str,
    at: datetime,
    contain: Containment,
    cause: str,
) -> ColumnElement[bool] | None:
    """SQL of a pool's return rule at ``at``, exemption included; None if it cannot be built.

    A plugin's operator whose SQL form raises (or whose plugin is gone) fails
    for every record alike: that rule is skipped and reported, the others run.
    """
    operators = ctx.registry.operators
    try:
        return and_(
            _not_exempt(spec, dialect, at, operators),
            conditions.to_sql(rule["when"], dialect, at, operators),
        )
    except CrmError as exc:
        contain.fail(exc, None, cause)
        return None


def _plugin_action(
    ctx: WriteContext,
    contain: Containment,
    cause: str,
    where: ColumnElement[bool],
    since: Any,
    action: dict[str, Any],
) -> int:
    """Run a plugin's workflow action once on each record matching ``where``; return how many.

    A record is acted on once per period (its time in the stage, its current
    owner): a journal row of entity ``workflow_action`` with the rule as cause,
    written with the action's own writes, marks it. A record whose action
    raises is skipped and reported, the others go on.
    """
    ((name, arg),) = action.items()
    spec = ctx.registry.actions.get(name)
    if spec is None:
        missing = _(
            "workflow action '{name}' is not registered: is its plugin installed and enabled?",
            name=name,
        )
        contain.fail(InvalidInput(missing), None, cause)
        return 0
    acted = exists().where(
        col(Journal.record_id) == col(Record.id),
        col(Journal.entity) == "workflow_action",
        col(Journal.cause) == cause,
        col(Journal.at) >= since,
    )
    query = select(Record.id).where(where, not_(acted)).order_by(col(Record.id))
    ids = [i for i in ctx.session.exec(query).all() if i is not None]
    rule_ctx = WriteContext(ctx.session, ctx.registry, ctx.host, ctx.actor, cause, ctx.now)

    def run(chunk: Sequence[int]) -> int:
        for record_id in chunk:
            record = ctx.session.get(Record, record_id)
            assert record is not None  # listed in this transaction
            actions.run(rule_ctx, record, spec, arg)
            rule_ctx.journal("workflow_action", record_id, record_id, name, None, {"arg": arg})
        return len(chunk)

    return sum(contain.batch(cause, lambda: run(ids), lambda: ids, run, lambda i: (i, cause)))


def _noticed_since(cause: str, since: Any) -> ColumnElement[bool]:
    """SQL: the record already has a task left by ``cause`` since ``since``."""
    return exists().where(
        col(Task.record_id) == col(Record.id),
        col(Task.cause) == cause,
        col(Task.created_at) >= since,
    )


def period_start(dialect: str) -> ColumnElement[datetime]:
    """SQL: when the record's current idle period began (a warning is given once per period).

    The later of its last activity, its hand-over to the owner and its entry
    into the stage: following up, changing hands or moving on starts a new one.
    """
    later = func.greatest if dialect == "postgresql" else func.max
    result: ColumnElement[datetime] = later(
        conditions.idle_since(dialect), col(Record.stage_entered_at)
    )
    return result


def return_cause(wf: WorkflowDef, pool: str, rule: str) -> str:
    """The journal cause of a return by a pool rule."""
    return f"pool:{pool}:{rule}"


def _return(
    ctx: WriteContext, kind: str, where: ColumnElement[bool], pool_id: int, cause: str, reason: str
) -> int:
    """Return the owned records matching ``where`` to ``pool_id``; how many."""
    n = bulk.pick(ctx, where)
    if n:
        bulk.to_pool(ctx, kind, pool_id, cause, "return", reason)
    return n


def run(ctx: WriteContext, wf: WorkflowDef) -> SweepResult:
    """Sweep ``wf`` at ``ctx.now``: returns and rotation, stage limits, SLA, then warnings.

    Warnings come last so that a record that just changed hands is not warned.
    Each rule runs in a savepoint: a record that fails it (a plugin raised, a
    value the database cannot read) is skipped and listed in ``failures``.
    """
    result = SweepResult(wf.name)
    contain = Containment(ctx, wf.name)
    counts: Counter[str] = Counter()
    dialect = ctx.session.get_bind().dialect.name
    owned = _owned(wf, dialect)
    pool_ids = ensure_pools(ctx, wf.definition)
    for spec in wf.definition.get("pools", []):
        pool_id = pool_ids[spec["id"]]
        for rule in spec.get("return", []):
            cause = return_cause(wf, spec["id"], rule["id"])
            matches = _rule_sql(ctx, spec, rule, dialect, ctx.now, contain, cause)
            if matches is None:
                continue
            where = and_(_owned(wf, dialect), matches)
            if "rotation" in spec:
                rotate = partial(_rotate, ctx, wf, spec, pool_id, cause=cause)
                moved = contain.records(cause, where, owned, rotate)
                rotated, returned = sum(r for r, _b in moved), sum(b for _r, b in moved)
                result.rotated += rotated
                result.returned += returned
                counts[cause] += rotated + returned
                continue
            reason = str(_("rule {rule} of pool {pool}", rule=rule["id"], pool=spec["id"]))
            work = partial(_return, ctx, wf.kind, pool_id=pool_id, cause=cause, reason=reason)
            n = sum(contain.records(cause, where, owned, work))
            result.returned += n
            counts[cause] += n
    stage_notices, stage_returned = _stage_limits(ctx, wf, pool_ids, dialect, counts, contain)
    result.returned += stage_returned
    sla_notices, reassigned = _sla(ctx, wf, pool_ids, dialect, counts, contain)
    result.reassigned = reassigned
    result.alerted = len(stage_notices) + len(sla_notices)
    warnings = [
        n
        for spec in wf.definition.get("pools", [])
        for n in _warnings(ctx, wf, spec, dialect, contain)
    ]
    result.warned = len(warnings)
    counts.update(n.cause for n in warnings)
    notices = [*stage_notices, *sla_notices, *warnings]
    # No plugin code runs here any more (channels deliver after commit): nothing to contain.
    result.notified = len(notices)
    result.outbox = notify.send(ctx, notices)
    # The safety net: reminders whose reason went away unseen (this sweep's returns, a
    # database from before reminders closed themselves). Last, so that on PostgreSQL the task
    # rows it locks are not held while the sweep still waits for a record an operator holds.
    result.closed = reminders.close(ctx, [wf])
    result.by_rule = {rule: n for rule, n in sorted(counts.items()) if n}
    result.failures = contain.failures
    return result


def _warnings(
    ctx: WriteContext, wf: WorkflowDef, spec: dict[str, Any], dialect: str, contain: Containment
) -> list[Notice]:
    out: list[Notice] = []
    calendar = WorkCalendar.of(wf.definition)
    label = spec.get("label", spec["id"])
    label = label.get("zh") or label.get("en") if isinstance(label, dict) else label
    for rule in spec.get("return", []):
        days = rule.get("warn_days_before")
        if not days:
            continue
        cause = f"{return_cause(wf, spec['id'], rule['id'])}:warn"
        later = ctx.now + timedelta(days=days)
        matches_later = _rule_sql(ctx, spec, rule, dialect, later, contain, cause)
        if matches_later is None:
            continue
        where = and_(
            _owned(wf, dialect),
            matches_later,
            not_(conditions.to_sql(rule["when"], dialect, ctx.now, ctx.registry.operators)),
            not_(_noticed_since(cause, period_start(dialect))),
        )

        def due(within: ColumnElement[bool]) -> list[tuple[int | None, int | None, str]]:
            query = select(Record.id, Record.owner_id, Record.title).where(within)
            return list(ctx.session.exec(query).all())

        found = contain.records(cause, where, _owned(wf, dialect), due)
        for record_id, owner_id, title in (row for rows in found for row in rows):
            assert owner_id is not None
            # It matches the rule at ``later`` and not now: it goes back by then at the latest.
            message = str(
                _("#{id} {title} returns to pool {pool} within {days} day(s), by {at} "
                  "(rule {rule}) unless you follow up", id=record_id, title=title, pool=label,
                  days=days, at=calendar.label(later), rule=rule["id"])
            )  # fmt: skip
            notices_due = ctx.now
            out.append(Notice(owner_id, record_id, message, notices_due, cause))
    return out


def _rotate(
    ctx: WriteContext,
    wf: WorkflowDef,
    spec: dict[str, Any],
    pool_id: int,
    where: ColumnElement[bool],
    *,
    cause: str,
) -> tuple[int, int]:
    """Hand each expired record to the next pool member who has not held it, up to the limit."""
    query = select(Record.id, Record.owner_id, Record.rotations).where(where)
    if ctx.session.get_bind().dialect.name == "postgresql":
        # a record an operator is releasing or claiming right now waits for the next sweep
        query = query.with_for_update(skip_locked=True, of=Record)
    rows = ctx.session.exec(query.order_by(col(Record.id))).all()
    if not rows:
        return 0, 0
    users = {u.name: u for u in ctx.session.exec(select(User)).all()}
    order = [users[n] for n in spec.get("members", []) if n in users]
    present = [
        u.id
        for u in order
        if u.id is not None and u.active and (u.away_until is None or u.away_until <= ctx.now)
    ]
    ids = [r[0] for r in rows]
    holders: dict[int, set[int]] = {}
    for held_id, user_id in ctx.session.exec(
        select(Holding.record_id, Holding.user_id).where(col(Holding.record_id).in_(ids))
    ).all():
        holders.setdefault(held_id, set()).add(user_id)
    limit = spec["rotation"]["max_rotations"]
    moves: list[tuple[int, int, int | None]] = []
    for record_id, owner_id, rotations in rows:
        assert record_id is not None and owner_id is not None
        held = holders.get(record_id, set()) | {owner_id}
        nxt: int | None = None
        if rotations < limit:
            nxt = next((u for u in present if u not in held), None)
        moves.append((record_id, owner_id, nxt))
    rotate = [(r, o, n) for r, o, n in moves if n is not None]
    back = [r for r, _o, n in moves if n is None]
    if rotate:
        _write_rotations(ctx, wf, rotate, cause)
    if back:
        bulk.pick(ctx, and_(where, col(Record.id).in_(back)))
        reason = str(_("rotated {n} time(s) or no member left who has not held it", n=limit))
        bulk.to_pool(ctx, wf.kind, pool_id, cause, "return", reason)
    return len(rotate), len(back)


def _write_rotations(
    ctx: WriteContext, wf: WorkflowDef, moves: list[tuple[int, int, int]], cause: str
) -> None:
    connection = ctx.session.connection()
    table = bulk.RECORD
    connection.execute(
        table.update()
        .where(table.c.id == bindparam("rid"))
        .values(
            owner_id=bindparam("uid"),
            assigned_at=ctx.now,
            updated_at=ctx.now,
            rotations=table.c.rotations + 1,
            version=table.c.version + 1,
        ),
        [{"rid": r, "uid": n} for r, _o, n in moves],
    )
    ctx.session.add_all(
        Holding(record_id=r, user_id=o, ended_at=ctx.now, how="rotate") for r, o, _n in moves
    )
    actor = ctx.actor.id if ctx.actor else None
    rows: list[dict[str, Any]] = [
        {"at": ctx.now, "actor_id": actor, "cause": cause, "entity": "record", "entity_id": r,
         "record_id": r, "action": "rotate", "reason": None,
         "before": {"owner_id": o}, "after": {"owner_id": n}}
        for r, o, n in moves
    ]  # fmt: skip
    ctx.session.execute(insert(Journal), rows)
    reminders.follow(ctx, wf.kind, [(r, o, n, cause) for r, o, n in moves])
    changed_in_bulk(
        ctx, wf.kind, "rotate", [(r["entity_id"], r["before"], r["after"], cause) for r in rows]
    )


def _managers(ctx: WriteContext, owner_ids: set[int]) -> dict[int, list[int]]:
    """Who an escalation about each owner goes to: the team's managers, else the admins."""
    users = ctx.session.exec(select(User).where(col(User.active))).all()
    admins = [u.id for u in users if u.role == "admin" and u.id is not None]
    by_id = {u.id: u for u in users}
    out = {}
    for owner in owner_ids:
        team = by_id[owner].team_id if owner in by_id else None
        managers = [
            u.id for u in users if u.role == "manager" and team is not None and u.team_id == team
        ]
        out[owner] = [m for m in managers if m is not None] or admins
    return out


def _stage_limits(
    ctx: WriteContext,
    wf: WorkflowDef,
    pool_ids: dict[str, int],
    dialect: str,
    counts: Counter[str],
    contain: Containment,
) -> tuple[list[Notice], int]:
    notices: list[Notice] = []
    returned = 0
    calendar = WorkCalendar.of(wf.definition)
    for stage in wf.definition["stages"]:
        limit = stage.get("max_days")
        if not limit:
            continue
        action = limit["action"]
        cause = f"stage:{wf.name}:{stage['id']}:{action_name(action)}"
        stuck = and_(
            _owned(wf, dialect),
            col(Record.stage) == stage["id"],
            col(Record.stage_entered_at) < ctx.now - timedelta(days=limit["days"]),
        )
        if isinstance(action, dict):
            since = col(Record.stage_entered_at)
            counts[cause] += _plugin_action(ctx, contain, cause, stuck, since, action)
            continue
        if action == "return_to_pool":
            pool = limit.get("pool") or next(iter(pool_ids))
            reason = str(
                _("more than {days} day(s) in {stage}", days=limit["days"], stage=stage["id"])
            )
            work = partial(
                _return, ctx, wf.kind, pool_id=pool_ids[pool], cause=cause, reason=reason
            )
            n = sum(contain.records(cause, stuck, _owned(wf, dialect), work))
            returned += n
            counts[cause] += n
            continue
        query = select(Record.id, Record.owner_id, Record.title, Record.stage_entered_at).where(
            stuck, not_(_noticed_since(cause, col(Record.stage_entered_at)))
        )
        rows = ctx.session.exec(query).all()
        targets = (
            _managers(ctx, {o for _r, o, _t, _e in rows if o is not None})
            if action == "escalate"
            else {}
        )
        for record_id, owner_id, title, entered in rows:
            assert owner_id is not None
            message = str(
                _("#{id} {title}: more than {days} day(s) in {stage} (since {since})",
                  id=record_id, title=title, days=limit["days"], stage=stage["id"],
                  since=calendar.label(entered))
            )  # fmt: skip
            for user_id in targets.get(owner_id, [owner_id]):
                notices.append(Notice(user_id, record_id, message, ctx.now, cause))
            counts[cause] += 1
    return notices, returned


def _sla(
    ctx: WriteContext,
    wf: WorkflowDef,
    pool_ids: dict[str, int],
    dialect: str,
    counts: Counter[str],
    contain: Containment,
) -> tuple[list[Notice], int]:
    sla = wf.definition.get("assignment", {}).get("sla")
    if not sla:
        return [], 0
    then = sla.get("then", "notify")
    cause = f"sla:{wf.name}:{action_name(then)}"
    late = and_(
        assign_run.open_filter(wf),
        col(Record.owner_id).is_not(None),
        col(Record.assigned_at) <= ctx.now - timedelta(hours=sla["contact_within_hours"]),
        func.coalesce(col(Record.last_activity_at) >= col(Record.assigned_at), False).is_(False),
    )
    if isinstance(then, dict):
        n = _plugin_action(ctx, contain, cause, late, col(Record.assigned_at), then)
        counts[cause] += n
        return [], n
    if then == "return_to_pool" and pool_ids:
        reason = str(_("not contacted within {hours} hour(s)", hours=sla["contact_within_hours"]))
        pool_id = next(iter(pool_ids.values()))
        work = partial(_return, ctx, wf.kind, pool_id=pool_id, cause=cause, reason=reason)
        n = sum(contain.records(cause, late, _owned(wf, dialect), work))
        counts[cause] += n
        return [], n
    if then == "reassign":
        owned = ctx.session.exec(select(Record.id, Record.owner_id).where(late)).all()
        exclude = {r: o for r, o in owned if r is not None and o is not None}
        n = assign_run.reassign(ctx, wf, exclude, cause, contain)
        counts[cause] += n
        return [], n
    late_rows = ctx.session.exec(
        select(Record.id, Record.owner_id, Record.title, Record.assigned_at).where(
            late, not_(_noticed_since(cause, col(Record.assigned_at)))
        )
    ).all()
    counts[cause] += len(late_rows)
    hours = sla["contact_within_hours"]
    calendar = WorkCalendar.of(wf.definition)
    return [
        Notice(
            o,
            r,
            str(
                _(
                    "#{id} {title} was assigned more than {hours} hour(s) ago ({at}) and not "
                    "contacted yet",
                    id=r,
                    title=t,
                    hours=hours,
                    at=calendar.label(at),
                )
            ),
            ctx.now,
            cause,
        )
        for r, o, t, at in late_rows
        if o is not None and r is not None and at is not None
    ], 0
