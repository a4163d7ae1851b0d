"""The assignment pass: route unassigned records, pick members within their caps, write in bulk.

Routing rules are compiled to one SQL ``CASE``, so the database says which
rule each record matches (the same compiler the Python side is tested against);
picking is a tight loop over short member lists; owners and journal rows are
written with one executemany each. That is what lets 100,000 assignments take
seconds instead of minutes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import and_, case, literal, or_, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from crm_core import conditions, records
from crm_core.assign.strategies import Load, Member, Strategy, takes_record
from crm_core.errors import CrmError, InvalidInput, PluginError
from crm_core.fieldsql import field_equals
from crm_core.i18n import _
from crm_core.models import (
    AssignCursor,
    DedupeKey,
    Record,
    Team,
    User,
    WorkflowDef,
)
from crm_core.records import WriteContext
from crm_core.schedule import bulk
from crm_core.schedule.contain import Containment, Failure
from crm_core.views import RecordSnapshot, View
from crm_core.workflow.calendar import WorkCalendar

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class AssignResult(View):
    """What one assignment pass did (or, in a dry run, would do) for one workflow."""

    workflow: str
    assigned: int = 0
    by_user: dict[str, int] = field(default_factory=dict)
    by_rule: dict[str, int] = field(default_factory=dict)
    left: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


@dataclass
class Scope:
    """The members one routing rule (or the default) hands records to, and its strategy."""

    key: str
    members: list[Member]
    strategy: Strategy | None  # None: it failed to start, so its records wait
    eligible: list[Member] = field(default_factory=list)
    name: str = "round_robin"
    plugin: str = "core"
    takes_record: bool = False  # its pick() takes the record being assigned (contract v2)

    def error(self, method: str, exc: Exception) -> CrmError:
        """``exc``, raised by the strategy's ``method``, as the error that names its plugin."""
        if isinstance(exc, CrmError):
            return exc
        return PluginError(self.plugin, f"strategy {self.name} {method}", exc)


def rule_key(rule: dict[str, Any], index: int) -> str:
    """The name a routing rule goes by: its ``id``, else ``rule-N`` (1-based)."""
    return str(rule.get("id") or f"rule-{index + 1}")


def open_filter(wf: WorkflowDef) -> Any:
    """SQL: live records of the workflow's kind that are not in a won or lost stage."""
    terminal = [s["id"] for s in wf.definition["stages"] if s.get("outcome")]
    return and_(
        col(Record.kind) == wf.kind,
        col(Record.archived_at).is_(None),
        or_(col(Record.stage).is_(None), col(Record.stage).not_in(terminal)),
    )


class Roster:
    """The users a pass may hand records to: who they are, their load and their caps."""

    def __init__(
        self, session: Session, now: datetime, wf: WorkflowDef, result: AssignResult
    ) -> None:
        self.session = session
        self.now = now
        self.result = result
        self.users = {u.id: u for u in session.exec(select(User)).all()}
        self.by_name = {u.name: u for u in self.users.values()}
        teams = dict(session.exec(select(Team.name, Team.id)).all())
        self.team_ids: dict[str, int | None] = teams
        calendar = WorkCalendar.of(wf.definition)
        self.weekday = calendar.weekday(now)
        day_start = calendar.day_start(now)
        caps = wf.definition.get("assignment", {}).get("caps", {})
        self.max_open = caps.get("max_open")
        self.max_per_day = caps.get("max_per_day")
        self.own_caps: set[int] = set()  # users a members entry gives caps of their own
        # Naming the owners (whose records are in no pool) lets the database count from
        # ix_record_owner_open alone.
        load_rows = session.exec(
            select(Record.owner_id, func.count())
            .where(open_filter(wf), col(Record.owner_id).in_(list(self.users)))
            .where(col(Record.pool_id).is_(None))
            .group_by(col(Record.owner_id))
        ).all()
        counts = {o: n for o, n in load_rows if o is not None}
        self.load = Load(counts, self._count, wf.kind)
        self.wf = wf
        # Records received today count even if already won, lost or archived.
        fresh_rows = session.exec(
            select(Record.owner_id, func.count())
            .where(col(Record.kind) == wf.kind, col(Record.assigned_at) >= day_start)
            .where(col(Record.owner_id).is_not(None))
            .group_by(col(Record.owner_id))
        ).all()
        self.today: Counter[int] = Counter({o: n for o, n in fresh_rows if o is not None})

    def _count(self, kind: str, stage: str | None, fields: dict[str, Any]) -> dict[int, int]:
        """Answer :meth:`Load.count`: open records per owner, narrowed, in one query."""
        dialect = self.session.get_bind().dialect.name
        query = select(Record.owner_id, func.count()).where(
            col(Record.kind) == kind,
            col(Record.archived_at).is_(None),
            col(Record.pool_id).is_(None),
            col(Record.owner_id).is_not(None),
        )
        if kind == self.wf.kind:
            query = query.where(open_filter(self.wf))
        if stage is not None:
            query = query.where(col(Record.stage) == stage)
        for name, value in fields.items():
            query = query.where(field_equals(dialect, name, value))
        rows = self.session.exec(query.group_by(col(Record.owner_id))).all()
        return {o: n for o, n in rows if o is not None}

    def present(self, user_id: int) -> bool:
        """Active and not away right now."""
        user = self.users.get(user_id)
        if user is None or not user.active:
            return False
        return user.away_until is None or user.away_until <= self.now

    def caps(self, member: Member) -> tuple[int | None, int | None]:
        """The member's ``(max_open, max_per_day)``: their own where given, else the workflow's."""
        max_open = self.max_open if member.max_open is None else member.max_open
        max_per_day = self.max_per_day if member.max_per_day is None else member.max_per_day
        return max_open, max_per_day

    def at_cap(self, member: Member) -> bool:
        """True when the member holds or received today as many records as a cap allows."""
        max_open, max_per_day = self.caps(member)
        if max_open is not None and self.load[member.user_id] >= max_open:
            return True
        return max_per_day is not None and self.today[member.user_id] >= max_per_day

    def _over(self, user_id: int) -> bool:
        """True when ``user_id`` reached a cap of the workflow's."""
        if self.max_open is not None and self.load[user_id] >= self.max_open:
            return True
        return self.max_per_day is not None and self.today[user_id] >= self.max_per_day

    def working(self, member: Member) -> bool:
        """True when today is one of the member's working days."""
        return member.working_days is None or self.weekday in member.working_days

    def eligible(self, member: Member) -> bool:
        """Present, working today, and under both caps."""
        return self.present(member.user_id) and self.working(member) and not self.at_cap(member)

    def members(self, entries: list[Any]) -> list[Member]:
        """Members from YAML entries: a user name, or ``{user, weight, working_days, max_open,
        max_per_day}``."""
        out = []
        for entry in entries:
            spec: dict[str, Any] = {"user": entry} if isinstance(entry, str) else entry
            user = self.by_name.get(spec["user"])
            if user is None or user.id is None:
                self.result.problems.append(_("no user '{user}': left out", user=spec["user"]))
                continue
            days = spec.get("working_days")
            working = frozenset(DAYS.index(d) for d in days) if days else None
            if "max_open" in spec or "max_per_day" in spec:
                self.own_caps.add(user.id)
            member = Member(user.id, user.name, int(spec.get("weight", 1)), working,
                            spec.get("max_open"), spec.get("max_per_day"))  # fmt: skip
            out.append(member)
        return out

    def team(self, name: str) -> list[Member]:
        """Every operator of a team, in name order, with weight 1 (list managers as members)."""
        team_id = self.team_ids.get(name)
        if team_id is None:
            self.result.problems.append(_("no team '{team}': its rule assigns nobody", team=name))
            return []
        users = sorted(
            (u for u in self.users.values() if u.team_id == team_id and u.role == "operator"),
            key=lambda u: u.name,
        )
        return [Member(u.id, u.name) for u in users if u.id is not None]

    def took(self, user_id: int, record: RecordSnapshot | None = None) -> None:
        """Count one more record for ``user_id``, open and received today."""
        self.load.took(user_id, record)
        self.today[user_id] += 1

    def drop_capped(self, scopes: dict[str, Scope], user_id: int) -> None:
        """Take ``user_id`` out of the scopes where a cap of theirs is now used up.

        A scope's eligible list is rebuilt only when it changes: weighted
        strategies keep their state keyed by that very list.
        """
        if user_id not in self.own_caps and not self._over(user_id):
            return  # the common case, once per pick: no scan of the scopes
        for scope in scopes.values():
            if any(m.user_id == user_id and self.at_cap(m) for m in scope.eligible):
                scope.eligible = [
                    m for m in scope.eligible if m.user_id != user_id or not self.at_cap(m)
                ]


def build_scopes(
    ctx: WriteContext, wf: WorkflowDef, roster: Roster, contain: Containment | None = None
) -> dict[str, Scope]:
    """Every scope of the workflow (``default`` and one per rule) with its strategy and state.

    A strategy that fails to start raises :class:`PluginError`; with ``contain``
    it is recorded there instead and its scope kept without a strategy, so
    the records routed to it wait.
    """
    spec = wf.definition.get("assignment", {})
    default_strategy = spec.get("strategy", "round_robin")
    wanted: list[tuple[str, list[Member], str]] = []
    if spec.get("members"):
        wanted.append(("default", roster.members(spec["members"]), default_strategy))
    for i, rule in enumerate(spec.get("rules", [])):
        if "members" in rule:
            found = roster.members(rule["members"])
        elif "team" in rule:
            found = roster.team(rule["team"])
        else:
            continue  # a rule without members uses the default scope
        wanted.append((rule_key(rule, i), found, rule.get("strategy", default_strategy)))
    out = {}
    for key, found, strategy in wanted:
        factory = ctx.registry.strategies.get(strategy)
        if factory is None:
            known = ", ".join(sorted(ctx.registry.strategies))
            raise InvalidInput(
                _(
                    "workflow {wf}: no assignment strategy '{strategy}' ({known})",
                    wf=wf.name,
                    strategy=strategy,
                    known=known,
                )
            )
        saved = ctx.session.get(AssignCursor, f"{wf.name}:{key}")
        plugin = ctx.registry.strategy_plugins.get(strategy, "core")
        scope = Scope(key, found, None, name=strategy, plugin=plugin)
        out[key] = scope
        try:
            scope.strategy = factory(found, dict(saved.state) if saved else {})
            scope.takes_record = takes_record(scope.strategy)
        except Exception as exc:
            error = scope.error("factory", exc)
            if contain is None:
                raise error from exc
            contain.fail(error, None, cause_of(wf, key))
            continue
        scope.eligible = [m for m in found if roster.eligible(m)]
    return out


def _candidates(
    ctx: WriteContext, wf: WorkflowDef, record_ids: list[int] | None, owned: bool = False
) -> Any:
    spec = wf.definition.get("assignment", {})
    dialect = ctx.session.get_bind().dialect.name
    rules = spec.get("rules", [])
    if rules:
        operators = ctx.registry.operators
        whens = [
            (conditions.to_sql(r["when"], dialect, ctx.now, operators), i)
            for i, r in enumerate(rules)
        ]
        route: Any = case(*whens, else_=-1)
    else:
        route = literal(-1)
    query = (
        select(Record.id, route)
        .where(open_filter(wf), col(Record.pool_id).is_(None))
        .order_by(col(Record.id))
    )
    if not owned:
        query = query.where(col(Record.owner_id).is_(None))
    if record_ids is not None:
        query = query.where(col(Record.id).in_(record_ids))
    if dialect == "postgresql":
        # another worker or a claim may hold some rows; skip them rather than wait
        query = query.with_for_update(skip_locked=True, of=Record)
    return query


def _sticky_owners(ctx: WriteContext, candidates: Any) -> dict[int, int]:
    mine, theirs, other = aliased(DedupeKey), aliased(DedupeKey), aliased(Record)
    ids = candidates.with_only_columns(col(Record.id)).order_by(None).subquery()
    same_key = and_(
        col(theirs.field) == col(mine.field),
        col(theirs.value) == col(mine.value),
        col(theirs.record_id) != col(mine.record_id),
    )
    query = (
        select(mine.record_id, other.owner_id)
        .join(theirs, same_key)
        .join(other, col(other.id) == col(theirs.record_id))
        .where(col(mine.record_id).in_(select(ids.c.id)))
        .where(col(other.owner_id).is_not(None), col(other.archived_at).is_(None))
        .order_by(col(other.id))
    )
    found: dict[int, int] = {}
    for record_id, owner_id in ctx.session.exec(query).all():
        if owner_id is not None:
            found.setdefault(record_id, owner_id)
    return found


def run(
    ctx: WriteContext,
    wf: WorkflowDef,
    record_ids: list[int] | None = None,
    *,
    contained: bool = False,
) -> AssignResult:
    """Assign the unowned records of ``wf``'s kind that are in no pool (or just ``record_ids``).

    ``contained`` (the scheduler's passes): a record that fails (its strategy
    raised, its routing rule cannot read it, a change hook raised) is skipped
    and listed in ``failures``, the others are assigned. Otherwise the first
    failure is raised and the caller's transaction undone.
    """
    result = AssignResult(wf.name)
    spec = wf.definition.get("assignment")
    if not spec:
        return result
    contain = Containment(ctx, wf.name) if contained else None
    candidates = _candidates(ctx, wf, record_ids)
    rows = [(r, i, None) for r, i in _routed(ctx, wf, candidates, contain)]
    sticky = _sticky_owners(ctx, candidates) if spec.get("sticky") and rows else {}
    _assign(ctx, wf, rows, sticky, result, "assign", None, contain)
    result.failures = contain.failures if contain else []
    return result


def reassign(
    ctx: WriteContext,
    wf: WorkflowDef,
    owners: dict[int, int],
    cause: str,
    contain: Containment | None = None,
) -> int:
    """Give each record in ``owners`` (record id to current owner) to someone else by the rules.

    Used when an owner missed the SLA; records nobody else can take stay put,
    and so do those that fail, recorded in ``contain`` (see :func:`run`).
    """
    result = AssignResult(wf.name)
    if not owners or not wf.definition.get("assignment"):
        return 0
    route = _candidates(ctx, wf, list(owners), owned=True)
    rows = [(r, i, owners[r]) for r, i in _routed(ctx, wf, route, contain)]
    _assign(ctx, wf, rows, {}, result, "reassign", cause, contain)
    return result.assigned


def _routed(
    ctx: WriteContext, wf: WorkflowDef, candidates: Any, contain: Containment | None
) -> list[tuple[int, int]]:
    """The candidates with the index of the routing rule each matches (-1: none)."""
    if contain is None:
        return list(ctx.session.exec(candidates).all())

    def rows(within: Any) -> list[tuple[int, int]]:
        return list(ctx.session.exec(candidates.where(within)).all())

    coarse = and_(open_filter(wf), col(Record.pool_id).is_(None))
    found = contain.records(cause_of(wf, "routing"), true(), coarse, rows)
    return [row for part in found for row in part]


def _assign(
    ctx: WriteContext,
    wf: WorkflowDef,
    rows: Sequence[tuple[int, int, int | None]],
    sticky: dict[int, int],
    result: AssignResult,
    action: str,
    cause: str | None,
    contain: Containment | None,
) -> None:
    roster = Roster(ctx.session, ctx.now, wf, result)
    all_scopes = build_scopes(ctx, wf, roster, contain)
    rules = wf.definition["assignment"].get("rules", [])
    rule_scope = [
        rule_key(r, i) if rule_key(r, i) in all_scopes else "default" for i, r in enumerate(rules)
    ]
    plan: list[dict[str, Any]] = []
    left: Counter[str] = Counter()
    wanting = {k for k, s in all_scopes.items() if s.takes_record}
    seen = records.snapshots(
        ctx.session,
        [r for r, i, _c in rows if (rule_scope[i] if i >= 0 else "default") in wanting],
    )
    for record_id, index, current in rows:
        owner = sticky.get(record_id)
        if owner is not None and roster.present(owner):
            roster.took(owner, seen.get(record_id))
            roster.drop_capped(all_scopes, owner)
            plan.append({"rid": record_id, "uid": owner, "old": None, "why": "sticky"})
            continue
        key = rule_scope[index] if index >= 0 else "default"
        scope = all_scopes.get(key)
        if scope is None:
            left["no rule matched and there are no default members"] += 1
            continue
        if scope.strategy is None:
            left[f"{key}: its strategy failed"] += 1
            continue
        eligible = scope.eligible
        if current is not None:
            eligible = [m for m in eligible if m.user_id != current]
        record = seen.get(record_id)
        try:
            if scope.takes_record:
                wide: Any = scope.strategy  # a v2 pick, beyond the Strategy protocol
                member = wide.pick(eligible, roster.load, record=record)
            else:
                member = scope.strategy.pick(eligible, roster.load)
        except Exception as exc:
            error = scope.error("pick", exc)
            if contain is None:
                raise error from exc
            contain.fail(error, record_id, cause or cause_of(wf, key))
            continue
        if member is None:
            left[f"{key}: every member is away, off today or at a cap"] += 1
            continue
        roster.took(member.user_id, record)
        roster.drop_capped(all_scopes, member.user_id)
        plan.append({"rid": record_id, "uid": member.user_id, "old": current, "why": key})
    if contain is None:
        written = _write(ctx, wf, plan, action, cause)
    else:
        done = contain.batch(
            cause or f"assign:{wf.name}",
            partial(_write, ctx, wf, plan, action, cause),
            lambda: plan,
            lambda some: _write(ctx, wf, list(some), action, cause),
            lambda p: (p["rid"], cause or cause_of(wf, p["why"])),
        )
        written = [p for part in done for p in part]
    _save_cursors(ctx, wf, all_scopes, contain)
    names = {uid: u.name for uid, u in roster.users.items()}
    result.assigned = len(written)
    result.by_user = dict(sorted(Counter(names[p["uid"]] for p in written).items()))
    result.by_rule = dict(sorted(Counter(p["why"] for p in written).items()))
    result.left = dict(left)


def _save_cursors(
    ctx: WriteContext, wf: WorkflowDef, scopes: dict[str, Scope], contain: Containment | None
) -> None:
    """Upsert each scope's strategy state (one statement, so concurrent first runs cannot clash).

    A strategy whose ``state`` raises keeps the state it saved last time.
    """
    rows = []
    for s in scopes.values():
        if s.strategy is None:
            continue
        try:
            state = s.strategy.state()
        except Exception as exc:
            error = s.error("state", exc)
            if contain is None:
                raise error from exc
            contain.fail(error, None, cause_of(wf, s.key))
            continue
        rows.append({"scope": f"{wf.name}:{s.key}", "state": state, "updated_at": ctx.now})
    if not rows:
        return
    table = AssignCursor.metadata.tables["assign_cursor"]
    dialect = ctx.session.get_bind().dialect.name
    upsert = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    stmt = upsert.values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["scope"],
        set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at},
    )
    ctx.session.execute(stmt)


def cause_of(wf: WorkflowDef, why: str) -> str:
    """The journal cause of an assignment by scope or rule ``why``."""
    return f"assign:{wf.name}:{why}"


def _write(
    ctx: WriteContext, wf: WorkflowDef, plan: list[dict[str, Any]], action: str, cause: str | None
) -> list[dict[str, Any]]:
    """Hand each planned record to its new owner; return the plan."""
    if not plan:
        return plan
    rows = [
        {"id": p["rid"], "owner_id": p["uid"], "old_owner_id": p["old"],
         "cause": cause or cause_of(wf, p["why"])}
        for p in plan
    ]  # fmt: skip
    bulk.hand_over(ctx, wf.kind, rows, action)
    return plan
