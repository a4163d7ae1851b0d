"""The lead reports: conversion by source, the referral leaderboard, aging and scores.

Written against the public report context only (``crm_core.api.ReportContext``):
``ctx.records`` for the leads the reader may see, ``ctx.field``/``ctx.number``
for custom fields, ``ctx.tables`` for activities.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, literal, select

from crm_core.api import ReportContext, ReportResult

SOURCE_POINTS = {"referral": 30, "event": 20, "lucky_draw": 20, "market_survey": 15, "web": 10,
                 "ad": 5}  # fmt: skip
BUDGET_POINTS = [(100_000, 40), (10_000, 25)]  # budget at least this much: these points
SOME_BUDGET_POINTS = 10  # any other budget above 0
TOUCH_POINTS, MAX_TOUCHES = 6, 5  # per activity, counting up to this many
AGE_BUCKETS = [(0, 7), (8, 30), (31, 90), (91, None)]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _outcomes(ctx: ReportContext) -> tuple[list[str], list[str]]:
    return ctx.outcome_stages("won"), ctx.outcome_stages("lost")


def conversion_by_source(ctx: ReportContext) -> ReportResult:
    """Per source: leads, converted (won or converted to a customer), disqualified, rate."""
    won, lost = _outcomes(ctx)
    record = ctx.tables.record
    source = ctx.field("source")
    converted = func.sum(
        case((record.c.stage.in_(won) | ctx.field("converted_to").is_not(None), 1), else_=0)
    )
    dropped = func.sum(case((record.c.stage.in_(lost), 1), else_=0))
    query = ctx.records(source, func.count(), converted, dropped).group_by(source).order_by(source)
    rows = [[s, n, c or 0, d or 0, _share(c or 0, n)] for s, n, c, d in ctx.session.execute(query)]
    columns = ["source", "leads", "converted", "disqualified", "conversion"]
    return ReportResult("lead_conversion_by_source", "Lead conversion by source", columns, rows)


def referrals(ctx: ReportContext) -> ReportResult:
    """The referral leaderboard (转介绍): who referred most leads, and how many converted."""
    won, _lost = _outcomes(ctx)
    record = ctx.tables.record
    referrer = ctx.number("referrer_id")
    converted = func.sum(case((record.c.stage.in_(won), 1), else_=0))
    query = (
        ctx.records(referrer, func.count(), converted)
        .where(referrer.is_not(None))
        .group_by(referrer)
        .order_by(func.count().desc(), referrer)
        .limit(ctx.param_int("limit", 20))
    )
    found = ctx.session.execute(query).all()
    ids = [int(r) for r, _n, _c in found]
    titles: dict[int, Any] = {}
    if ids:
        named = select(record.c.id, record.c.title).where(record.c.id.in_(ids))
        titles = {i: t for i, t in ctx.session.execute(named)}
    rows = [[int(r), titles.get(int(r)), n, c or 0] for r, n, c in found]
    columns = ["referrer_id", "referrer", "referred", "converted"]
    return ReportResult("lead_referrals", "Referral leaderboard", columns, rows)


def aging(ctx: ReportContext) -> ReportResult:
    """Open leads by age (days since created) per owner: 0–7, 8–30, 31–90, over 90."""
    won, lost = _outcomes(ctx)
    record, user = ctx.tables.record, ctx.tables.user
    buckets = []
    for low, high in AGE_BUCKETS:
        newest = ctx.now - timedelta(days=low)
        cond = record.c.created_at <= newest
        if high is not None:
            cond = cond & (record.c.created_at > ctx.now - timedelta(days=high + 1))
        buckets.append(func.sum(case((cond, 1), else_=0)))
    closed = won + lost
    query = (
        ctx.records(func.coalesce(user.c.name, literal("(pool)")), *buckets)
        .outerjoin(user, user.c.id == record.c.owner_id)
        .where(record.c.stage.is_(None) | record.c.stage.not_in(closed))
        .group_by(user.c.name)
        .order_by(user.c.name)
    )
    rows = [[owner, *(n or 0 for n in counts)] for owner, *counts in ctx.session.execute(query)]
    columns = ["owner", "0-7 days", "8-30 days", "31-90 days", "over 90 days"]
    return ReportResult("lead_aging", "Open leads by age", columns, rows)


def scores(ctx: ReportContext) -> ReportResult:
    """Qualification scores (识别真客户): budget, source and follow-ups, best first.

    Score = budget points (≥100,000: 40; ≥10,000: 25; any: 10) + source points
    (referral 30, event or lucky draw 20, market survey 15, web 10, ad 5) +
    6 per activity up to 5 activities. Open leads only.
    """
    won, lost = _outcomes(ctx)
    record, activity = ctx.tables.record, ctx.tables.activity
    budget = ctx.number("budget")
    budget_points = case(
        *((budget >= least, points) for least, points in BUDGET_POINTS),
        (budget > 0, SOME_BUDGET_POINTS),
        else_=0,
    )
    source_points = case(
        *((ctx.field("source") == s, p) for s, p in SOURCE_POINTS.items()), else_=0
    )
    touches = select(func.count()).where(activity.c.record_id == record.c.id).scalar_subquery()
    # SQLite's two-argument min() is scalar; PostgreSQL spells it least().
    capped = (
        func.min(touches, MAX_TOUCHES)
        if ctx.dialect == "sqlite"
        else func.least(touches, MAX_TOUCHES)
    )
    score = budget_points + source_points + TOUCH_POINTS * capped
    query = (
        ctx.records(record.c.id, record.c.title, score.label("score"))
        .where(record.c.stage.is_(None) | record.c.stage.not_in(won + lost))
        .order_by(score.desc(), record.c.id)
        .limit(ctx.param_int("limit", 20))
    )
    rows = [[i, t, int(s)] for i, t, s in ctx.session.execute(query)]
    return ReportResult("lead_scores", "Lead qualification scores", ["id", "title", "score"], rows)
