"""The b2b reports on deals by the people who work them: win rate, won value, pipeline by month.

A deal is credited to its owner (``crm deal add --owner``), else to its
account's owner; the owner's team gives the team and the team's region
(``crm team add NAME --region R``) the region. ``--param group=`` chooses
the rows:

- ``all`` (default for ``b2b_win_rate``): one row;
- ``owner``: a row per user the asker may see (every active one, with zeros);
- ``team``: a row per team of those users, ``region`` per region of those teams;
- ``product``: a row per active product of the catalogue, from the deals' lines
  (a deal counts once per product it has a line of; its won value there is the
  line's amount); deals without lines are ``(no product)``;
- ``quarter``: a row per quarter of ``closed_at`` (decided deals only), every
  quarter from the first to the last.

Win rate is won of decided (won + lost), None when nothing is decided.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, distinct, func, select

from crm_b2b_accounts.catalogue import deal_line, product
from crm_b2b_accounts.reports import NONE, _currency, _deals, _month, money, share
from crm_core.api import InvalidInput, ReportContext, ReportResult
from crm_core.i18n import _

GROUPS = ("all", "owner", "team", "region", "product", "quarter")
NOBODY, NO_TEAM, NO_REGION, NO_PRODUCT = "(nobody)", "(no team)", "(no region)", "(no product)"


@dataclass
class _Tally:
    deals: int = 0
    won: int = 0
    lost: int = 0
    won_minor: int = 0

    def add(self, deals: Any, won: Any, lost: Any, won_minor: Any) -> None:
        self.deals += int(deals or 0)
        self.won += int(won or 0)
        self.lost += int(lost or 0)
        self.won_minor += int(won_minor or 0)

    def row(self, key: str) -> list[Any]:
        open_ = self.deals - self.won - self.lost
        decided = self.won + self.lost
        return [key, self.deals, open_, self.won, self.lost, share(self.won, decided),
                money(self.won_minor)]  # fmt: skip


@dataclass(frozen=True)
class _Person:
    name: str
    active: bool
    team: str | None
    region: str | None
    in_scope: bool


def _people(ctx: ReportContext) -> dict[int, _Person]:
    """Every user with their team and region, and whether the asker sees them one by one."""
    user, team = ctx.tables.user, ctx.tables.team
    scope = ctx.visible_user_ids()
    query = select(user.c.id, user.c.name, user.c.active, team.c.name, team.c.region).outerjoin(
        team, team.c.id == user.c.team_id
    )
    return {
        i: _Person(name, bool(active), team_name, region, scope is None or i in scope)
        for i, name, active, team_name, region in ctx.session.execute(query).all()
    }


def _group(ctx: ReportContext, default: str, allowed: tuple[str, ...]) -> str:
    group = ctx.params.get("group", default)
    if group not in allowed:
        raise InvalidInput(
            _(
                "--param group must be one of {names}, not {group!r}",
                names=", ".join(allowed),
                group=group,
            )
        )
    return group


def _counts(ctx: ReportContext) -> tuple[Any, Any, Any, Any]:
    deal = ctx.tables.deal
    return (
        func.count(),
        func.sum(case((ctx.deal_won(), 1), else_=0)),
        func.sum(case((ctx.deal_lost(), 1), else_=0)),
        func.sum(case((ctx.deal_won(), deal.c.amount_minor), else_=0)),
    )


def _by_people(ctx: ReportContext, group: str, currency: str) -> list[list[Any]]:
    owner = ctx.deal_owner()
    query = _deals(ctx, owner, *_counts(ctx), currency=currency).group_by(owner)
    people = _people(ctx)

    def key(person: _Person | None) -> str:
        if group == "owner":
            return person.name if person else NOBODY
        if group == "team":
            return (person.team if person else None) or NO_TEAM
        return (person.region if person else None) or NO_REGION

    tallies: dict[str, _Tally] = {}
    for p in people.values():
        if p.active and p.in_scope and (group == "owner" or key(p) not in (NO_TEAM, NO_REGION)):
            tallies.setdefault(key(p), _Tally())
    for owner_id, *counts in ctx.session.execute(query).all():
        tallies.setdefault(key(people.get(owner_id)), _Tally()).add(*counts)
    last = (NOBODY, NO_TEAM, NO_REGION)
    ordered = sorted(tallies, key=lambda k: (k in last, k))
    return [tallies[k].row(k) for k in ordered]


def _by_product(ctx: ReportContext, currency: str) -> list[list[Any]]:
    deal = ctx.tables.deal
    line_value = func.coalesce(deal_line.c.amount_minor, deal.c.amount_minor)
    query = (
        _deals(
            ctx,
            deal_line.c.product_id,
            func.count(distinct(deal.c.id)),
            func.count(distinct(case((ctx.deal_won(), deal.c.id)))),
            func.count(distinct(case((ctx.deal_lost(), deal.c.id)))),
            func.sum(case((ctx.deal_won(), line_value), else_=0)),
            currency=currency,
        )
        .outerjoin(deal_line, deal_line.c.deal_id == deal.c.id)
        .group_by(deal_line.c.product_id)
    )
    names = dict(ctx.session.execute(select(product.c.id, product.c.name)).all())
    active = ctx.session.execute(select(product.c.name).where(product.c.active)).scalars()
    tallies = {name: _Tally() for name in active}
    for product_id, *counts in ctx.session.execute(query).all():
        key = names.get(product_id, NO_PRODUCT) if product_id is not None else NO_PRODUCT
        tallies.setdefault(key, _Tally()).add(*counts)
    ordered = sorted(tallies, key=lambda k: (k == NO_PRODUCT, k))
    return [tallies[k].row(k) for k in ordered]


def _quarter(month: str) -> str:
    return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"


def _quarters(first: str, last: str) -> list[str]:
    out, (year, q) = [], (int(first[:4]), int(first[-1]))
    while f"{year}-Q{q}" <= last:
        out.append(f"{year}-Q{q}")
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return out


def _by_quarter(ctx: ReportContext, currency: str) -> list[list[Any]]:
    closed = _month(ctx, ctx.tables.deal.c.closed_at)
    query = (
        _deals(ctx, closed, *_counts(ctx), currency=currency)
        .where(~ctx.deal_open())
        .group_by(closed)
    )
    tallies: dict[str, _Tally] = {}
    for month, *counts in ctx.session.execute(query).all():
        tallies.setdefault(_quarter(month) if month else NONE, _Tally()).add(*counts)
    dated = sorted(k for k in tallies if k != NONE)
    keys = (_quarters(dated[0], dated[-1]) if dated else []) + ([NONE] if NONE in tallies else [])
    return [tallies.get(k, _Tally()).row(k) for k in keys]


def _win_rate(
    ctx: ReportContext, name: str, default: str, allowed: tuple[str, ...]
) -> ReportResult:
    group = _group(ctx, default, allowed)
    currency = _currency(ctx)
    if group in ("owner", "team", "region"):
        rows = _by_people(ctx, group, currency)
    elif group == "product":
        rows = _by_product(ctx, currency)
    elif group == "quarter":
        rows = _by_quarter(ctx, currency)
    else:
        overall = _Tally()
        overall.add(*ctx.session.execute(_deals(ctx, *_counts(ctx), currency=currency)).one())
        rows = [overall.row("all")]
    columns = [group, "deals", "open", "won", "lost", "win_rate", "won_amount"]
    notes = [f"amounts in {currency}; win rate = won / (won + lost)"]
    if group == "quarter":
        notes.append("quarters of the close date; open deals are in no quarter")
    title = f"Win rate and won value by {group}, {ctx.kind or 'account'}"
    return ReportResult(name, title, columns, rows, notes)


def b2b_win_rate(ctx: ReportContext) -> ReportResult:
    """Win rate and won value of deals, overall or ``--param group=`` owner, team, region,
    product or quarter; every member of a grouping has a row (zeros when it has no deals)."""
    return _win_rate(ctx, "b2b_win_rate", "all", GROUPS)


def b2b_win_rate_by_owner(ctx: ReportContext) -> ReportResult:
    """Deals won and lost per deal owner (``--param group=team``: per team), win rate and
    won value; every active user the asker sees has a row."""
    return _win_rate(ctx, "b2b_win_rate_by_owner", "owner", ("owner", "team"))


def b2b_pipeline_by_month(ctx: ReportContext) -> ReportResult:
    """Open deals by expected close month (every month from the first to the last): count and
    amount; ``--param group=owner`` or ``team`` splits each month by whom the deals are credited."""
    group = _group(ctx, "month", ("month", "owner", "team"))
    currency = _currency(ctx)
    deal = ctx.tables.deal
    month = _month(ctx, deal.c.expected_close)
    owner = ctx.deal_owner()
    query: Select[Any] = (
        _deals(ctx, month, owner, func.count(), func.sum(deal.c.amount_minor), currency=currency)
        .where(ctx.deal_open())
        .group_by(month, owner)
    )
    people = _people(ctx)

    def member(owner_id: int | None) -> str | None:
        person = people.get(owner_id) if owner_id is not None else None
        if group == "owner":
            return person.name if person else NOBODY
        if group == "team":
            return (person.team if person else None) or NO_TEAM
        return None

    totals: dict[tuple[str, str | None], list[int]] = {}
    for m, owner_id, n, amount in ctx.session.execute(query).all():
        row = totals.setdefault((m or NONE, member(owner_id)), [0, 0])
        row[0] += n
        row[1] += int(amount or 0)
    dated = sorted({m for m, _k in totals if m != NONE})
    months = _months(dated[0], dated[-1]) if dated else []
    months += [NONE] if any(m == NONE for m, _k in totals) else []
    members: list[str | None] = [None]
    if group != "month":
        named = sorted({k for _m, k in totals if k is not None})
        members = [k for k in named if not k.startswith("(")]
        members += [k for k in named if k.startswith("(")]
    rows = []
    for m in months:
        for k in members:
            n, amount = totals.get((m, k), [0, 0])
            rows.append([m, n, money(amount)] if k is None else [m, k, n, money(amount)])
    columns = (
        ["month", "deals", "amount"] if group == "month" else ["month", group, "deals", "amount"]
    )
    notes = [f"amounts in {currency}; {NONE}: deals without an expected close date"]
    title = f"Open pipeline by expected close month, {ctx.kind or 'account'}"
    return ReportResult("b2b_pipeline_by_month", title, columns, rows, notes)


def _months(first: str, last: str) -> list[str]:
    out, (year, month) = [], (int(first[:4]), int(first[5:7]))
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


REPORTS: list[tuple[Callable[[ReportContext], ReportResult], str]] = [
    (b2b_win_rate, "B2B 赢单率与赢单金额"),
    (b2b_win_rate_by_owner, "B2B 赢单率(按负责人)"),
    (b2b_pipeline_by_month, "B2B 按预计成交月的商机"),
]
