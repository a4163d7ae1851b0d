"""The one facade of crm-core: the CLI, the TUI, plugins and tests all call this.

Open a CRM with :meth:`Crm.open`, then call its methods; every method takes
the acting user's name first, checks permissions, and runs as one
transaction, journal included::

    from crm_core.api import Crm

    crm = Crm.open("sqlite:///crm.db")
    result = crm.add_record("alice", "lead", {"phone": "13812345678"})
    crm.log_activity("alice", result.record.id, "call", note="asked for a quote")

Errors are subclasses of :class:`crm_core.errors.CrmError`; each carries the
CLI's exit code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func
from sqlalchemy.exc import DataError, OperationalError, ProgrammingError
from sqlmodel import Session, col, select

from crm_core import journal, permissions, records, schema
from crm_core.clock import Clock, system_clock
from crm_core.config import load_settings
from crm_core.db import make_engine, read_session, transaction
from crm_core.errors import (
    Conflict,
    CrmError,
    Duplicate,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PluginError,
)
from crm_core.fields import ActivityType, FieldSpec, KindSpec, Registry
from crm_core.fieldsql import ensure_field_indexes, field_equals
from crm_core.models import (
    ROLES,
    Activity,
    Contact,
    Deal,
    Journal,
    Pool,
    PoolMember,
    Record,
    Task,
    Team,
    User,
    WorkflowDef,
)
from crm_core.permissions import Actor
from crm_core.plugins import PluginHost, PluginInfo
from crm_core.records import WriteContext
from crm_core.views import (
    ActivityView,
    AddResult,
    ContactView,
    DealView,
    JournalEntry,
    PoolView,
    RecordChange,
    RecordView,
    TaskView,
    TeamView,
    UserView,
    WorkflowView,
)
from crm_core.workflow import engine
from crm_core.workflow.loader import LoadResult, load_workflow, workflow_schema

__all__ = [
    "ActivityType",
    "ActivityView",
    "AddResult",
    "Conflict",
    "ContactView",
    "Crm",
    "CrmError",
    "DealView",
    "Duplicate",
    "FieldError",
    "FieldSpec",
    "InvalidInput",
    "JournalEntry",
    "KindSpec",
    "LoadResult",
    "NotFound",
    "PermissionDenied",
    "PluginError",
    "PluginInfo",
    "PoolView",
    "RecordChange",
    "RecordView",
    "TaskView",
    "TeamView",
    "UserView",
    "WorkflowView",
]

MAX_LIMIT = 10_000


@dataclass
class _Names:
    """Id-to-name lookups for rendering views, loaded once per call."""

    users: dict[int, str]
    pools: dict[int, str]

    @classmethod
    def load(cls, session: Session) -> _Names:
        users = {u.id: u.name for u in session.exec(select(User)).all() if u.id is not None}
        pools = {p.id: p.name for p in session.exec(select(Pool)).all() if p.id is not None}
        return cls(users, pools)

    def user(self, user_id: int | None) -> str | None:
        return self.users.get(user_id) if user_id is not None else None


def _record_view(r: Record, names: _Names) -> RecordView:
    assert r.id is not None
    return RecordView(
        id=r.id,
        kind=r.kind,
        title=r.title,
        stage=r.stage,
        owner=names.user(r.owner_id),
        pool=names.pools.get(r.pool_id) if r.pool_id is not None else None,
        fields=dict(r.data),
        created_at=r.created_at,
        updated_at=r.updated_at,
        stage_entered_at=r.stage_entered_at,
        last_activity_at=r.last_activity_at,
        archived_at=r.archived_at,
        version=r.version,
    )


def _pk(value: int | None) -> int:
    """A stored row's id (rows read back from the database always have one)."""
    assert value is not None
    return value


def _parse_amount(amount: str | Decimal | int | float) -> int:
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise InvalidInput(f"amount {amount!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise InvalidInput(f"amount {amount!r} must be a finite number >= 0")
    minor = value * 100
    if minor != minor.to_integral_value():
        raise InvalidInput(f"amount {amount!r} has more than two decimals")
    if minor >= 2**63:
        raise InvalidInput(f"amount {amount!r} is too large")
    return int(minor)


class Crm:
    """One CRM: a database, the plugins that shape it, and a clock."""

    def __init__(self, engine: Engine, host: PluginHost, clock: Clock = system_clock) -> None:
        self.engine = engine
        self.host = host
        self.clock = clock
        self.registry = Registry(host)
        self._schema_checked = False

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        disabled_plugins: Iterable[str] | None = None,
        extra_plugins: Iterable[tuple[str, object]] = (),
        entry_points: bool = True,
        clock: Clock = system_clock,
    ) -> Crm:
        """Open the CRM at ``url`` (default: settings, then ``./crm.db``) with its plugins.

        ``extra_plugins`` registers ``(name, module)`` pairs besides those found
        through entry points; ``disabled_plugins`` names plugins to skip.
        """
        settings = load_settings(
            url, frozenset(disabled_plugins) if disabled_plugins is not None else None
        )
        host = PluginHost(settings.disabled_plugins, extra_plugins, entry_points)
        return cls(make_engine(settings.database_url), host, clock)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------

    def init(self, admin: str | None = None) -> list[str]:
        """Create or upgrade the schema and field indexes; add a first admin if there is none.

        Returns the names of the indexes created. Safe to run again.
        """
        self.upgrade()
        created = ensure_field_indexes(self.engine, list(self.registry.kinds.values()))
        if admin:
            with self._write(None, "system:init") as ctx:
                if ctx.session.exec(select(User).limit(1)).first() is None:
                    self._insert_user(ctx, admin, "admin", None)
        return created

    def upgrade(self) -> str | None:
        """Run the schema migrations up to the newest; return the revision reached."""
        schema.upgrade(self.engine)
        self._schema_checked = True
        return schema.current_revision(self.engine)

    def _check_schema(self) -> None:
        if self._schema_checked:
            return
        try:
            current = schema.current_revision(self.engine)
        except OperationalError as exc:
            raise InvalidInput(f"cannot open the database: {exc.orig}") from None
        if current is None:
            raise InvalidInput(f"{self.engine.url!r} is not a CRM database yet: run `crm init`")
        if current != schema.head_revision():
            raise InvalidInput(
                f"the database is at schema {current}, this crm needs "
                f"{schema.head_revision()}: run `crm db upgrade`"
            )
        self._schema_checked = True

    @contextmanager
    def _write(self, actor: str | None, cause: str | None = None) -> Iterator[WriteContext]:
        self._check_schema()
        try:
            with transaction(self.engine) as session:
                who = permissions.load_actor(session, actor) if actor is not None else None
                why = cause or (who.cause if who else "system")
                yield WriteContext(session, self.registry, self.host, who, why, self.clock())
        except DataError as exc:  # e.g. a NUL character, which PostgreSQL text cannot hold
            first_line = str(exc.orig).splitlines()[0]
            raise InvalidInput(f"the database refused a value: {first_line}") from None
        except (OperationalError, ProgrammingError) as exc:
            raise CrmError(f"database error: {str(exc.orig).splitlines()[0]}") from exc

    @contextmanager
    def _read(self, actor: str) -> Iterator[tuple[Session, Actor]]:
        self._check_schema()
        with read_session(self.engine) as session:
            yield session, permissions.load_actor(session, actor)

    # -- plugins and kinds ---------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """List the plugins: name, version, hooks and kinds (and the disabled ones)."""
        return self.host.infos(self.registry.kinds_by_plugin())

    def kinds(self) -> list[KindSpec]:
        """List the kinds of record the plugins declared."""
        return sorted(self.registry.kinds.values(), key=lambda k: k.name)

    def kind(self, name: str) -> KindSpec:
        """Return one kind with its fields."""
        return self.registry.kind(name)

    def activity_types(self) -> list[ActivityType]:
        """List the activity types that can be logged."""
        return sorted(self.registry.activity_types.values(), key=lambda a: a.name)

    def coerce_fields(self, kind: str, raw: dict[str, str]) -> dict[str, Any]:
        """Turn ``FIELD=TEXT`` input into typed values for ``kind`` (empty text clears)."""
        return self.registry.coerce(kind, raw)

    # -- workflows -------------------------------------------------------------

    def check_workflow(self, path: str | Path) -> LoadResult:
        """Read and check a workflow file against the schema, its stages and the kind's fields."""
        return load_workflow(path, self.registry)

    def apply_workflow(self, actor: str, path: str | Path) -> WorkflowView:
        """Apply a checked workflow file to its kind (admins only).

        Refused, and nothing changed, when the file has problems or when live
        records sit in stages the new version no longer has.
        """
        result = self.check_workflow(path)
        if result.workflow is None:
            raise InvalidInput("; ".join(str(p) for p in result.problems))
        data = result.workflow.data
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            permissions.require_admin(ctx.actor, "apply workflows")
            stranded = ctx.session.exec(
                select(Record.stage, func.count())
                .where(
                    Record.kind == data["kind"],
                    col(Record.archived_at).is_(None),
                    col(Record.stage).is_not(None),
                    col(Record.stage).not_in(result.workflow.stage_ids),
                )
                .group_by(col(Record.stage))
            ).all()
            if stranded:
                held = ", ".join(f"'{s}' holds {n} record(s)" for s, n in stranded)
                raise Conflict(f"the new workflow drops stages that are in use: {held}")
            current = engine.applied(ctx.session, data["kind"])
            if current is not None and current.name != data["workflow"]:
                raise Conflict(f"{data['kind']} already runs workflow {current.name}")
            before = {"version": current.version} if current else None
            row = current or WorkflowDef(name=data["workflow"], kind=data["kind"], version=0,
                                         definition={}, applied_at=ctx.now)  # fmt: skip
            row.version, row.definition = data["version"], data
            row.applied_at, row.applied_by = ctx.now, ctx.actor.id
            ctx.session.add(row)
            ctx.session.flush()
            after = {"version": data["version"], "file": str(path)}
            ctx.journal("workflow", _pk(row.id), None, "apply", before, after)
            return _workflow_view(row)

    def list_workflows(self, actor: str) -> list[WorkflowView]:
        """List the applied workflows."""
        with self._read(actor) as (session, _who):
            rows = session.exec(select(WorkflowDef).order_by(col(WorkflowDef.name))).all()
            return [_workflow_view(w) for w in rows]

    def move_record(
        self, actor: str, record_id: int, stage: str, *, reason: str | None = None
    ) -> RecordView:
        """Move a record to ``stage`` as its workflow allows.

        A refusal names the failed guard, the missing field or the lost reason needed.
        """
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            record = self._load_record(ctx.session, ctx.actor, record_id, lock=True)
            if record.archived_at is not None:
                raise Conflict(f"record #{record_id} is archived")
            engine.move(ctx, record, stage, reason)
            return _record_view(record, _Names.load(ctx.session))

    @staticmethod
    def workflow_schema() -> dict[str, Any]:
        """The JSON Schema of workflow files, for editors' completion."""
        return workflow_schema()

    # -- users, teams and pools ---------------------------------------------

    def _insert_user(self, ctx: WriteContext, name: str, role: str, team: str | None) -> User:
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not name.strip() or len(name) > 64:
            raise InvalidInput("a user name must be 1 to 64 characters")
        if ctx.session.exec(select(User).where(User.name == name)).first():
            raise Conflict(f"user '{name}' already exists")
        team_id = self._team_id(ctx.session, team) if team else None
        user = User(name=name, role=role, team_id=team_id, created_at=ctx.now)
        ctx.session.add(user)
        ctx.session.flush()
        assert user.id is not None
        ctx.journal("user", user.id, None, "create", None, self._user_state(user))
        return user

    @staticmethod
    def _user_state(user: User) -> dict[str, Any]:
        return {
            "name": user.name,
            "role": user.role,
            "team_id": user.team_id,
            "active": user.active,
        }

    @staticmethod
    def _team_id(session: Session, name: str) -> int:
        team = session.exec(select(Team).where(Team.name == name)).first()
        if team is None or team.id is None:
            raise NotFound(f"no team '{name}' (add it with: crm team add {name})")
        return team.id

    @staticmethod
    def _user(session: Session, name: str) -> User:
        user = session.exec(select(User).where(User.name == name)).first()
        if user is None or user.id is None:
            raise NotFound(f"no user '{name}'")
        return user

    def add_user(self, actor: str, name: str, role: str, team: str | None = None) -> UserView:
        """Add a user (admins only)."""
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            permissions.require_admin(ctx.actor, "add users")
            user = self._insert_user(ctx, name, role, team)
            assert user.id is not None
            return UserView(user.id, user.name, user.role, team, user.active)

    def set_user_active(self, actor: str, name: str, active: bool) -> UserView:
        """Activate or deactivate a user (admins only); inactive users cannot act."""
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            permissions.require_admin(ctx.actor, "change users")
            user = self._user(ctx.session, name)
            before = self._user_state(user)
            user.active = active
            ctx.session.add(user)
            assert user.id is not None
            action = "activate" if active else "deactivate"
            ctx.journal("user", user.id, None, action, before, self._user_state(user))
            team = ctx.session.get(Team, user.team_id) if user.team_id else None
            return UserView(user.id, user.name, user.role, team.name if team else None, active)

    def list_users(self, actor: str) -> list[UserView]:
        """List every user with role, team and whether active."""
        with self._read(actor) as (session, _who):
            teams = {t.id: t.name for t in session.exec(select(Team)).all()}
            users = session.exec(select(User).order_by(col(User.name))).all()
            return [
                UserView(_pk(u.id), u.name, u.role, teams.get(u.team_id), u.active) for u in users
            ]

    def add_team(self, actor: str, name: str) -> TeamView:
        """Add a team (admins only)."""
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            permissions.require_admin(ctx.actor, "add teams")
            if not name.strip():
                raise InvalidInput("a team needs a name")
            if ctx.session.exec(select(Team).where(Team.name == name)).first():
                raise Conflict(f"team '{name}' already exists")
            team = Team(name=name, created_at=ctx.now)
            ctx.session.add(team)
            ctx.session.flush()
            assert team.id is not None
            ctx.journal("team", team.id, None, "create", None, {"name": name})
            return TeamView(team.id, name, [])

    def list_teams(self, actor: str) -> list[TeamView]:
        """List the teams and their members."""
        with self._read(actor) as (session, _who):
            out = []
            for team in session.exec(select(Team).order_by(col(Team.name))).all():
                members = session.exec(
                    select(User.name).where(User.team_id == team.id).order_by(col(User.name))
                ).all()
                out.append(TeamView(_pk(team.id), team.name, list(members)))
            return out

    def add_pool(
        self, actor: str, name: str, members: Iterable[str] = (), admins: Iterable[str] = ()
    ) -> PoolView:
        """Add a public pool with its members and pool admins (admins only)."""
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            permissions.require_admin(ctx.actor, "add pools")
            if not name.strip():
                raise InvalidInput("a pool needs a name")
            if ctx.session.exec(select(Pool).where(Pool.name == name)).first():
                raise Conflict(f"pool '{name}' already exists")
            pool = Pool(name=name, created_at=ctx.now)
            ctx.session.add(pool)
            ctx.session.flush()
            assert pool.id is not None
            admins = list(dict.fromkeys(admins))
            everyone = list(dict.fromkeys([*members, *admins]))
            for member in everyone:
                user = self._user(ctx.session, member)
                assert user.id is not None
                ctx.session.add(
                    PoolMember(pool_id=pool.id, user_id=user.id, is_admin=member in admins)
                )
            after = {"name": name, "members": everyone, "admins": admins}
            ctx.journal("pool", pool.id, None, "create", None, after)
            return PoolView(pool.id, name, everyone, admins)

    def list_pools(self, actor: str) -> list[PoolView]:
        """List the pools with their members."""
        with self._read(actor) as (session, _who):
            out = []
            for pool in session.exec(select(Pool).order_by(col(Pool.name))).all():
                rows = session.exec(
                    select(User.name, PoolMember.is_admin)
                    .join(PoolMember, col(PoolMember.user_id) == User.id)
                    .where(PoolMember.pool_id == pool.id)
                    .order_by(col(User.name))
                ).all()
                members = [n for n, _ in rows]
                admins = [n for n, a in rows if a]
                out.append(PoolView(_pk(pool.id), pool.name, members, admins))
            return out

    # -- records ---------------------------------------------------------------

    def _load_record(self, session: Session, who: Actor, record_id: int, lock: bool) -> Record:
        query = select(Record).where(Record.id == record_id)
        if lock:
            query = query.with_for_update()
        record = session.exec(query).first()
        owner = None
        if record is not None and record.owner_id is not None:
            owner_user = session.get(User, record.owner_id)
            owner = owner_user.name if owner_user else None
        return permissions.check_record(who, record, record_id, owner)

    def _owner_id(self, ctx: WriteContext, owner: str | None) -> int | None:
        assert ctx.actor is not None
        if owner is None:
            return ctx.actor.id
        user = self._user(ctx.session, owner)
        if not user.active:
            raise InvalidInput(f"user '{owner}' is inactive and cannot own records")
        permissions.check_owner_choice(ctx.actor, user.id, owner)
        return user.id

    def add_record(
        self,
        actor: str,
        kind: str,
        fields: dict[str, Any],
        *,
        title: str | None = None,
        owner: str | None = None,
        merge: bool = False,
    ) -> AddResult:
        """Add a record of ``kind``; its owner is ``owner`` or else the actor.

        A value that duplicates another record's dedupe key is refused with
        :class:`Duplicate`, unless ``merge`` is true: then the new values fill
        the existing record's empty fields (its own values are kept) and the
        result says which fields were filled and which were kept.
        """
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            self.registry.kind(kind)
            owner_id = self._owner_id(ctx, owner)
            try:
                stage = engine.first_stage(ctx.session, kind)
                record = records.create(
                    ctx, kind, fields, title=title, owner_id=owner_id, stage=stage
                )
            except Duplicate as dup:
                if not merge:
                    raise
                return self._merge_into(ctx, dup.record_id, fields)
            return AddResult(_record_view(record, _Names.load(ctx.session)))

    def _merge_into(self, ctx: WriteContext, record_id: int, fields: dict[str, Any]) -> AddResult:
        assert ctx.actor is not None
        record = self._load_record(ctx.session, ctx.actor, record_id, lock=True)
        filled = {k: v for k, v in fields.items() if v is not None and k not in record.data}
        kept = sorted(
            k
            for k, v in fields.items()
            if k in record.data and v is not None and record.data[k] != v
        )
        records.change(ctx, record, "merge", values=filled)
        view = _record_view(record, _Names.load(ctx.session))
        return AddResult(view, merged=True, filled=sorted(filled), kept=kept)

    def update_record(
        self,
        actor: str,
        record_id: int,
        fields: dict[str, Any] | None = None,
        *,
        title: str | None = None,
        owner: str | None = None,
        expected_version: int | None = None,
    ) -> RecordView:
        """Change fields (``None`` clears one), the title, or the owner of a record.

        With ``expected_version``, a record changed by someone else since it
        was read is refused with :class:`Conflict` instead of overwritten.
        """
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            record = self._load_record(ctx.session, ctx.actor, record_id, lock=True)
            if expected_version is not None and record.version != expected_version:
                raise Conflict(
                    f"record #{record_id} is at version {record.version}, not "
                    f"{expected_version}: someone changed it; show it again and retry"
                )
            if record.archived_at is not None:
                raise Conflict(f"record #{record_id} is archived")
            if owner is not None:
                owner_id = self._owner_id(ctx, owner)
                records.change(ctx, record, "assign", owner_id=owner_id, pool_id=None)
            records.change(ctx, record, "update", values=fields or {}, title=title)
            return _record_view(record, _Names.load(ctx.session))

    def archive_record(self, actor: str, record_id: int) -> RecordView:
        """Archive a record: it leaves lists but keeps its history. Nothing is deleted."""
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            record = self._load_record(ctx.session, ctx.actor, record_id, lock=True)
            if record.archived_at is not None:
                raise Conflict(f"record #{record_id} is already archived")
            records.change(ctx, record, "archive", archived=True)
            return _record_view(record, _Names.load(ctx.session))

    def get_record(self, actor: str, record_id: int) -> RecordView:
        """Return one record the actor may see."""
        with self._read(actor) as (session, who):
            record = self._load_record(session, who, record_id, lock=False)
            return _record_view(record, _Names.load(session))

    def list_records(
        self,
        actor: str,
        *,
        kind: str | None = None,
        owner: str | None = None,
        stage: str | None = None,
        where: dict[str, Any] | None = None,
        archived: bool = False,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[RecordView]:
        """List the records the actor may see, newest first.

        ``where`` maps field names to exact values (needs ``kind``);
        ``before_id`` pages: pass the last id of the previous page.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        with self._read(actor) as (session, who):
            query = select(Record).where(permissions.record_filter(who))
            if kind:
                self.registry.kind(kind)
                query = query.where(Record.kind == kind)
            if owner:
                query = query.where(Record.owner_id == self._user(session, owner).id)
            if stage:
                query = query.where(Record.stage == stage)
            if where:
                if not kind:
                    raise InvalidInput("filtering on fields needs --kind")
                dialect = self.engine.dialect.name
                for name, value in where.items():
                    query = query.where(field_equals(dialect, name, value))
            if not archived:
                query = query.where(col(Record.archived_at).is_(None))
            if before_id is not None:
                query = query.where(col(Record.id) < before_id)
            rows = session.exec(query.order_by(col(Record.id).desc()).limit(limit)).all()
            names = _Names.load(session)
            return [_record_view(r, names) for r in rows]

    # -- contacts and deals --------------------------------------------------------

    def add_contact(
        self,
        actor: str,
        record_id: int,
        name: str,
        *,
        phone: str | None = None,
        email: str | None = None,
        position: str | None = None,
    ) -> ContactView:
        """Add a person at a customer record."""
        if not name.strip():
            raise InvalidInput("a contact needs a name")
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            self._load_record(ctx.session, ctx.actor, record_id, lock=False)
            problems = []
            if phone:
                try:
                    self.registry.normalizers["phone"](phone)
                except ValueError as exc:
                    problems.append(("phone", str(exc)))
            if email:
                try:
                    self.registry.normalizers["email"](email)
                except ValueError as exc:
                    problems.append(("email", str(exc)))
            if problems:
                raise FieldError("contact", problems)
            contact = Contact(
                record_id=record_id,
                name=name,
                phone=phone,
                email=email,
                position=position,
                created_at=ctx.now,
            )
            ctx.session.add(contact)
            ctx.session.flush()
            view = ContactView(_pk(contact.id), record_id, name, phone, email, position)
            ctx.journal("contact", view.id, record_id, "create", None, view.to_dict())
            return view

    def list_contacts(self, actor: str, record_id: int) -> list[ContactView]:
        """List the contacts of a record."""
        with self._read(actor) as (session, who):
            self._load_record(session, who, record_id, lock=False)
            rows = session.exec(
                select(Contact)
                .where(Contact.record_id == record_id, col(Contact.archived_at).is_(None))
                .order_by(col(Contact.id))
            ).all()
            return [
                ContactView(_pk(c.id), c.record_id, c.name, c.phone, c.email, c.position)
                for c in rows
            ]

    def add_deal(
        self,
        actor: str,
        record_id: int,
        title: str,
        *,
        amount: str | Decimal | int = 0,
        currency: str = "CNY",
        stage: str = "open",
        expected_close: date | None = None,
    ) -> DealView:
        """Add a deal (opportunity) to a record; ``amount`` keeps two decimals exactly."""
        if not title.strip():
            raise InvalidInput("a deal needs a title")
        if len(currency) != 3 or not currency.isalpha():
            raise InvalidInput(f"currency must be a three-letter code, not {currency!r}")
        minor = _parse_amount(amount)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            self._load_record(ctx.session, ctx.actor, record_id, lock=False)
            deal = Deal(
                record_id=record_id,
                title=title,
                amount_minor=minor,
                currency=currency.upper(),
                stage=stage,
                expected_close=expected_close,
                created_at=ctx.now,
                updated_at=ctx.now,
            )
            ctx.session.add(deal)
            ctx.session.flush()
            view = _deal_view(deal)
            ctx.journal("deal", view.id, record_id, "create", None, view.to_dict())
            return view

    def list_deals(self, actor: str, record_id: int) -> list[DealView]:
        """List the deals of a record."""
        with self._read(actor) as (session, who):
            self._load_record(session, who, record_id, lock=False)
            rows = session.exec(
                select(Deal)
                .where(Deal.record_id == record_id, col(Deal.archived_at).is_(None))
                .order_by(col(Deal.id))
            ).all()
            return [_deal_view(d) for d in rows]

    # -- activities and tasks ----------------------------------------------------

    def log_activity(
        self,
        actor: str,
        record_id: int,
        type: str,
        *,
        note: str | None = None,
        at: datetime | None = None,
    ) -> ActivityView:
        """Log a touchpoint on a record; it moves the record's last activity time forward."""
        self.registry.activity_type(type)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            when = at or ctx.now
            if when > ctx.now:
                raise InvalidInput("an activity cannot happen in the future")
            record = self._load_record(ctx.session, ctx.actor, record_id, lock=True)
            activity = Activity(
                record_id=record_id,
                type=type,
                note=note,
                actor_id=ctx.actor.id,
                occurred_at=when,
            )
            ctx.session.add(activity)
            if record.last_activity_at is None or record.last_activity_at < when:
                record.last_activity_at = when
                ctx.session.add(record)
            ctx.session.flush()
            view = ActivityView(_pk(activity.id), record_id, type, note, ctx.actor.name, when)
            ctx.journal("activity", view.id, record_id, "create", None, view.to_dict())
            return view

    def list_activities(self, actor: str, record_id: int) -> list[ActivityView]:
        """List a record's activities, newest first."""
        with self._read(actor) as (session, who):
            self._load_record(session, who, record_id, lock=False)
            rows = session.exec(
                select(Activity)
                .where(Activity.record_id == record_id)
                .order_by(col(Activity.occurred_at).desc(), col(Activity.id).desc())
            ).all()
            names = _Names.load(session)
            return [
                ActivityView(
                    _pk(a.id), a.record_id, a.type, a.note, names.user(a.actor_id), a.occurred_at
                )
                for a in rows
            ]

    def add_task(
        self,
        actor: str,
        record_id: int | None,
        due: datetime,
        note: str,
        *,
        assignee: str | None = None,
    ) -> TaskView:
        """Add a reminder, for the actor or (managers, admins) for someone they manage."""
        if not note.strip():
            raise InvalidInput("a task needs a note")
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            if record_id is not None:
                self._load_record(ctx.session, ctx.actor, record_id, lock=False)
            user = self._user(ctx.session, assignee) if assignee else None
            assignee_id = user.id if user else ctx.actor.id
            assert assignee_id is not None
            permissions.check_owner_choice(ctx.actor, assignee_id, assignee or ctx.actor.name)
            task = Task(
                record_id=record_id,
                assignee_id=assignee_id,
                due_at=due,
                note=note,
                created_by=ctx.actor.id,
                cause=ctx.cause,
                created_at=ctx.now,
            )
            ctx.session.add(task)
            ctx.session.flush()
            view = _task_view(task, _Names.load(ctx.session))
            ctx.journal("task", view.id, record_id, "create", None, view.to_dict())
            return view

    def complete_task(self, actor: str, task_id: int) -> TaskView:
        """Mark a task done."""
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            task = ctx.session.get(Task, task_id)
            if task is None:
                raise NotFound(f"no task #{task_id}")
            if not (ctx.actor.is_admin or task.assignee_id in ctx.actor.team_user_ids):
                raise PermissionDenied(f"task #{task_id} is not {ctx.actor.name}'s")
            if task.done_at is not None:
                raise Conflict(f"task #{task_id} is already done")
            task.done_at = ctx.now
            ctx.session.add(task)
            after = {"done_at": ctx.now.isoformat()}
            ctx.journal("task", task_id, task.record_id, "done", {"done_at": None}, after)
            return _task_view(task, _Names.load(ctx.session))

    def list_tasks(
        self, actor: str, *, due_before: datetime | None = None, include_done: bool = False
    ) -> list[TaskView]:
        """List the open tasks of the actor (managers: their team; admins: all), by due time."""
        with self._read(actor) as (session, who):
            query = select(Task)
            if not who.is_admin:
                query = query.where(col(Task.assignee_id).in_(sorted(who.team_user_ids)))
            if due_before is not None:
                query = query.where(Task.due_at < due_before)
            if not include_done:
                query = query.where(col(Task.done_at).is_(None))
            rows = session.exec(query.order_by(col(Task.due_at), col(Task.id))).all()
            names = _Names.load(session)
            return [_task_view(t, names) for t in rows]

    # -- journal -----------------------------------------------------------------

    def journal(
        self, actor: str, *, record_id: int | None = None, limit: int = 50
    ) -> list[JournalEntry]:
        """Return journal rows, newest first: all for admins, else of records the actor sees."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        with self._read(actor) as (session, who):
            query = select(Journal)
            if record_id is not None:
                self._load_record(session, who, record_id, lock=False)
                query = query.where(Journal.record_id == record_id)
            elif not who.is_admin:
                visible = select(Record.id).where(permissions.record_filter(who))
                query = query.where(col(Journal.record_id).in_(visible))
            rows = session.exec(query.order_by(col(Journal.id).desc()).limit(limit)).all()
            names = _Names.load(session)
            return [
                JournalEntry(
                    _pk(j.id),
                    j.at,
                    names.user(j.actor_id),
                    j.cause,
                    j.entity,
                    j.entity_id,
                    j.record_id,
                    j.action,
                    j.before,
                    j.after,
                    j.reason,
                )
                for j in rows
            ]

    def replay_journal(self, actor: str) -> dict[int, dict[str, Any]]:
        """Rebuild every record's state from the journal alone (admins only)."""
        with self._read(actor) as (session, who):
            permissions.require_admin(who, "replay the journal")
            rows = session.exec(select(Journal).order_by(col(Journal.id))).yield_per(5000)
            return journal.replay(rows)

    def record_states(self, actor: str) -> dict[int, dict[str, Any]]:
        """Return every record's current state in the journal's shape (admins only)."""
        with self._read(actor) as (session, who):
            permissions.require_admin(who, "read every record")
            rows = session.exec(select(Record).order_by(col(Record.id))).yield_per(5000)
            return {r.id: journal.record_state(r) for r in rows if r.id is not None}

    def count_records(self, actor: str) -> int:
        """Count the records the actor may see (archived included)."""
        with self._read(actor) as (session, who):
            query = select(func.count()).select_from(Record).where(permissions.record_filter(who))
            return int(session.exec(query).one())


def _workflow_view(w: WorkflowDef) -> WorkflowView:
    stages = [s["id"] for s in w.definition["stages"]]
    return WorkflowView(_pk(w.id), w.name, w.kind, w.version, stages, w.applied_at)


def _deal_view(d: Deal) -> DealView:
    return DealView(
        _pk(d.id),
        d.record_id,
        d.title,
        Decimal(d.amount_minor).scaleb(-2),
        d.currency,
        d.stage,
        d.expected_close,
    )


def _task_view(t: Task, names: _Names) -> TaskView:
    return TaskView(
        _pk(t.id),
        t.record_id,
        names.user(t.assignee_id) or "?",
        t.due_at,
        t.note,
        t.done_at,
        t.cause,
    )
