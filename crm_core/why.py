"""``crm record why``: who owns a record and why, and what the workflow will do to it next."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from crm_core import conditions
from crm_core.assign.run import DAYS, AssignResult, Roster, rule_key
from crm_core.assign.strategies import Member
from crm_core.i18n import _
from crm_core.models import Holding, Journal, Pool, Record, Task, User, WorkflowDef
from crm_core.views import View
from crm_core.workflow import engine
from crm_core.workflow.calendar import WorkCalendar
from crm_core.workflow.loader import action_name

HORIZON_DAYS = 366
JOURNAL_LOOKBACK = 500


@dataclass
class Forecast(View):
    """Something the scheduler will do to the record, and when, unless things change.

    ``local`` is ``at`` in the workflow's time zone, e.g. ``2026-03-05 17:00 Asia/Shanghai``.
    """

    at: datetime
    event: str
    rule: str
    local: str = ""


@dataclass
class Candidate(View):
    """A member who could receive an unowned record, and whether they can right now.

    ``state`` is ``free``, ``at cap``, ``away``, ``off today`` or ``inactive``;
    ``detail`` says the numbers or the date behind it (a user the workflow names
    who does not exist is in the view's notes).
    """

    user: str
    state: str
    detail: str = ""


@dataclass
class WhyView(View):
    """Why a record is where it is, and what comes next."""

    record_id: int
    title: str
    kind: str
    stage: str | None
    workflow: str | None
    owner: str | None
    owner_since: datetime | None = None
    owner_cause: str | None = None
    pool: str | None = None
    pool_since: datetime | None = None
    pool_cause: str | None = None
    pool_reason: str | None = None
    rotations: int = 0
    timezone: str = "UTC"
    route: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    upcoming: list[Forecast] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _last_change(session: Session, record_id: int, key: str, value: Any) -> Journal | None:
    """The newest journal row that set ``key`` of the record to ``value``."""
    rows = session.exec(
        select(Journal)
        .where(Journal.record_id == record_id, Journal.entity == "record")
        .order_by(col(Journal.id).desc())
        .limit(JOURNAL_LOOKBACK)
    ).all()
    return next((r for r in rows if r.after and key in r.after and r.after[key] == value), None)


def first_true(predicate: Callable[[datetime], bool], now: datetime) -> datetime | None:
    """The earliest moment within the horizon at which ``predicate`` holds (to the minute).

    Time-based conditions only turn true as time passes, so a day-by-day scan
    followed by halving the last day finds the moment.
    """
    if predicate(now):
        return now
    for day in range(1, HORIZON_DAYS + 1):
        later = now + timedelta(days=day)
        if predicate(later):
            lo, hi = later - timedelta(days=1), later
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (lo, mid) if predicate(mid) else (mid, hi)
            # Sweeps run on whole minutes in practice: name the first minute that acts.
            minute = hi.replace(second=0, microsecond=0)
            return minute if predicate(minute) else minute + timedelta(minutes=1)
    return None


def explain(
    session: Session,
    record: Record,
    now: datetime,
    operators: conditions.Operators = conditions.NO_OPERATORS,
) -> WhyView:
    """Build the explanation for ``record`` as of ``now``."""
    assert record.id is not None
    wf = engine.applied(session, record.kind)
    owner = session.get(User, record.owner_id) if record.owner_id is not None else None
    pool = session.get(Pool, record.pool_id) if record.pool_id is not None else None
    view = WhyView(record.id, record.title, record.kind, record.stage,
                   wf.name if wf else None, owner.name if owner else None,
                   rotations=record.rotations)  # fmt: skip
    if owner is not None:
        row = _last_change(session, record.id, "owner_id", record.owner_id)
        if row is not None:
            view.owner_since, view.owner_cause = row.at, _describe(session, row)
    if pool is not None:
        row = _last_change(session, record.id, "pool_id", record.pool_id)
        view.pool = pool.name
        if row is not None:
            view.pool_since, view.pool_cause, view.pool_reason = row.at, row.cause, row.reason
    if wf is None:
        view.notes.append(
            _("no workflow is applied to {kind}: nothing is scheduled", kind=record.kind)
        )
        return view
    if record.archived_at is not None:
        view.notes.append(_("archived: the scheduler leaves it alone"))
        return view
    facts = engine.facts(session, record)
    calendar = WorkCalendar.of(wf.definition)
    view.timezone = calendar.zone.key
    if owner is not None:
        _pool_forecasts(session, view, wf, record, facts, now, operators)
        _sla_forecast(view, wf, record, facts)
        _stage_forecast(view, wf, record, now)
    elif pool is None:
        _unowned(session, view, wf, facts, now, operators)
    for forecast in view.upcoming:
        forecast.local = calendar.label(forecast.at)
    view.upcoming.sort(key=lambda f: f.at)
    return view


def _unowned(
    session: Session,
    view: WhyView,
    wf: WorkflowDef,
    facts: conditions.Facts,
    now: datetime,
    operators: conditions.Operators,
) -> None:
    """Why an unowned record outside any pool has no owner: its route and each member's state."""
    spec = wf.definition.get("assignment")
    if not spec:
        view.notes.append(
            _("workflow {workflow} has no assignment section: nobody assigns it", workflow=wf.name)
        )
        return
    entries: list[Any] | None = spec.get("members")
    team: str | None = None
    view.route = "default"
    for i, rule in enumerate(spec.get("rules", [])):
        if conditions.to_python(rule["when"], now, operators)(facts):
            if "members" in rule or "team" in rule:
                view.route = rule_key(rule, i)
                entries, team = rule.get("members"), rule.get("team")
            else:
                view.route = _("{rule} (default members)", rule=rule_key(rule, i))
            break
    if entries is None and team is None:
        view.notes.append(_("no rule matches it and there are no default members: it waits"))
        return
    roster = Roster(session, now, wf, AssignResult(wf.name))
    members = roster.team(team) if team is not None else roster.members(entries or [])
    for problem in roster.result.problems:
        view.notes.append(problem)
    view.candidates = [_candidate(roster, m) for m in members]
    free = [c.user for c in view.candidates if c.state == "free"]
    if free:
        view.notes.append(
            _("{users} can take it: the next assignment pass (the worker, or crm assign) "
              "hands it over", users=", ".join(free))
        )  # fmt: skip
    else:
        view.notes.append(_("every member is away, off today or at a cap: it waits"))
        _first_back(view, roster, members, WorkCalendar.of(wf.definition))


def _first_back(
    view: WhyView, roster: Roster, members: list[Member], calendar: WorkCalendar
) -> None:
    """Forecast the first moment a member who is away or off today may take the record again
    (a member at a cap waits for a record of theirs to close: no date to give)."""
    backs: list[tuple[datetime, str]] = []
    for m in members:
        user = roster.users[m.user_id]
        if not user.active or roster.at_cap(m):
            continue
        at = roster.now
        if user.away_until is not None and user.away_until > at:
            at = user.away_until
        for _day in range(7):
            if m.working_days is None or calendar.weekday(at) in m.working_days:
                break
            at = calendar.next_day(at)
        if at > roster.now:
            backs.append((at, m.name))
    if backs:
        at, name = min(backs)
        view.upcoming.append(
            Forecast(at, _("{user} may take it from then", user=name), "assignment")
        )


def _candidate(roster: Roster, member: Member) -> Candidate:
    user = roster.users[member.user_id]
    if not user.active:
        return Candidate(member.name, "inactive")
    if user.away_until is not None and user.away_until > roster.now:
        return Candidate(member.name, "away", _("until {at:%Y-%m-%d %H:%M}", at=user.away_until))
    if not roster.working(member):
        days = ", ".join(DAYS[d] for d in sorted(member.working_days or ()))
        return Candidate(member.name, "off today", _("works {days}", days=days))
    max_open, max_per_day = roster.caps(member)
    if max_open is not None and roster.load[member.user_id] >= max_open:
        load = roster.load[member.user_id]
        return Candidate(member.name, "at cap", _("{n}/{max} open", n=load, max=max_open))
    if max_per_day is not None and roster.today[member.user_id] >= max_per_day:
        got = roster.today[member.user_id]
        return Candidate(
            member.name, "at cap", _("{n}/{max} received today", n=got, max=max_per_day)
        )
    load = roster.load[member.user_id]
    held = _("{n}/{max} open", n=load, max=max_open) if max_open is not None else ""
    return Candidate(member.name, "free", held)


def _describe(session: Session, row: Journal) -> str:
    actor = session.get(User, row.actor_id) if row.actor_id is not None else None
    if actor is None:
        return _("{action}, cause {cause}", action=row.action, cause=row.cause)
    return _(
        "{action} by {user}, cause {cause}", action=row.action, user=actor.name, cause=row.cause
    )


def _warned(session: Session, record: Record, cause: str, facts: conditions.Facts) -> bool:
    """True when this idle period's warning task is already out (as the sweep decides)."""
    since = max(facts.idle_since, record.stage_entered_at)
    query = select(Task.id).where(
        Task.record_id == record.id, Task.cause == cause, col(Task.created_at) >= since
    )
    return session.exec(query).first() is not None


def _pool_forecasts(
    session: Session,
    view: WhyView,
    wf: WorkflowDef,
    record: Record,
    facts: conditions.Facts,
    now: datetime,
    operators: conditions.Operators,
) -> None:
    for spec in wf.definition.get("pools", []):
        exempt = spec.get("exempt")
        if exempt and conditions.to_python(exempt, now, operators)(facts):
            text = json.dumps(exempt, ensure_ascii=False)
            view.notes.append(
                _("exempt from pool {pool} returns: {rule}", pool=spec["id"], rule=text)
            )
            continue
        for rule in spec.get("return", []):
            at = first_true(_holds(rule["when"], facts, operators), now)
            if at is None:
                continue
            limit = spec.get("rotation", {}).get("max_rotations", 0)
            nxt = _next_member(session, spec, record, at) if record.rotations < limit else None
            where = (
                _("rotates to {user}, the next member of pool {pool} ({n} of {max})",
                  user=nxt, pool=spec["id"], n=record.rotations + 1, max=limit)
                if nxt is not None
                else _("returns to pool {pool}", pool=spec["id"])
            )  # fmt: skip
            name = f"pool:{spec['id']}:{rule['id']}"
            view.upcoming.append(Forecast(at, where, name))
            warned = _warned(session, record, f"{name}:warn", facts)
            if rule.get("warn_days_before") and at > now and not warned:
                warn_at = max(now, at - timedelta(days=rule["warn_days_before"]))
                view.upcoming.append(Forecast(warn_at, _("the owner gets a warning task"), name))


def _next_member(
    session: Session, spec: dict[str, Any], record: Record, at: datetime
) -> str | None:
    """Who a rotation at ``at`` hands the record to, as the sweep picks: the first pool member
    in file order who is active, not away then, and has not held it."""
    query = select(Holding.user_id).where(Holding.record_id == record.id)
    held: set[int | None] = set(session.exec(query).all())
    held.add(record.owner_id)
    users = {u.name: u for u in session.exec(select(User)).all()}
    for name in spec.get("members", []):
        user = users.get(name)
        if user is None or not user.active or user.id in held:
            continue
        if user.away_until is None or user.away_until <= at:
            return user.name
    return None


def _holds(
    cond: dict[str, Any], facts: conditions.Facts, operators: conditions.Operators
) -> Callable[[datetime], bool]:
    return lambda moment: conditions.to_python(cond, moment, operators)(facts)


def _stage_forecast(view: WhyView, wf: WorkflowDef, record: Record, now: datetime) -> None:
    stage = next((s for s in wf.definition["stages"] if s["id"] == record.stage), None)
    limit = stage.get("max_days") if stage else None
    if not limit:
        return
    at = record.stage_entered_at + timedelta(days=limit["days"])
    if at < now and limit["action"] != "return_to_pool":
        return  # the reminder went out once already; it is not repeated
    pool = limit.get("pool", _("the first pool"))
    builtin = {
        "notify": _("the owner is reminded"),
        "escalate": _("the owner's manager is told"),
        "return_to_pool": _("returns to pool {pool}", pool=pool),
    }
    action = limit["action"]
    event = (
        builtin[action]
        if isinstance(action, str)
        else _("{action} runs", action=action_name(action))
    )
    days, stage_id = limit["days"], record.stage
    view.upcoming.append(
        Forecast(at, _("{event}: {days} day(s) in {stage}", event=event, days=days, stage=stage_id),
                 f"stage:{record.stage}")
    )  # fmt: skip


def _sla_forecast(view: WhyView, wf: WorkflowDef, record: Record, facts: conditions.Facts) -> None:
    sla = wf.definition.get("assignment", {}).get("sla")
    if not sla or record.assigned_at is None:
        return
    contacted = facts.last_activity_at is not None and facts.last_activity_at >= record.assigned_at
    if contacted:
        return
    at = record.assigned_at + timedelta(hours=sla["contact_within_hours"])
    action = sla.get("then", "notify")
    builtin = {"reassign": _("is reassigned"), "notify": _("the owner is reminded"),
               "return_to_pool": _("returns to the pool")}  # fmt: skip
    then = (
        builtin[action]
        if isinstance(action, str)
        else _("{action} runs", action=action_name(action))
    )
    hours = sla["contact_within_hours"]
    view.upcoming.append(
        Forecast(at, _("{then}: not contacted within {hours} h", then=then, hours=hours), "sla")
    )
