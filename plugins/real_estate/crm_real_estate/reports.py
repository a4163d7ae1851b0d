"""Real-estate reports: the buyer funnel, viewing to signing, complaints, member growth.

Every report runs as a few SQL statements over ``ctx.records(...)`` (so it
counts only the buyers the acting user may see, live ones, created since
``--since`` when given) and the core's ``activity`` and ``journal`` tables.
They always report on the kind ``buyer``: ``--kind`` may be left out or given
as ``buyer``. The stage order is the applied ``buyer`` workflow's
(``workflows/real_estate.yaml``), or the default pipeline below when none is
applied.

**Where a lost buyer got to.** A buyer in a lost stage (流失) reached the stage
it was lost from: the ``before`` stage of its last journalled move into a lost
stage. The funnel and the viewing-to-signing report count it as having reached
that stage, so a buyer who signed and then cancelled still counts as signed.

**Complaint convention.** A ``complaint`` activity (投诉) is resolved by the
first ``complaint_resolved`` activity logged on the same buyer at or after it;
its resolution time is the time between the two. One resolution closes every
complaint of that buyer still open before it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Float, case, cast, func, literal, select

from crm_core.api import InvalidInput, ReportContext, ReportResult
from crm_core.i18n import _

KIND = "buyer"
DEFAULT_PIPELINE = ["prospect", "intent", "qualified", "signed", "future_owner", "owner", "member"]
DEFAULT_LOST = ["lost"]
SIGNED = "signed"
MEMBER = "member"
COMPLAINT = "complaint"
RESOLVED = "complaint_resolved"
VIEWING = "viewing"


# -- helpers ------------------------------------------------------------------------


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: Any) -> float | None:
    return round(float(value), 2) if value is not None else None


def _check_kind(ctx: ReportContext, name: str) -> None:
    if ctx.kind not in (None, KIND):
        raise InvalidInput(
            _(
                "{name} reports on buyers: leave out --kind or give --kind {kind}",
                name=name,
                kind=KIND,
            )
        )


def _stages(ctx: ReportContext) -> tuple[list[str], list[str], str]:
    """The buyer pipeline (stages that are not lost), the lost stages, and the first
    stage that counts as signed (the first ``won`` stage; ``signed`` by default)."""
    definition = ctx.workflow if ctx.kind == KIND else None
    if definition is None:
        wf = ctx.tables.workflow
        query = select(wf.c.definition).where(wf.c.kind == KIND)
        definition = ctx.session.execute(query).scalar_one_or_none()
    if not definition:
        return DEFAULT_PIPELINE, DEFAULT_LOST, SIGNED
    stages = definition["stages"]
    lost = [s["id"] for s in stages if s.get("outcome") == "lost"]
    pipeline = [s["id"] for s in stages if s["id"] not in lost]
    won = [s["id"] for s in stages if s.get("outcome") == "won"]
    signed = SIGNED if SIGNED in pipeline else (won[0] if won else pipeline[-1])
    return pipeline, lost, signed


def _buyers(ctx: ReportContext, *columns: Any) -> Any:
    """``ctx.records(columns)`` limited to buyers."""
    return ctx.records(*columns).where(ctx.tables.record.c.kind == KIND)


def _json_text(ctx: ReportContext, column: Any, key: str) -> Any:
    if ctx.dialect == "postgresql":
        return column.op("->>")(literal(key))
    return func.json_extract(column, f"$.{key}")


def _month(ctx: ReportContext, column: Any) -> Any:
    if ctx.dialect == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _hours(ctx: ReportContext, later: Any, earlier: Any) -> Any:
    if ctx.dialect == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _reached(ctx: ReportContext, lost: list[str]) -> Any:
    """The furthest stage each buyer reached: its stage, or for a lost buyer the stage it
    was lost from (the ``before`` of its last journalled move into a lost stage).

    A correlated subquery, read for lost buyers only, through the journal's
    ``(record_id, id)`` index: no scan of the journal however big it is.
    """
    r, j = ctx.tables.record, ctx.tables.journal
    lost_from = (
        select(_json_text(ctx, j.c.before, "stage"))
        .where(j.c.record_id == r.c.id, j.c.entity == "record", j.c.action == "move")
        .where(_json_text(ctx, j.c.after, "stage").in_(lost))
        .order_by(j.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return case((r.c.stage.in_(lost), func.coalesce(lost_from, r.c.stage)), else_=r.c.stage)


# -- reports ------------------------------------------------------------------------


def re_funnel(ctx: ReportContext) -> ReportResult:
    """Buyer funnel: per stage, buyers there now, lost there, reached, conversion.

    ``records`` is the buyers in the stage now; ``lost_here`` those lost from
    it; ``reached`` those now in it or a later stage, or lost from it or a later
    stage; ``conversion`` is ``reached`` over the previous stage's ``reached``.
    Lost stages are listed last with their counts. A note gives the overall
    conversion from the first stage to the last (prospect → member).
    """
    _check_kind(ctx, "re_funnel")
    pipeline, lost, _signed = _stages(ctx)
    r = ctx.tables.record
    furthest = _reached(ctx, lost)
    query = _buyers(ctx, r.c.stage, furthest, func.count()).group_by(r.c.stage, furthest)
    now: dict[str, int] = {}
    lost_here: dict[str, int] = {}
    got_to: dict[str, int] = {}
    for stage, far, n in ctx.session.execute(query).all():
        now[stage] = now.get(stage, 0) + n
        got_to[far] = got_to.get(far, 0) + n
        if stage in lost:
            lost_here[far] = lost_here.get(far, 0) + n
    rows: list[list[Any]] = []
    previous: int | None = None
    for i, stage in enumerate(pipeline):
        reached = sum(got_to.get(s, 0) for s in pipeline[i:])
        conversion = _share(reached, previous) if previous is not None else None
        rows.append([stage, now.get(stage, 0), lost_here.get(stage, 0), reached, conversion])
        previous = reached
    for stage in lost:
        rows.append([stage, now.get(stage, 0), None, None, None])
    first = rows[0][3] if rows else 0
    last = rows[len(pipeline) - 1][3] if pipeline else 0
    overall = _share(last, first)
    notes: list[str] = []
    if pipeline:
        notes.append(
            _("{first_stage} → {last_stage}: {last} of {first} ({overall})",
              first_stage=pipeline[0], last_stage=pipeline[-1], last=last, first=first,
              overall=overall)
        )  # fmt: skip
    columns = ["stage", "records", "lost_here", "reached", "conversion"]
    return ReportResult("re_funnel", "Buyer funnel (购房客户漏斗)", columns, rows, notes)


def re_viewing_to_signing(ctx: ReportContext) -> ReportResult:
    """Viewing to signing: buyers with a viewing (带看) and how many of them signed.

    ``buyers`` counts all buyers; ``viewed`` those with at least one
    ``viewing`` activity; ``signed`` the viewed buyers that reached ``signed``
    or a later stage (a buyer lost after signing counts); ``conversion`` is
    signed over viewed; ``viewings_per_signing`` the average number of
    viewings a signed buyer had. ``--by FIELD`` (e.g. ``district``) gives a
    row per value; without it there is one row, ``all``.
    """
    _check_kind(ctx, "re_viewing_to_signing")
    pipeline, lost, signed_stage = _stages(ctx)
    signed_or_later = pipeline[pipeline.index(signed_stage) :]
    r, a = ctx.tables.record, ctx.tables.activity
    viewings = (
        select(a.c.record_id, func.count().label("n"))
        .where(a.c.type == VIEWING)
        .group_by(a.c.record_id)
        .subquery("viewings")
    )
    furthest = _reached(ctx, lost)
    group = ctx.field(ctx.by) if ctx.by else literal("all")
    signed = furthest.in_(signed_or_later) & viewings.c.n.is_not(None)
    query = (
        _buyers(
            ctx,
            group,
            func.count(),
            func.count(viewings.c.n),
            func.sum(case((signed, 1), else_=0)),
            func.sum(case((signed, viewings.c.n), else_=0)),
        )
        .outerjoin(viewings, viewings.c.record_id == r.c.id)
        .group_by(group)
        .order_by(group)
    )
    rows = []
    for value, n, viewed, signed_sum, seen_sum in ctx.session.execute(query).all():
        # SUM is NUMERIC on PostgreSQL: whole numbers come back as int, not Decimal.
        signed_n, seen = int(signed_sum or 0), int(seen_sum or 0)
        per_signing = round(seen / signed_n, 2) if signed_n else None
        rows.append([value, n, viewed, signed_n, _share(signed_n, viewed), per_signing])
    if not rows and not ctx.by:
        rows = [["all", 0, 0, 0, None, None]]
    columns = [ctx.by or "group", "buyers", "viewed", "signed", "conversion",
               "viewings_per_signing"]  # fmt: skip
    return ReportResult("re_viewing_to_signing", "Viewing to signing (带看转签约)", columns, rows)


def re_complaints(ctx: ReportContext) -> ReportResult:
    """Complaints (投诉) per month: how many, resolved, open, average and longest hours.

    A ``complaint`` activity is resolved by the first ``complaint_resolved``
    activity on the same buyer at or after it; the hours between the two are
    its resolution time. Months are those the complaints were made in; a last
    row, ``all``, sums every month.
    """
    _check_kind(ctx, "re_complaints")
    r, a = ctx.tables.record, ctx.tables.activity
    complaint, fix = a.alias("complaint"), a.alias("fix")
    resolved_at = (
        select(func.min(fix.c.occurred_at))
        .where(
            fix.c.record_id == complaint.c.record_id,
            fix.c.type == RESOLVED,
            fix.c.occurred_at >= complaint.c.occurred_at,
        )
        .scalar_subquery()
    )
    made = complaint.c.occurred_at
    each = (
        select(
            _month(ctx, made).label("month"),
            cast(_hours(ctx, resolved_at, made), Float).label("hours"),
        )
        .where(complaint.c.type == COMPLAINT, complaint.c.record_id.in_(_buyers(ctx, r.c.id)))
        # Materialised, so each complaint's resolution is looked up once, not per aggregate.
        .cte("each")
        .prefix_with("MATERIALIZED")
    )
    by_month = (
        select(each.c.month, func.count(), func.count(each.c.hours), func.avg(each.c.hours),
               func.max(each.c.hours))
        .group_by(each.c.month)
        .order_by(each.c.month)
    )  # fmt: skip
    rows = []
    n_all = done_all = 0
    hours_all = 0.0
    longest_all: float | None = None
    for month, n, done, avg, longest in ctx.session.execute(by_month).all():
        rows.append([month, n, done, n - done, _share(done, n), _round(avg), _round(longest)])
        n_all, done_all = n_all + n, done_all + done
        hours_all += float(avg) * done if avg is not None else 0.0
        if longest is not None:
            longest_all = max(float(longest), longest_all or 0.0)
    average_all = hours_all / done_all if done_all else None
    rows.append(["all", n_all, done_all, n_all - done_all, _share(done_all, n_all),
                 _round(average_all), _round(longest_all)])  # fmt: skip
    columns = ["month", "complaints", "resolved", "open", "resolution_rate", "average_hours",
               "longest_hours"]  # fmt: skip
    return ReportResult("re_complaints", "Complaint resolution (投诉处理)", columns, rows)


def re_member_growth(ctx: ReportContext) -> ReportResult:
    """Member growth (会员增长): buyers who became members per month, and the running total.

    A buyer in the last pipeline stage (``member``) counts in the month it
    entered that stage (``stage_entered_at``), read from the stage index.
    """
    _check_kind(ctx, "re_member_growth")
    pipeline, _lost, _signed = _stages(ctx)
    member = MEMBER if MEMBER in pipeline else pipeline[-1]
    r = ctx.tables.record
    month = _month(ctx, r.c.stage_entered_at)
    query = (
        _buyers(ctx, month, func.count()).where(r.c.stage == member).group_by(month).order_by(month)
    )
    rows = []
    total = 0
    for m, n in ctx.session.execute(query).all():
        total += n
        rows.append([m, n, total])
    columns = ["month", "new_members", "members"]
    return ReportResult("re_member_growth", "Member growth (会员增长)", columns, rows)


REPORTS: list[tuple[Callable[[ReportContext], ReportResult], str, str]] = [
    (re_funnel, "Buyer funnel", "购房客户漏斗"),
    (re_viewing_to_signing, "Viewing to signing", "带看转签约"),
    (re_complaints, "Complaint resolution", "投诉处理时效"),
    (re_member_growth, "Member growth", "会员增长"),
]
