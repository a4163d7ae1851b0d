"""Public pools (公海): the rows behind a workflow's pools, claims, releases and the pool list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, delete, func, select

from crm_core import records
from crm_core.errors import Conflict, InvalidInput, NotFound, excerpt
from crm_core.i18n import Joined, Message, _
from crm_core.models import Holding, Journal, Pool, PoolMember, Record, User, WorkflowDef
from crm_core.records import WriteContext
from crm_core.views import PoolEntry, PoolPage
from crm_core.workflow.calendar import WorkCalendar

ARRIVALS = ("return", "release", "create", "update")


def pool_spec(wf: WorkflowDef | None, pool_name: str) -> dict[str, Any]:
    """The YAML of pool ``pool_name`` in workflow ``wf``, or ``{}``."""
    if wf is None:
        return {}
    return next((p for p in wf.definition.get("pools", []) if p["id"] == pool_name), {})


def ensure_pools(ctx: WriteContext, definition: dict[str, Any]) -> dict[str, int]:
    """Create the workflow's pools that do not exist yet and set their members and admins.

    Returns pool ids by name. Users the YAML names but the database lacks are
    left out (``crm user add`` them, then apply again).
    """
    out: dict[str, int] = {}
    users = {u.name: u.id for u in ctx.session.exec(select(User)).all()}
    for spec in definition.get("pools", []):
        pool = ctx.session.exec(select(Pool).where(Pool.name == spec["id"])).first()
        if pool is None:
            pool = Pool(name=spec["id"], created_at=ctx.now)
            ctx.session.add(pool)
            ctx.session.flush()
            ctx.journal("pool", pool.id or 0, None, "create", None, {"name": spec["id"]})
        assert pool.id is not None
        out[spec["id"]] = pool.id
        if "members" not in spec and "admins" not in spec:
            continue
        # One membership sync at a time per pool (an apply and a sweep may meet); the
        # key-share lock still lets records be released into the pool meanwhile.
        locked = select(Pool).where(Pool.id == pool.id).with_for_update(key_share=True)
        ctx.session.exec(locked).one()
        admins = [users[n] for n in spec.get("admins", []) if n in users]
        members = [users[n] for n in spec.get("members", []) if n in users]
        wanted = {uid: uid in admins for uid in [*members, *admins] if uid is not None}
        current = {
            m.user_id: m.is_admin
            for m in ctx.session.exec(select(PoolMember).where(PoolMember.pool_id == pool.id))
        }
        if wanted == current:
            continue
        ctx.session.exec(delete(PoolMember).where(col(PoolMember.pool_id) == pool.id))
        for uid, is_admin in wanted.items():
            ctx.session.add(PoolMember(pool_id=pool.id, user_id=uid, is_admin=is_admin))
        after = {"members": sorted(wanted), "admins": sorted(u for u, a in wanted.items() if a)}
        ctx.journal("pool", pool.id, None, "members", {"members": sorted(current)}, after)
    ctx.session.flush()
    return out


def claims_today(session: Session, user_id: int, since: datetime) -> int:
    """How many records the user claimed since ``since``."""
    query = select(func.count()).where(
        Journal.actor_id == user_id, Journal.action == "claim", col(Journal.at) >= since
    )
    return int(session.exec(query).one())


def held(session: Session, user_id: int, kind: str) -> int:
    """How many live records of ``kind`` the user owns."""
    query = select(func.count()).where(
        Record.owner_id == user_id, Record.kind == kind, col(Record.archived_at).is_(None)
    )
    return int(session.exec(query).one())


def allowance(
    session: Session, wf: WorkflowDef | None, pool: str, user_id: int, now: datetime
) -> dict[str, Any]:
    """The caps of a pool for one user: held and claimed today, against their maximums."""
    rules = pool_spec(wf, pool).get("claim", {})
    calendar = WorkCalendar.of(wf.definition) if wf else None
    since = (
        calendar.day_start(now)
        if calendar
        else now.replace(hour=0, minute=0, second=0, microsecond=0)
    )
    return {
        "held": held(session, user_id, wf.kind) if wf else None,
        "max_held": rules.get("max_held"),
        "claimed_today": claims_today(session, user_id, since),
        "max_per_day": rules.get("max_per_day"),
        "reclaim_after_days": rules.get("reclaim_after_days"),
    }


def claim(ctx: WriteContext, record: Record, wf: WorkflowDef | None) -> None:
    """Give a pooled record to the acting operator, within the pool's claim rules.

    Whether the actor may claim from this pool at all is the permission
    table's to say (:func:`crm_core.permissions.check`), checked by the caller.
    """
    actor = ctx.actor
    assert actor is not None and actor.id is not None and record.id is not None
    if record.pool_id is None:
        raise Conflict(_("record #{id} is not in a pool", id=record.id))
    pool = ctx.session.get(Pool, record.pool_id)
    assert pool is not None
    # Serialise one operator's claims on PostgreSQL so two at once cannot both pass a cap.
    ctx.session.exec(select(User).where(User.id == actor.id).with_for_update()).one()
    left = allowance(ctx.session, wf, pool.name, actor.id, ctx.now)
    if left["max_held"] is not None and left["held"] >= left["max_held"]:
        raise Conflict(
            _(
                "{actor} already holds {held} records, the most pool '{pool}' allows",
                actor=actor.name,
                held=left["held"],
                pool=pool.name,
            )
        )
    if left["max_per_day"] is not None and left["claimed_today"] >= left["max_per_day"]:
        raise Conflict(
            _(
                "{actor} has claimed {claimed_today} today, the most pool '{pool}' allows",
                actor=actor.name,
                claimed_today=left["claimed_today"],
                pool=pool.name,
            )
        )
    wait = left["reclaim_after_days"]
    if wait:
        last = ctx.session.exec(
            select(func.max(Holding.ended_at)).where(
                Holding.record_id == record.id, Holding.user_id == actor.id
            )
        ).one()
        if last is not None and last > ctx.now - timedelta(days=wait):
            when = (last + timedelta(days=wait)).isoformat(timespec="minutes")
            raise Conflict(
                _(
                    "{actor} held #{id} until {day}: may claim it again from {when}",
                    actor=actor.name,
                    id=record.id,
                    day=last.date(),
                    when=when,
                )
            )
    record.assigned_at = ctx.now
    record.rotations = 0
    cause = f"claim:{pool.name}"
    claim_ctx = WriteContext(ctx.session, ctx.registry, ctx.host, actor, cause, ctx.now)
    records.change(claim_ctx, record, "claim", owner_id=actor.id, pool_id=None)


def release(ctx: WriteContext, record: Record, pool: Pool, reason: str) -> None:
    """Return an owned record to ``pool`` with the owner's reason; the owner is remembered."""
    assert record.id is not None
    if record.archived_at is not None:
        raise Conflict(_("record #{id} is archived", id=record.id))
    if record.owner_id is None:
        raise Conflict(_("record #{id} has no owner to release it", id=record.id))
    if not reason.strip():
        raise InvalidInput(_("a release needs --reason"))
    ctx.session.add(
        Holding(record_id=record.id, user_id=record.owner_id, ended_at=ctx.now, how="release")
    )
    record.assigned_at = None
    record.rotations = 0
    rel_ctx = WriteContext(
        ctx.session, ctx.registry, ctx.host, ctx.actor, f"release:{pool.name}", ctx.now
    )
    records.change(rel_ctx, record, "release", owner_id=None, pool_id=pool.id, reason=reason)


def find_pool(session: Session, name: str) -> Pool:
    """The pool called ``name``."""
    pool = session.exec(select(Pool).where(Pool.name == name)).first()
    if pool is None:
        names = ", ".join(session.exec(select(Pool.name).order_by(col(Pool.name))).all()) or "none"
        raise NotFound(_("no pool '{name}' (pools: {names})", name=excerpt(name), names=names))
    return pool


def page(
    session: Session, pool: Pool, user_id: int, now: datetime, limit: int, before_id: int | None
) -> PoolPage:
    """Records in ``pool``, newest id first, each with the journal row that put it there."""
    where = [col(Record.pool_id) == pool.id, col(Record.archived_at).is_(None)]
    total = int(session.exec(select(func.count()).where(*where)).one())
    # archived_at is NULL on every row here; ordering by it first matches ix_record_pool_live,
    # so PostgreSQL reads the page from it rather than walking the primary key backwards past
    # the records of other pools (which its statistics cannot tell are the newest).
    order = (col(Record.archived_at).desc(), col(Record.id).desc())
    query = select(Record).where(*where).order_by(*order).limit(limit)
    if before_id is not None:
        query = query.where(col(Record.id) < before_id)
    rows = session.exec(query).all()
    came: dict[int, Journal] = {}
    if rows:
        ids = [r.id for r in rows]
        for arrival in session.exec(
            select(Journal)
            .where(col(Journal.record_id).in_(ids), col(Journal.action).in_(ARRIVALS))
            .order_by(col(Journal.id).desc())
        ).all():
            if arrival.record_id is not None:
                came.setdefault(arrival.record_id, arrival)
    entries = []
    for r in rows:
        assert r.id is not None
        j = came.get(r.id)
        entry = PoolEntry(r.id, r.kind, r.title, r.stage, None, None, None, None)
        if j is not None:
            entry.since, entry.how, entry.cause, entry.reason = j.at, j.action, j.cause, j.reason
        entries.append(entry)
    wf = workflow_of(session, pool.name)
    left = allowance(session, wf, pool.name, user_id, now)
    _mark_claimable(session, wf, entries, left, user_id, now)
    return PoolPage(pool.name, total, left, entries)


def _mark_claimable(
    session: Session,
    wf: WorkflowDef | None,
    entries: list[PoolEntry],
    left: dict[str, Any],
    user_id: int,
    now: datetime,
) -> None:
    """Mark the page's entries the user may not claim yet, by the rules :func:`claim` applies.

    The caps hold for every entry alike; the wait after a holding is read for
    the page's records only, in one query.
    """
    if not entries:
        return
    common: list[Message] = []
    common_from: datetime | None = now
    if left["max_held"] is not None and left["held"] >= left["max_held"]:
        common.append(
            _("you hold {held} of at most {max_held}", held=left["held"], max_held=left["max_held"])
        )
        common_from = None  # until the user holds fewer: no date to give
    if left["max_per_day"] is not None and left["claimed_today"] >= left["max_per_day"]:
        common.append(
            _("you claimed {claimed} of {max_per_day} today",
              claimed=left["claimed_today"], max_per_day=left["max_per_day"])
        )  # fmt: skip
        if common_from is not None and wf is not None:
            common_from = WorkCalendar.of(wf.definition).next_day(now)
    wait = left["reclaim_after_days"]
    last: dict[int, datetime] = {}
    if wait:
        rows = session.exec(
            select(Holding.record_id, func.max(Holding.ended_at))
            .where(col(Holding.record_id).in_([e.record_id for e in entries]))
            .where(Holding.user_id == user_id, col(Holding.ended_at) > now - timedelta(days=wait))
            .group_by(col(Holding.record_id))
        ).all()
        last = {r: at for r, at in rows if at is not None}
    for entry in entries:
        reasons = list(common)
        start = common_from
        ended = last.get(entry.record_id)
        if ended is not None:
            reasons.insert(0, _("held by you until {ended:%Y-%m-%d %H:%M}", ended=ended))
            if start is not None:
                start = max(start, ended + timedelta(days=wait))
        if reasons:
            entry.not_claimable_because = Joined("; ", reasons)
            entry.claimable_from = start


def workflow_of(session: Session, pool_name: str) -> WorkflowDef | None:
    """The applied workflow that declares pool ``pool_name``, if any."""
    for wf in session.exec(select(WorkflowDef)).all():
        if pool_spec(wf, pool_name):
            return wf
    return None
