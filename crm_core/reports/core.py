"""The reports every CRM gets, whatever its plugins: pipeline, owners, growth, pools, service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlmodel import col

from crm_core import permissions
from crm_core.errors import InvalidInput, quote
from crm_core.fieldsql import index_name
from crm_core.i18n import _
from crm_core.models import Activity, Deal, Journal, Record, Team, User, WorkflowDef
from crm_core.reports.spec import ReportContext, ReportResult, share


def _by_team(ctx: ReportContext) -> bool:
    """True with ``--param group=team``: a report per user sums its users per team instead."""
    group = ctx.params.get("group", "owner")
    if group not in ("owner", "team"):
        raise InvalidInput(
            _("--param group must be owner or team, not {group}", group=quote(group))
        )
    return group == "team"


def _per(ctx: ReportContext, name: str = "owner") -> str:
    """The first column's name: ``name`` (a user), or ``team`` with ``--param group=team``."""
    return "team" if _by_team(ctx) else name


def _by_owner(ctx: ReportContext, rows: Sequence[Any], nobody: str | None) -> list[tuple[Any, ...]]:
    """Rows keyed by owner id, keyed by the owner's name instead and sorted by it.

    With ``--param group=team`` the key is the owner's team (``(no team)``)
    and the counts of one team's owners are summed. Names are looked up once,
    not joined per record; unowned rows get ``nobody`` (and come last), or are
    dropped when it is None.
    """
    label = col(Team.name) if _by_team(ctx) else col(User.name)
    names = dict(
        ctx.session.execute(
            select(col(User.id), label).outerjoin(Team, col(Team.id) == col(User.team_id))
        ).all()
    )
    keyed: dict[Any, tuple[Any, ...]] = {}
    for owner_id, *counts in rows:
        if owner_id is None:
            key: Any = None
        else:
            key = names.get(owner_id) or ("(no team)" if _by_team(ctx) else f"#{owner_id}")
        known = keyed.get(key)
        keyed[key] = tuple(counts) if known is None else _summed(known, counts)
    out: list[tuple[Any, ...]] = sorted(
        ((k, *v) for k, v in keyed.items() if k is not None),
        key=lambda r: (r[0] == "(no team)", r[0]),
    )
    if nobody is not None and None in keyed:
        out.append((nobody, *keyed[None]))
    return out


def _summed(a: Sequence[Any], b: Sequence[Any]) -> tuple[Any, ...]:
    return tuple((x or 0) + (y or 0) for x, y in zip(a, b, strict=True))


def _needs_stages(ctx: ReportContext) -> list[str]:
    stages = ctx.stage_ids()
    if not stages:
        raise InvalidInput(
            _("no workflow is applied to {kind}: this report follows its stages", kind=ctx.kind)
        )
    return stages


def funnel(ctx: ReportContext) -> ReportResult:
    """Records per stage, how many reached each stage, and stage-to-stage conversion.

    A record in a pipeline stage has passed through every earlier one; a lost
    record reached the stage it was lost from (the journal's last move into a
    lost stage says which; the first stage when it does not).
    """
    stages = _needs_stages(ctx)
    lost = set(ctx.outcome_stages("lost"))
    # An admin's count comes from the (kind, stage, archived_at) index, in stage
    # order; any other way SQLite sorts every record to group them.
    per_stage = ctx.records(Record.stage, func.count(), kind_index=_every_live(ctx))
    counts = dict(ctx.session.execute(per_stage.group_by(col(Record.stage))).all())
    pipeline = [s for s in stages if s not in lost]
    furthest = {s: counts.get(s, 0) for s in pipeline}
    for stage, n in _lost_from(ctx, sorted(lost)).items():
        key = stage if stage in furthest else pipeline[0]
        furthest[key] += n
    reached = {s: sum(furthest[t] for t in pipeline[i:]) for i, s in enumerate(pipeline)}
    probability = {s["id"]: s.get("probability") for s in (ctx.workflow or {})["stages"]}
    rows = []
    previous: int | None = None
    for stage in stages:
        here = reached.get(stage)
        conversion = share(here, previous) if here is not None and previous is not None else None
        rows.append([stage, counts.get(stage, 0), here, conversion, probability.get(stage)])
        if here is not None:
            previous = here
    columns = ["stage", "records", "reached", "conversion", "probability"]
    return ReportResult("funnel", f"Funnel of {ctx.kind}", columns, rows)


def _lost_from(ctx: ReportContext, lost: list[str]) -> dict[str | None, int]:
    """How many of the visible lost records were lost from each stage (None: unknown).

    The lost records are found through the ``(kind, stage, archived_at)`` index
    and each one's last journaled move into a lost stage through the journal's
    ``(record_id, id)`` index, so the cost follows the lost records.
    """
    if not lost:
        return {}
    last_move = (
        select(func.max(col(Journal.id)))
        .where(col(Journal.record_id) == col(Record.id), col(Journal.entity) == "record")
        .where(_json_text(ctx, col(Journal.after), "stage").in_(lost))
        .correlate(Record)
        .scalar_subquery()
    )
    came_from = (
        select(_json_text(ctx, col(Journal.before), "stage"))
        .where(col(Journal.id) == last_move)
        .correlate(Record)
        .scalar_subquery()
    )
    query = ctx.records(came_from, func.count(), kind_index=True)
    query = query.where(col(Record.stage).in_(lost))
    return {stage: n for stage, n in ctx.session.execute(query.group_by(came_from))}


def win_rate_by_owner(ctx: ReportContext) -> ReportResult:
    """Won, lost and win rate (won of decided) per owner."""
    won, lost = ctx.outcome_stages("won"), ctx.outcome_stages("lost")
    if not won or not lost:
        _needs_stages(ctx)
    is_won = func.sum(case((col(Record.stage).in_(won), 1), else_=0))
    is_lost = func.sum(case((col(Record.stage).in_(lost), 1), else_=0))
    owner = col(Record.owner_id)
    query = ctx.records(owner, func.count(), is_won, is_lost).group_by(owner)
    rows = [
        [name, n, w or 0, lo or 0, share(w or 0, (w or 0) + (lo or 0))]
        for name, n, w, lo in _by_owner(ctx, ctx.session.execute(query).all(), "(nobody)")
    ]
    columns = [_per(ctx), "records", "won", "lost", "win_rate"]
    return ReportResult("win_rate_by_owner", f"Win rate by {_per(ctx)}, {ctx.kind}", columns, rows)


def conversion_by_field(ctx: ReportContext) -> ReportResult:
    """Records, won and conversion (won of all) per value of ``--by FIELD``."""
    if not ctx.by:
        raise InvalidInput(_("conversion_by_field needs --by FIELD"))
    won = ctx.outcome_stages("won")
    value = ctx.field(ctx.by)
    if _every_live(ctx) and _has_field_index(ctx, ctx.by):
        query = _conversion_from_index(ctx, value, won)
    else:
        is_won = func.sum(case((col(Record.stage).in_(won), 1), else_=0))
        query = (
            ctx.records(value, func.count(), is_won)
            .group_by(value)
            .order_by(func.count().desc(), value)
        )
    rows = [[v, n, w or 0, share(w or 0, n)] for v, n, w in ctx.session.execute(query).all()]
    title = f"Conversion of {ctx.kind} by {ctx.by}"
    return ReportResult(
        "conversion_by_field", title, [ctx.by, "records", "won", "conversion"], rows
    )


def _conversion_from_index(
    ctx: ReportContext, value: ColumnElement[Any], won: list[str]
) -> Select[Any]:
    """conversion_by_field's query over every live record of a kind, read from indexes.

    The field's ``(kind, value)`` index gives each value's count in value
    order without reading a row or its JSON (from the table, SQLite parses
    every record's ``data`` and sorts them all: over 1 s for a million). The
    archived records are taken off and the won ones counted by reading just
    those rows, found through the core's indexes led by ``kind``.
    """
    of_kind = col(Record.kind) == ctx.kind
    record_id = col(Record.id)
    archived = select(record_id).where(of_kind, col(Record.archived_at).is_not(None))
    won_ids = ctx.records(record_id, kind_index=True).where(col(Record.stage).in_(won))
    zero = literal(0)
    parts = union_all(
        select(value.label("value"), func.count().label("n"), zero.label("won"))
        .where(of_kind)
        .group_by(value),
        select(value, -func.count(), zero).where(record_id.in_(archived)).group_by(value),
        select(value, zero, func.count()).where(record_id.in_(won_ids)).group_by(value),
    ).subquery()
    n = func.sum(parts.c.n)
    return (
        select(parts.c.value, n, func.sum(parts.c.won))
        .group_by(parts.c.value)
        .having(n > 0)
        .order_by(n.desc(), parts.c.value)
    )


def _has_field_index(ctx: ReportContext, name: str) -> bool:
    """True when SQLite keeps the ``(kind, value)`` index of field ``name`` of the kind."""
    if ctx.dialect != "sqlite" or ctx.kind is None:
        return False
    found = ctx.session.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :name"),
        {"name": index_name(ctx.kind, name)},
    )
    return found.first() is not None


def _every_live(ctx: ReportContext) -> bool:
    """True when ``ctx.records()`` keeps every live record of the kind: an admin's, no ``since``.

    Its filter then reads only ``kind`` and ``archived_at``, which the core's
    indexes led by ``kind`` hold, so they can answer without reading a row.
    """
    return ctx.kind is not None and ctx.actor.is_admin and ctx.since is None


def _month(ctx: ReportContext, column: Any) -> ColumnElement[str]:
    if ctx.dialect == "postgresql":  # in UTC, as SQLite stores it, whatever the session's zone
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.substr(column, 1, 7)  # SQLite keeps UTC times as "YYYY-MM-DD HH:MM:SS…"


def customer_growth(ctx: ReportContext) -> ReportResult:
    """New records per month and the running total."""
    rows = []
    total = 0
    for m, n in _new_per_month(ctx):
        total += n
        rows.append([m, n, total])
    return ReportResult("customer_growth", f"Growth of {ctx.kind}", ["month", "new", "total"], rows)


def _new_per_month(ctx: ReportContext) -> list[tuple[str, int]]:
    """The records created in each month (``YYYY-MM``, UTC), in order, months without any left out.

    Grouping by month makes SQLite sort every record: it has no hash
    aggregate. For an admin's report of one kind each month is instead counted
    as a range of the ``(kind, created_at, archived_at)`` index, from the first
    record's month to the last one's, without reading a row.
    """
    created = col(Record.created_at)
    if ctx.kind is None or not ctx.actor.is_admin:
        month = _month(ctx, created)
        query = ctx.records(month, func.count()).group_by(month).order_by(month)
        return [(m, n) for m, n in ctx.session.execute(query)]
    live = partial(ctx.records, kind_index=True)
    bounds = select(
        live(func.min(created)).scalar_subquery(), live(func.max(created)).scalar_subquery()
    )
    first, last = ctx.session.execute(bounds).one()
    if first is None:
        return []
    out = []
    start = first.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while start <= last:
        end = (start + timedelta(days=32)).replace(day=1)
        in_month = live(func.count()).where(created >= start, created < end)
        n = ctx.session.execute(in_month).scalar_one()
        if n:
            out.append((f"{start:%Y-%m}", n))
        start = end
    return out


def follow_up_compliance(ctx: ReportContext) -> ReportResult:
    """Per owner: open records, those without an activity for ``days`` days, and the share kept.

    Idle counts as the workflow's ``days_since: last_activity`` does: from the
    later of the last activity and the moment the owner got the record
    (:func:`crm_core.conditions.idle_since`, written as two comparisons, which
    SQLite answers faster than its scalar ``max()`` over a million rows).
    """
    days = ctx.param_int("days", 7)
    threshold = ctx.now - timedelta(days=days)
    created = col(Record.created_at)
    quiet = and_(
        func.coalesce(col(Record.last_activity_at), created) < threshold,
        func.coalesce(col(Record.assigned_at), created) < threshold,
    )
    # "owner_id + 0" on SQLite: the owner index would fetch each row at random.
    owner = col(Record.owner_id) + 0 if ctx.dialect == "sqlite" else col(Record.owner_id)
    per_record = ctx.records(owner.label("owner"), case((quiet, 1), else_=0).label("idle"))
    per_record = per_record.where(owner.is_not(None), col(Record.stage).is_(None) | ~_closed(ctx))
    if ctx.dialect == "sqlite":
        # A LIMIT (-1: none) keeps SQLite from merging this query into the grouping
        # one, so that it sorts (owner, idle) pairs instead of each record's owner and
        # three timestamps: a sort of 60 MB, spilled to temporary files, took 0.8 s of 1.2.
        per_record = per_record.limit(-1)
    pairs = per_record.subquery()
    query = select(pairs.c.owner, func.count(), func.sum(pairs.c.idle)).group_by(pairs.c.owner)
    rows = [
        [name, n, i or 0, share(n - (i or 0), n)]
        for name, n, i in _by_owner(ctx, ctx.session.execute(query).all(), None)
    ]
    title = (
        f"Follow-up compliance, {ctx.kind or 'all kinds'}: idle means no activity for {days} days"
    )
    columns = [_per(ctx), "open", "idle", "compliant"]
    return ReportResult("follow_up_compliance", title, columns, rows)


def _closed(ctx: ReportContext) -> ColumnElement[bool]:
    """True for a record in a won or lost stage of its kind's workflow (every kind's
    workflow when the report runs over all kinds)."""
    if ctx.kind is not None:
        outcomes = {ctx.kind: ctx.workflow or {}}
    else:
        rows = ctx.session.execute(select(col(WorkflowDef.kind), col(WorkflowDef.definition)))
        outcomes = {kind: definition for kind, definition in rows}
    clauses = []
    for kind, definition in sorted(outcomes.items()):
        ends = [s["id"] for s in definition.get("stages", []) if s.get("outcome")]
        if ends:
            where_kind = col(Record.kind) == kind if ctx.kind is None else None
            in_end = col(Record.stage).in_(ends)
            clauses.append(in_end if where_kind is None else and_(where_kind, in_end))
    return or_(false(), *clauses)


def _json_int(ctx: ReportContext, column: Any, key: str) -> ColumnElement[Any]:
    if ctx.dialect == "postgresql":
        return cast(column.op("->>")(key), Integer)
    return func.json_extract(column, f"$.{key}")


def pool_stats(ctx: ReportContext) -> ReportResult:
    """Per operator: claims and releases they made, returns and rotations taken from them.

    ``--since`` counts the journal from that moment. Operators see their own
    row, managers their team's, admins everyone's.
    """
    limits = [col(Journal.at) >= ctx.since] if ctx.since else []
    if ctx.kind is not None:
        of_kind = select(col(Record.id)).where(col(Record.kind) == ctx.kind)
        limits.append(col(Journal.record_id).in_(of_kind))
    by_actor = ctx.session.execute(
        select(col(Journal.actor_id), col(Journal.action), func.count())
        .where(col(Journal.entity) == "record", col(Journal.action).in_(["claim", "release"]))
        .where(*limits)
        .group_by(col(Journal.actor_id), col(Journal.action))
    ).all()
    former = _json_int(ctx, col(Journal.before), "owner_id")
    from_owner = ctx.session.execute(
        select(former, col(Journal.action), func.count())
        .where(col(Journal.entity) == "record", col(Journal.action).in_(["return", "rotate"]))
        .where(*limits)
        .group_by(former, col(Journal.action))
    ).all()
    actions = ["claim", "release", "return", "rotate"]
    per_user = [
        (int(user_id), *(n if a == action else 0 for a in actions))
        for user_id, action, n in [*by_actor, *from_owner]
        if user_id is not None and _sees_user(ctx.actor, int(user_id))
    ]
    rows = [list(r) for r in _by_owner(ctx, per_user, None)]
    columns = [_per(ctx, "operator"), "claims", "releases", "returned_from", "rotated_from"]
    return ReportResult("pool_stats", "Pool activity per operator", columns, rows)


def _sees_user(actor: permissions.Actor, user_id: int) -> bool:
    return actor.is_admin or user_id in actor.team_user_ids


def repeat_purchase(ctx: ReportContext) -> ReportResult:
    """Customers with a won deal, those with two or more, and the repeat-purchase rate."""
    won_deals = (
        select(col(Deal.record_id), func.count().label("n"))
        .where(col(Deal.stage) == "won", col(Deal.archived_at).is_(None))
        .group_by(col(Deal.record_id))
        .subquery()
    )
    query = ctx.records(func.count(), func.sum(case((won_deals.c.n >= 2, 1), else_=0))).join(
        won_deals, won_deals.c.record_id == col(Record.id)
    )
    buyers, repeat = ctx.session.execute(query).one()
    rows = [[buyers, repeat or 0, share(repeat or 0, buyers)]]
    title = f"Repeat purchase, {ctx.kind or 'all kinds'}"
    return ReportResult("repeat_purchase", title, ["buyers", "repeat_buyers", "rate"], rows)


def satisfaction(ctx: ReportContext) -> ReportResult:
    """Feedback activities per month with their average ``score`` (1 to 5 by convention)."""
    month = _month(ctx, col(Activity.occurred_at))
    score = cast(_json_int(ctx, col(Activity.data), "score"), Float)
    ids = ctx.records(Record.id)
    query = (
        select(month, func.count(), func.avg(score))
        .where(col(Activity.type) == "feedback", col(Activity.record_id).in_(ids))
        .group_by(month)
        .order_by(month)
    )
    if ctx.since is not None:
        query = query.where(col(Activity.occurred_at) >= ctx.since)
    rows = [
        [m, n, round(float(a), 2) if a is not None else None]
        for m, n, a in ctx.session.execute(query).all()
    ]
    title = f"Satisfaction from feedback, {ctx.kind or 'all kinds'}"
    return ReportResult("satisfaction", title, ["month", "feedback", "average_score"], rows)


def retention(ctx: ReportContext) -> ReportResult:
    """Per month: customers with an activity, those also active the month before, and churn."""
    month = _month(ctx, col(Activity.occurred_at))
    ids = ctx.records(Record.id)
    pairs = ctx.session.execute(
        select(month, col(Activity.record_id))
        .where(col(Activity.record_id).in_(ids))
        .group_by(month, col(Activity.record_id))
    ).all()
    active: dict[str, set[int]] = {}
    for m, record_id in pairs:
        active.setdefault(m, set()).add(record_id)
    rows = []
    previous: set[int] | None = None
    for m in _months(min(active), max(active)) if active else []:
        here = active.get(m, set())
        kept = len(here & previous) if previous is not None else None
        churned = len(previous - here) if previous is not None else None
        rate = share(kept, len(previous)) if previous is not None and kept is not None else None
        rows.append([m, len(here), kept, churned, rate])
        previous = here
    columns = ["month", "active", "retained", "churned", "retention"]
    return ReportResult(
        "retention", f"Retention and churn, {ctx.kind or 'all kinds'}", columns, rows
    )


def _months(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM`` from ``first`` to ``last``, months without activity included."""
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while (here := f"{year:04d}-{month:02d}") <= last:
        out.append(here)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def time_in_stage(ctx: ReportContext) -> ReportResult:
    """Average and longest days spent in each stage, from the journal's stage moves."""
    _needs_stages(ctx)
    stage = _json_text(ctx, col(Journal.after), "stage")
    ids = ctx.records(Record.id)
    rows_in = ctx.session.execute(
        select(col(Journal.record_id), col(Journal.at), stage)
        .where(col(Journal.entity) == "record", col(Journal.record_id).in_(ids))
        .where(stage.is_not(None))
        .order_by(col(Journal.record_id), col(Journal.id))
    ).all()
    spent: dict[str, list[float]] = {}
    for i, (record_id, at, here) in enumerate(rows_in):
        nxt = rows_in[i + 1] if i + 1 < len(rows_in) else None
        until = nxt[1] if nxt is not None and nxt[0] == record_id else ctx.now
        spent.setdefault(here, []).append((until - at).total_seconds() / 86400)
    rows = []
    for s in ctx.stage_ids():
        days = spent.get(s, [])
        avg = round(sum(days) / len(days), 2) if days else None
        rows.append([s, len(days), avg, round(max(days), 2) if days else None])
    columns = ["stage", "stays", "average_days", "longest_days"]
    return ReportResult("time_in_stage", f"Time in stage, {ctx.kind}", columns, rows)


def _json_text(ctx: ReportContext, column: Any, key: str) -> ColumnElement[Any]:
    if ctx.dialect == "postgresql":
        return column.op("->>")(key)
    return func.json_extract(column, f"$.{key}")
