"""The b2b reports: pipeline, win rate, revenue, Pareto (ABC), forecast, Kotler relationship.

Every report counts the live deals (opportunities) of the accounts the
acting user may see (``ctx.records``), in SQL, grouped in the database; only
the grouped rows come back to Python. Conventions:

- A deal is *won* when its stage is ``won``, *lost* when it is ``lost``
  (lower case, as the core decides it: ``ctx.deal_won()``), and *open*
  otherwise (``open``, or a pipeline stage name such as ``proposal``).
- A deal counts when the user may see it: by its own owner, else by its
  account (the core's permission table), and is credited to that owner.
- Money is summed exactly as integers of minor units and shown in major units
  as strings with two decimals (``"1234.50"``); weighted amounts are rounded
  half up to the cent. A report sums one currency: ``--param currency=USD``,
  or the only currency the deals use (several without the parameter: refused).
- A deal's probability is that of its own stage when the deal's stage names a
  stage of the account workflow, else that of its account's stage.
- Without ``--kind`` the reports run over ``account`` records.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select

from crm_core.api import InvalidInput, ReportContext, ReportResult
from crm_core.i18n import _

ACCOUNT = "account"
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
CENT = Decimal("0.01")
NONE = "(none)"


# -- helpers ------------------------------------------------------------------


def money(minor: int | Decimal | None) -> str:
    """Minor units (cents, fen) as major units with two decimals, e.g. ``123450 -> "1234.50"``."""
    value = Decimal(minor or 0) / 100
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def share(part: int | Decimal, whole: int | Decimal) -> float | None:
    """``part / whole`` rounded to 4 places, or None when ``whole`` is 0."""
    return round(float(Decimal(part) / Decimal(whole)), 4) if whole else None


def _kind(ctx: ReportContext) -> str:
    return ctx.kind or ACCOUNT


def _records(ctx: ReportContext, *columns: Any) -> Select[Any]:
    query = ctx.records(*columns)
    if ctx.kind is None:
        query = query.where(ctx.tables.record.c.kind == ACCOUNT)
    return query


def _workflow(ctx: ReportContext) -> dict[str, Any] | None:
    if ctx.kind is not None:
        return ctx.workflow
    wf = ctx.tables.workflow
    found = ctx.session.execute(select(wf.c.definition).where(wf.c.kind == ACCOUNT)).first()
    return dict(found[0]) if found else None


def _probabilities(ctx: ReportContext) -> dict[str, Decimal]:
    workflow = _workflow(ctx)
    if workflow is None:
        raise InvalidInput(
            _(
                "no workflow is applied to {value}: this report weighs deals by its stages' "
                "probabilities (crm workflow apply workflows/b2b_sales.yaml)",
                value=_kind(ctx),
            )
        )
    return {
        s["id"]: Decimal(str(s["probability"]))
        for s in workflow["stages"]
        if s.get("probability") is not None
    }


def _stage_order(ctx: ReportContext) -> list[str]:
    return [s["id"] for s in (_workflow(ctx) or {}).get("stages", [])]


def _deal_stage(ctx: ReportContext) -> ColumnElement[str]:
    return ctx.tables.deal.c.stage


def _deals(ctx: ReportContext, *columns: Any, currency: str | None = None) -> Select[Any]:
    """``SELECT columns`` over the live deals the user may count (of one currency).

    A deal counts by its own owner's relation to the user, else by its account's.
    """
    deal, record = ctx.tables.deal, ctx.tables.record
    query = ctx.deals(*columns)
    if ctx.kind is None:
        query = query.where(record.c.kind == ACCOUNT)
    if currency is not None:
        query = query.where(deal.c.currency == currency)
    return query


def _currency(ctx: ReportContext) -> str:
    wanted = ctx.params.get("currency")
    if wanted is not None:
        if len(wanted) != 3 or not wanted.isalpha():
            raise InvalidInput(
                _("--param currency: {wanted!r} is not a three-letter code", wanted=wanted)
            )
        return wanted.upper()
    deal = ctx.tables.deal
    found = sorted(ctx.session.execute(_deals(ctx, deal.c.currency).distinct()).scalars())
    if len(found) > 1:
        raise InvalidInput(
            _(
                "the deals use several currencies ({names}): choose one with --param currency=CODE",
                names=", ".join(found),
            )
        )
    return found[0] if found else "CNY"


def _month(ctx: ReportContext, column: Any) -> ColumnElement[str]:
    if ctx.dialect == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _weigh(
    probabilities: dict[str, Decimal], account_stage: str | None, deal_stage: str, amount: int
) -> Decimal | None:
    p = probabilities.get(deal_stage)
    if p is None and account_stage is not None:
        p = probabilities.get(account_stage)
    return None if p is None else Decimal(amount) * p


def _ordered(keys: set[str], order: list[str]) -> list[str]:
    first = [k for k in order if k in keys]
    return (
        first
        + sorted(k for k in keys if k not in order and k != NONE)
        + ([NONE] if NONE in keys else [])
    )


# -- the reports --------------------------------------------------------------


PIPELINE_GROUPS = ("account_stage", "deal_stage", "owner", "team")


def _user_labels(ctx: ReportContext, group: str) -> dict[int, str]:
    """User id to the user's name (``owner``) or their team's name (``team``)."""
    user, team = ctx.tables.user, ctx.tables.team
    label = team.c.name if group == "team" else user.c.name
    query = select(user.c.id, label).outerjoin(team, team.c.id == user.c.team_id)
    return {i: name for i, name in ctx.session.execute(query).all() if name is not None}


def b2b_pipeline(ctx: ReportContext) -> ReportResult:
    """Open deals per account stage (or ``--param group=`` deal_stage, owner or team, the
    deal's owner's): count, amount, weighted."""
    group = ctx.params.get("group", "account_stage")
    if group not in PIPELINE_GROUPS:
        raise InvalidInput(
            _("--param group must be one of {names}", names=", ".join(PIPELINE_GROUPS))
        )
    probabilities = _probabilities(ctx)
    currency = _currency(ctx)
    deal, record = ctx.tables.deal, ctx.tables.record
    stage = _deal_stage(ctx)
    owner = ctx.deal_owner()
    query = (
        _deals(
            ctx,
            record.c.stage,
            stage,
            owner,
            func.count(),
            func.sum(deal.c.amount_minor),
            currency=currency,
        )
        .where(ctx.deal_open())
        .group_by(record.c.stage, stage, owner)
    )
    labels = _user_labels(ctx, group) if group in ("owner", "team") else {}
    totals: dict[str, list[Any]] = {}
    unweighted = 0
    for account_stage, deal_stage, owner_id, n, amount in ctx.session.execute(query).all():
        if labels:
            key = labels.get(owner_id) or NONE
        else:
            key = (account_stage if group == "account_stage" else deal_stage) or NONE
        row = totals.setdefault(key, [0, 0, Decimal(0)])
        weighted = _weigh(probabilities, account_stage, deal_stage, int(amount or 0))
        row[0] += n
        row[1] += int(amount or 0)
        if weighted is None:
            unweighted += n
        else:
            row[2] += weighted
    rows = [
        [key, totals[key][0], money(totals[key][1]), money(totals[key][2])]
        for key in _ordered(set(totals), _stage_order(ctx))
    ]
    all_n = sum(r[0] for r in totals.values())
    all_amount = sum(r[1] for r in totals.values())
    all_weighted = sum((r[2] for r in totals.values()), Decimal(0))
    notes: list[str] = [
        _("amounts in {currency}; total: {n} open deals, {amount}, weighted {weighted}",
          currency=currency, n=all_n, amount=money(all_amount), weighted=money(all_weighted))
    ]  # fmt: skip
    if unweighted:
        notes.append(_("{n} deal(s) without a stage probability weigh 0", n=unweighted))
    title = f"Open pipeline of {_kind(ctx)} by {group.replace('_', ' ')}"
    return ReportResult("b2b_pipeline", title, [group, "deals", "amount", "weighted"], rows, notes)


def b2b_revenue_by_region(ctx: ReportContext) -> ReportResult:
    """Won amount per account region: accounts, won deals, revenue and share of the total."""
    currency = _currency(ctx)
    deal, record = ctx.tables.deal, ctx.tables.record
    region = ctx.field("region")
    query = (
        _deals(
            ctx,
            region,
            func.count(func.distinct(record.c.id)),
            func.count(),
            func.sum(deal.c.amount_minor),
            currency=currency,
        )
        .where(ctx.deal_won())
        .group_by(region)
    )
    found = [(r, a, n, int(s or 0)) for r, a, n, s in ctx.session.execute(query).all()]
    total = sum(s for *_rest, s in found)
    found.sort(key=lambda row: (-row[3], row[0] is None, str(row[0])))
    rows = [[r if r is not None else NONE, a, n, money(s), share(s, total)] for r, a, n, s in found]
    columns = ["region", "accounts", "won_deals", "revenue", "share"]
    notes = [f"amounts in {currency}; total revenue {money(total)}"]
    title = f"Won revenue by region, {_kind(ctx)}"
    return ReportResult("b2b_revenue_by_region", title, columns, rows, notes)


PARETO_CLASSES = (("A", 80), ("B", 95))
"""Cumulative-share bounds: A until 80 % of revenue is reached, B until 95 %, then C."""


def b2b_pareto(ctx: ReportContext) -> ReportResult:
    """ABC classes (80/20, 黄金客户) from won revenue per account; ``--param class=A`` lists them.

    Accounts are ranked by won revenue (highest first, then by id). An account
    is in A when the accounts ranked before it make less than 80 % of all won
    revenue (so the account that crosses 80 % is in A), in B below 95 %, else
    in C. Accounts without won revenue are counted in ``none``.
    """
    currency = _currency(ctx)
    deal, record = ctx.tables.deal, ctx.tables.record
    revenue = func.coalesce(func.sum(deal.c.amount_minor), 0)
    won_deals = and_(
        deal.c.record_id == record.c.id,
        deal.c.archived_at.is_(None),
        deal.c.currency == currency,
        ctx.deal_won(),
    )
    per_account = (
        _records(
            ctx, record.c.id.label("id"), record.c.title.label("title"), revenue.label("revenue")
        )
        .outerjoin(deal, won_deals)
        .group_by(record.c.id, record.c.title)
        .subquery()
    )
    running = func.sum(per_account.c.revenue).over(
        order_by=(per_account.c.revenue.desc(), per_account.c.id)
    )
    total = func.sum(per_account.c.revenue).over()
    before = running - per_account.c.revenue
    klass = case(
        (per_account.c.revenue <= 0, literal("none")),
        *[(before * 100 < total * bound, literal(name)) for name, bound in PARETO_CLASSES],
        else_=literal("C"),
    )
    ranked = select(
        per_account.c.id, per_account.c.title, per_account.c.revenue,
        running.label("running"), total.label("total"), klass.label("class"),
    ).subquery()  # fmt: skip
    wanted = ctx.params.get("class")
    if wanted is not None:
        if wanted not in ("A", "B", "C", "none"):
            raise InvalidInput(_("--param class must be A, B, C or none"))
        query = (
            select(ranked.c.id, ranked.c.title, ranked.c.revenue, ranked.c.running, ranked.c.total)
            .where(ranked.c["class"] == wanted)
            .order_by(ranked.c.revenue.desc(), ranked.c.id)
        )
        rows = [
            [i, t, money(r), share(run, tot)]
            for i, t, r, run, tot in ctx.session.execute(query).all()
        ]
        title = f"Class {wanted} accounts by won revenue, {_kind(ctx)}"
        columns = ["account_id", "account", "revenue", "cumulative_share"]
        return ReportResult("b2b_pareto", title, columns, rows, [f"amounts in {currency}"])
    query = select(ranked.c["class"], func.count(), func.sum(ranked.c.revenue)).group_by(
        ranked.c["class"]
    )
    found = {k: (n, int(s or 0)) for k, n, s in ctx.session.execute(query).all()}
    grand = sum(s for _n, s in found.values())
    rows = []
    for name in ("A", "B", "C", "none"):
        n, s = found.get(name, (0, 0))
        rows.append([name, n, money(s), share(s, grand)])
    notes = [f"amounts in {currency}; A: first {PARETO_CLASSES[0][1]}% of won revenue, "
             f"B: up to {PARETO_CLASSES[1][1]}%, C: the rest"]  # fmt: skip
    title = f"Pareto (ABC) of {_kind(ctx)} by won revenue"
    return ReportResult("b2b_pareto", title, ["class", "accounts", "revenue", "share"], rows, notes)


def b2b_forecast(ctx: ReportContext) -> ReportResult:
    """Open deals by expected close month: count, amount and amount × stage probability."""
    probabilities = _probabilities(ctx)
    currency = _currency(ctx)
    deal, record = ctx.tables.deal, ctx.tables.record
    month = _month(ctx, deal.c.expected_close)
    stage = _deal_stage(ctx)
    query = (
        _deals(
            ctx,
            month,
            record.c.stage,
            stage,
            func.count(),
            func.sum(deal.c.amount_minor),
            currency=currency,
        )
        .where(ctx.deal_open())
        .group_by(month, record.c.stage, stage)
    )
    totals: dict[str, list[Any]] = {}
    for m, account_stage, deal_stage, n, amount in ctx.session.execute(query).all():
        row = totals.setdefault(m or NONE, [0, 0, Decimal(0)])
        row[0] += n
        row[1] += int(amount or 0)
        row[2] += _weigh(probabilities, account_stage, deal_stage, int(amount or 0)) or 0
    rows = [
        [m, totals[m][0], money(totals[m][1]), money(totals[m][2])]
        for m in _ordered(set(totals), [])
    ]
    title = f"Forecast of open deals by expected close month, {_kind(ctx)}"
    notes = [f"amounts in {currency}; {NONE}: deals without an expected close date"]
    return ReportResult(
        "b2b_forecast", title, ["month", "deals", "amount", "weighted"], rows, notes
    )


# -- Kotler's relationship levels ---------------------------------------------------

KOTLER_LEVELS: dict[tuple[str, str], str] = {
    # (number of customers, margin level): relationship level
    ("many", "high"): "accountable",
    ("many", "medium"): "reactive",
    ("many", "low"): "basic",
    ("medium", "high"): "proactive",
    ("medium", "medium"): "accountable",
    ("medium", "low"): "reactive",
    ("few", "high"): "partnership",
    ("few", "medium"): "proactive",
    ("few", "low"): "accountable",
}
"""Kotler's table of relationship levels by number of customers and margin.

Philip Kotler, *Marketing Management* (chapter on customer relationships):
a company picks one of five levels of relationship with its customers,
basic (基本型), reactive (被动型), accountable (负责型), proactive (能动型) and
partnership (伙伴型), from how many customers it has and the margin they
bring. Rows are the number of customers, columns the margin, from high to low::

                    high margin    medium margin   low margin
    many customers  accountable    reactive        basic (or reactive)
    medium number   proactive      accountable     reactive
    few customers   partnership    proactive       accountable

The same grid is figure 2-3 of 王广宇《客户关系管理》, lecture 3 (in
``shared/seeds``): "few customers and a high margin call for a partnership;
a very low margin and a huge number of customers for a basic relationship,
or after-sales service costs make the customer a loss".
"""


def b2b_relationship(ctx: ReportContext) -> ReportResult:
    """Kotler's recommended relationship level per account, from margin × number of customers.

    The number of customers is the count of live accounts that share the
    account's ``--param segment=FIELD`` (default ``type``: end customers are
    many, distributors few), over all accounts, not only those the user sees:
    ``many`` from ``--param many=N`` (default 50), ``few`` up to ``--param
    few=N`` (default 10). The margin is the ``margin`` field: ``high`` from
    ``--param margin_high=X`` (default 0.35), ``low`` below ``--param
    margin_low=X`` (default 0.15). ``--param summary=1`` counts accounts per
    level. Accounts without a margin get no level. See :data:`KOTLER_LEVELS`.
    """
    segment_field = ctx.params.get("segment", "type")
    many, few = ctx.param_int("many", 50), ctx.param_int("few", 10)
    if not FIELD_NAME.match(segment_field):
        raise InvalidInput(
            _("--param segment: {segment_field!r} is not a field name", segment_field=segment_field)
        )
    high = _param_fraction(ctx, "margin_high", 0.35)
    low = _param_fraction(ctx, "margin_low", 0.15)
    if few >= many or low > high:
        raise InvalidInput(_("need few < many and margin_low <= margin_high"))
    record = ctx.tables.record
    segment = func.coalesce(ctx.field(segment_field), "")
    sizes = (
        select(segment.label("segment"), func.count().label("n"))
        .where(record.c.kind == _kind(ctx), record.c.archived_at.is_(None))
        .group_by(segment)
        .subquery()
    )
    margin = ctx.number("margin")
    margin_level = case(
        (margin >= high, literal("high")), (margin < low, literal("low")),
        (margin.is_not(None), literal("medium")),
    )  # fmt: skip
    count_level = case(
        (sizes.c.n >= many, literal("many")), (sizes.c.n <= few, literal("few")),
        else_=literal("medium"),
    )  # fmt: skip
    level = case(
        *[
            (and_(count_level == n, margin_level == m), literal(name))
            for (n, m), name in KOTLER_LEVELS.items()
        ]
    )
    base = _records(ctx).outerjoin(sizes, sizes.c.segment == segment)
    if ctx.params.get("summary") in ("1", "true", "yes"):
        query = base.add_columns(level, func.count()).group_by(level)
        found = dict(ctx.session.execute(query).all())
        order = ["basic", "reactive", "accountable", "proactive", "partnership"]
        rows = [[name, found.get(name, 0)] for name in order]
        rows.append(["(no margin)", found.get(None, 0)])
        title = f"Kotler relationship levels of {_kind(ctx)}"
        return ReportResult("b2b_relationship", title, ["relationship", "accounts"], rows)
    query = base.add_columns(
        record.c.id, record.c.title, ctx.field(segment_field), sizes.c.n, margin,
        margin_level, count_level, level,
    ).order_by(record.c.id)  # fmt: skip
    rows = [
        [i, t, s, n, float(m) if m is not None else None, ml, cl, lv]
        for i, t, s, n, m, ml, cl, lv in ctx.session.execute(query).all()
    ]
    columns = ["account_id", "account", segment_field, "customers_in_segment", "margin",
               "margin_level", "customers", "relationship"]  # fmt: skip
    notes = [f"customers: many >= {many}, few <= {few} per {segment_field}; "
             f"margin: high >= {high}, low < {low}"]  # fmt: skip
    title = f"Kotler relationship level per {_kind(ctx)}"
    return ReportResult("b2b_relationship", title, columns, rows, notes)


def _param_fraction(ctx: ReportContext, name: str, default: float) -> float:
    raw = ctx.params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(
            _("--param {name}: {raw!r} is not a number", name=name, raw=raw)
        ) from None
    if not 0 <= value <= 1:
        raise InvalidInput(_("--param {name}: {raw!r} is not between 0 and 1", name=name, raw=raw))
    return value


REPORTS: list[tuple[Callable[[ReportContext], ReportResult], str]] = [
    (b2b_pipeline, "B2B 商机管道"),
    (b2b_revenue_by_region, "B2B 地区收入"),
    (b2b_pareto, "B2B 帕累托/ABC 客户分级"),
    (b2b_forecast, "B2B 月度预测"),
    (b2b_relationship, "B2B 科特勒关系层次"),
]
