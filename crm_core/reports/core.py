"""The reports every CRM gets, whatever its plugins: pipeline, owners, growth, pools, service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, case, cast, func, select
from sqlmodel import col

from crm_core.errors import InvalidInput
from crm_core.models import Activity, Deal, Journal, Record, User
from crm_core.reports.spec import ReportContext, ReportResult, share


def _needs_stages(ctx: ReportContext) -> list[str]:
    stages = ctx.stage_ids()
    if not stages:
        raise InvalidInput(f"no workflow is applied to {ctx.kind}: this report follows its stages")
    return stages


def funnel(ctx: ReportContext) -> ReportResult:
    """Records per stage, how many reached each stage, and stage-to-stage conversion."""
    stages = _needs_stages(ctx)
    lost = set(ctx.outcome_stages("lost"))
    counts = dict(
        ctx.session.execute(
            ctx.records(Record.stage, func.count()).group_by(col(Record.stage))
        ).all()
    )
    pipeline = [s for s in stages if s not in lost]
    # A record in a later pipeline stage has passed through every earlier one.
    reached = {s: sum(counts.get(t, 0) for t in pipeline[i:]) for i, s in enumerate(pipeline)}
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


def win_rate_by_owner(ctx: ReportContext) -> ReportResult:
    """Won, lost and win rate (won of decided) per owner."""
    won, lost = ctx.outcome_stages("won"), ctx.outcome_stages("lost")
    if not won or not lost:
        _needs_stages(ctx)
    is_won = func.sum(case((col(Record.stage).in_(won), 1), else_=0))
    is_lost = func.sum(case((col(Record.stage).in_(lost), 1), else_=0))
    query = (
        ctx.records(User.name, func.count(), is_won, is_lost)
        .outerjoin(User, col(User.id) == col(Record.owner_id))
        .group_by(col(User.name))
        .order_by(col(User.name))
    )
    rows = [
        [owner or "(nobody)", n, w or 0, lo or 0, share(w or 0, (w or 0) + (lo or 0))]
        for owner, n, w, lo in ctx.session.execute(query).all()
    ]
    columns = ["owner", "records", "won", "lost", "win_rate"]
    return ReportResult("win_rate_by_owner", f"Win rate by owner, {ctx.kind}", columns, rows)


def conversion_by_field(ctx: ReportContext) -> ReportResult:
    """Records, won and conversion (won of all) per value of ``--by FIELD``."""
    if not ctx.by:
        raise InvalidInput("conversion_by_field needs --by FIELD")
    won = ctx.outcome_stages("won")
    value = ctx.field(ctx.by)
    is_won = func.sum(case((col(Record.stage).in_(won), 1), else_=0))
    query = ctx.records(value, func.count(), is_won).group_by(value).order_by(func.count().desc())
    rows = [[v, n, w or 0, share(w or 0, n)] for v, n, w in ctx.session.execute(query).all()]
    title = f"Conversion of {ctx.kind} by {ctx.by}"
    return ReportResult(
        "conversion_by_field", title, [ctx.by, "records", "won", "conversion"], rows
    )


def _month(ctx: ReportContext, column: Any) -> ColumnElement[str]:
    if ctx.dialect == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def customer_growth(ctx: ReportContext) -> ReportResult:
    """New records per month and the running total."""
    month = _month(ctx, col(Record.created_at))
    query = ctx.records(month, func.count()).group_by(month).order_by(month)
    rows = []
    total = 0
    for m, n in ctx.session.execute(query).all():
        total += n
        rows.append([m, n, total])
    return ReportResult("customer_growth", f"Growth of {ctx.kind}", ["month", "new", "total"], rows)


def follow_up_compliance(ctx: ReportContext) -> ReportResult:
    """Per owner: open records, those without an activity for ``days`` days, and the share kept."""
    days = ctx.param_int("days", 7)
    closed = ctx.outcome_stages("won") + ctx.outcome_stages("lost")
    threshold = ctx.now - timedelta(days=days)
    last = func.coalesce(col(Record.last_activity_at), col(Record.created_at))
    idle = func.sum(case((last < threshold, 1), else_=0))
    query = (
        ctx.records(User.name, func.count(), idle)
        .join(User, col(User.id) == col(Record.owner_id))
        .where(col(Record.stage).is_(None) | col(Record.stage).not_in(closed))
        .group_by(col(User.name))
        .order_by(col(User.name))
    )
    rows = [
        [owner, n, i or 0, share(n - (i or 0), n)]
        for owner, n, i in ctx.session.execute(query).all()
    ]
    title = (
        f"Follow-up compliance, {ctx.kind or 'all kinds'}: idle means no activity for {days} days"
    )
    return ReportResult("follow_up_compliance", title, ["owner", "open", "idle", "compliant"], rows)


def _json_int(ctx: ReportContext, column: Any, key: str) -> ColumnElement[Any]:
    if ctx.dialect == "postgresql":
        return cast(column.op("->>")(key), Integer)
    return func.json_extract(column, f"$.{key}")


def pool_stats(ctx: ReportContext) -> ReportResult:
    """Per operator: claims and releases they made, returns and rotations taken from them."""
    since = [col(Journal.at) >= ctx.since] if ctx.since else []
    by_actor = ctx.session.execute(
        select(col(Journal.actor_id), col(Journal.action), func.count())
        .where(col(Journal.entity) == "record", col(Journal.action).in_(["claim", "release"]))
        .where(*since)
        .group_by(col(Journal.actor_id), col(Journal.action))
    ).all()
    former = _json_int(ctx, col(Journal.before), "owner_id")
    from_owner = ctx.session.execute(
        select(former, col(Journal.action), func.count())
        .where(col(Journal.entity) == "record", col(Journal.action).in_(["return", "rotate"]))
        .where(*since)
        .group_by(former, col(Journal.action))
    ).all()
    names: dict[int, str] = {
        i: n for i, n in ctx.session.execute(select(col(User.id), col(User.name)))
    }
    table: dict[str, dict[str, int]] = {}
    for user_id, action, n in [*by_actor, *from_owner]:
        if user_id is None:
            continue
        row = table.setdefault(names.get(int(user_id), f"#{user_id}"), {})
        row[action] = row.get(action, 0) + n
    actions = ["claim", "release", "return", "rotate"]
    rows = [[name, *(counts.get(a, 0) for a in actions)] for name, counts in sorted(table.items())]
    columns = ["operator", "claims", "releases", "returned_from", "rotated_from"]
    return ReportResult("pool_stats", "Pool activity per operator", columns, rows)


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
    for m in sorted(active):
        here = active[m]
        kept = len(here & previous) if previous is not None else None
        churned = len(previous - here) if previous is not None else None
        rate = share(kept, len(previous)) if previous is not None and kept is not None else None
        rows.append([m, len(here), kept, churned, rate])
        previous = here
    columns = ["month", "active", "retained", "churned", "retention"]
    return ReportResult(
        "retention", f"Retention and churn, {ctx.kind or 'all kinds'}", columns, rows
    )


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
