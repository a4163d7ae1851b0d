"""The one facade of crm-core: the CLI, the TUI, plugins and tests all call this.

Open a CRM with :meth:`Crm.open`, then call its methods; every method takes
the acting user's name first, checks permissions, and runs as one
transaction, journal included::

    from crm_core.api import Crm

    crm = Crm.open("sqlite:///crm.db")
    result = crm.add_record("alice", "lead", {"phone": "13812345678"})
    crm.log_activity("alice", result.record.id, "call", note="asked for a quote")

Errors are subclasses of :class:`crm_core.errors.CrmError`; each carries the
CLI's exit code, and its message's id and values (``error.message``), so a
screen can say it in its reader's language.

The words a user reads are translatable (:mod:`crm_core.i18n`): mark a text
with :func:`_` (``_("no pool '{name}'", name=name)``, a :class:`Message` that
is its English until rendered), a constant shown later with :func:`N_`, and
text for the screen right now with :func:`say`. :func:`use_language` picks the
language (the TUI's ``--lang``; else ``CRM_LANG``; else English), and
:func:`localize` turns English the core stored (a reminder's note, a journal
reason) into it. A plugin adds its catalogue with the ``crm_register_messages``
hook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy import Engine, func
from sqlalchemy.exc import DataError, OperationalError, ProgrammingError
from sqlmodel import Session, col, select

from crm_core import (
    browse,
    deals,
    journal,
    journalcheck,
    permissions,
    plugin_settings,
    records,
    reminders,
    saved_filters,
    schema,
    worklist,
)
from crm_core import outbox as outbox_queue
from crm_core import pools as pool_rules
from crm_core.assign import run as assign_run
from crm_core.assign.run import AssignResult
from crm_core.assign.strategies import Load, Member
from crm_core.clock import Clock, system_clock
from crm_core.conditions import Facts
from crm_core.config import PluginConfig, load_settings
from crm_core.convert import convert
from crm_core.db import (
    PROCESSES,
    UTCDateTime,
    database_label,
    make_engine,
    probe,
    read_session,
    sqlite_path,
    transaction,
)
from crm_core.errors import (
    ConfigError,
    Conflict,
    CrmError,
    Duplicate,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PluginError,
    TimedOut,
    excerpt,
    quote,
)
from crm_core.fields import ActivityType, FieldSpec, KindSpec, Registry, ReportSpec, label_of
from crm_core.fieldsql import ensure_field_indexes, field_equals, field_text
from crm_core.i18n import N_, Message, _, localize, say, translate
from crm_core.i18n import active as active_language
from crm_core.i18n import use as use_language
from crm_core.journalcheck import JournalCheck
from crm_core.limits import NAME_MAX, NOTE_MAX, REASON_MAX, TITLE_MAX, check_length
from crm_core.maintenance import MaintenanceReport, maintain
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
from crm_core.notify import Notice
from crm_core.outbox import DeliveryReport, OutboxMessage, OutboxView, Undeliverable
from crm_core.permissions import Actor
from crm_core.plugin_settings import PluginSettings
from crm_core.plugin_write import PluginWrite
from crm_core.plugins import PluginHost, PluginInfo
from crm_core.records import WriteContext
from crm_core.reports import alerts as dashboards
from crm_core.reports.alerts import FigureView
from crm_core.reports.spec import ReportContext, ReportResult
from crm_core.schedule import sweep
from crm_core.schedule import tick as ticks
from crm_core.schedule.simulate import DayReport, simulate
from crm_core.schedule.sweep import SweepResult
from crm_core.schedule.tick import TickResult
from crm_core.schema import BranchStatus
from crm_core.screenparts import (
    DashboardCard,
    DetailPanel,
    ListColumn,
    ScreenParts,
    TalkingPoint,
)
from crm_core.transfer import export_all, exporter, importer
from crm_core.transfer.bundle import run as bundle_run
from crm_core.transfer.bundle.entity import (
    ImportContext,
    ImportEntity,
    Rejection,
    Row,
    Target,
    insert_returning,
    jsonable,
    simple_find,
    taken,
    update_by_id,
)
from crm_core.transfer.bundle.registry import import_entities
from crm_core.transfer.bundle.report import BundleReport
from crm_core.transfer.export_all import BundleExport, ExportedFile
from crm_core.transfer.importer import ImportOptions
from crm_core.transfer.report import ImportProgress, ImportReport
from crm_core.views import (
    ActivityView,
    AddResult,
    BulkResult,
    ContactView,
    DealView,
    JournalEntry,
    KindScope,
    MyWork,
    PoolEntry,
    PoolPage,
    PoolView,
    RecordChange,
    RecordPage,
    RecordSnapshot,
    RecordView,
    SavedFilterView,
    StageMove,
    TalkingPoints,
    TaskView,
    TeamView,
    UserView,
    WorkflowView,
    WorkItem,
)
from crm_core.why import WhyView, explain
from crm_core.workflow import engine
from crm_core.workflow.actions import ActionContext
from crm_core.workflow.loader import LoadResult, load_workflow, workflow_schema
from crm_core.workflow.people import named_users
from crm_core.workflow.plan import WorkflowPlan, make_plan

__all__ = [
    "N_",
    "ActionContext",
    "ActivityType",
    "ActivityView",
    "AddResult",
    "AssignResult",
    "BranchStatus",
    "BulkResult",
    "BundleExport",
    "BundleReport",
    "ConfigError",
    "Conflict",
    "ContactView",
    "Crm",
    "CrmError",
    "DashboardCard",
    "DayReport",
    "DealView",
    "DeliveryReport",
    "DetailPanel",
    "Duplicate",
    "ExportedFile",
    "Facts",
    "FieldError",
    "FieldSpec",
    "FigureView",
    "ImportContext",
    "ImportEntity",
    "ImportProgress",
    "ImportReport",
    "InvalidInput",
    "JournalCheck",
    "JournalEntry",
    "KindScope",
    "KindSpec",
    "ListColumn",
    "Load",
    "LoadResult",
    "Member",
    "Message",
    "MyWork",
    "NotFound",
    "Notice",
    "OutboxMessage",
    "OutboxView",
    "PermissionDenied",
    "PluginError",
    "PluginInfo",
    "PluginSettings",
    "PluginWrite",
    "PoolEntry",
    "PoolPage",
    "PoolView",
    "RecordChange",
    "RecordPage",
    "RecordSnapshot",
    "RecordView",
    "Rejection",
    "ReportContext",
    "ReportResult",
    "ReportSpec",
    "Row",
    "SavedFilterView",
    "StageMove",
    "SweepResult",
    "TalkingPoint",
    "TalkingPoints",
    "Target",
    "TaskView",
    "TeamView",
    "TickResult",
    "TimedOut",
    "UTCDateTime",
    "Undeliverable",
    "UserView",
    "WhyView",
    "WorkItem",
    "WorkflowPlan",
    "WorkflowView",
    "_",
    "active_language",
    "field_text",
    "insert_returning",
    "jsonable",
    "localize",
    "say",
    "simple_find",
    "taken",
    "translate",
    "update_by_id",
    "use_language",
]

MAX_LIMIT = 10_000


USER_KEYS = frozenset({"owner_id", "assignee_id", "members", "admins", "applied_by"})
"""Journal keys whose values are user ids (or lists of them)."""


@dataclass
class _Names:
    """Id-to-name lookups for rendering views, loaded once per call."""

    users: dict[int, str]
    pools: dict[int, str]

    @classmethod
    def load(cls, session: Session) -> _Names:
        # Two columns as plain rows: building every user as an ORM object cost a write
        # that returns one view more than its own statements did.
        users = dict(session.exec(select(User.id, User.name)).all())
        pools = dict(session.exec(select(Pool.id, Pool.name)).all())
        return cls(users, pools)  # type: ignore[arg-type]

    def user(self, user_id: int | None) -> str | None:
        return self.users.get(user_id) if user_id is not None else None

    def named_users(self, *states: dict[str, Any] | None) -> dict[int, str]:
        """The names of the users that journal states give by id (see ``USER_KEYS``)."""
        ids: set[int] = set()
        for state in states:
            for key, value in (state or {}).items():
                if key in USER_KEYS:
                    ids.update(v for v in (value if isinstance(value, list) else [value])
                               if isinstance(v, int))  # fmt: skip
        return {i: self.users[i] for i in sorted(ids) if i in self.users}


def _record_view(r: Record, names: _Names) -> RecordView:
    pool = names.pools.get(r.pool_id) if r.pool_id is not None else None
    return RecordView.of(r, names.user(r.owner_id), pool)


def _pk(value: int | None) -> int:
    """A stored row's id (rows read back from the database always have one)."""
    assert value is not None
    return value


def _parse_amount(amount: str | Decimal | int | float) -> int:
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise InvalidInput(_("amount {amount} is not a number", amount=quote(amount))) from None
    if not value.is_finite() or value < 0:
        raise InvalidInput(_("amount {amount} must be a finite number >= 0", amount=quote(amount)))
    minor = value * 100
    if minor != minor.to_integral_value():
        raise InvalidInput(_("amount {amount} has more than two decimals", amount=quote(amount)))
    if minor >= 2**63:
        raise InvalidInput(_("amount {amount} is too large", amount=quote(amount)))
    return int(minor)


def _check_currency(currency: str) -> None:
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidInput(
            _("currency must be a three-letter code, not {currency}", currency=quote(currency))
        )


def _check_stage(stage: str) -> None:
    if not stage.strip():
        raise InvalidInput(_("a deal stage cannot be empty"))
    check_length("a deal's stage", stage, NAME_MAX)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class _RolledBack(Exception):
    """Raised inside a dry run's transaction to undo it."""


class Crm:
    """One CRM: a database, the plugins that shape it, and a clock."""

    def __init__(
        self,
        engine: Engine,
        host: PluginHost,
        clock: Clock = system_clock,
        channels: Mapping[str, Mapping[str, Any]] | None = None,
        plugin_config: PluginConfig | None = None,
    ) -> None:
        self.engine = engine
        self.host = host
        self.clock = clock
        self.registry = Registry(host, channels)
        self.screen_parts = ScreenParts.collect(host, self.registry.kinds)
        installed = {name for name, plugin in host.pm.list_name_plugin() if plugin is not None}
        self._settings = plugin_settings.collect(host, plugin_config or PluginConfig(), installed)
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
        channels: Mapping[str, Mapping[str, Any]] | None = None,
        plugin_settings: Mapping[str, Mapping[str, Any]] | None = None,
        process: str = "cli",
    ) -> Crm:
        """Open the CRM at ``url`` (default: settings, then ``./crm.db``) with its plugins.

        ``extra_plugins`` registers ``(name, module)`` pairs besides those found
        through entry points (in place of an installed plugin of the same
        name); ``disabled_plugins`` names plugins to skip. ``channels`` is the
        channels' configuration (``{"email": {"host": …}}``) in place of the
        ``[channels]`` tables of ``crm.toml``; ``plugin_settings``
        (``{"gym": {"max_trials": 3}}``) stands for its ``[plugins]`` tables
        and the ``CRM_PLUGIN_*`` variables. Plugin settings the plugin's schema
        refuses stop it here (exit 2). ``process`` (``cli``, ``tui`` or ``worker``)
        sizes the PostgreSQL connection pool and sets its timeouts
        (:data:`crm_core.db.PROCESSES`).
        """
        if process not in PROCESSES:
            known = ", ".join(PROCESSES)
            raise InvalidInput(
                _("process must be one of {known}, not {process}", known=known,
                  process=quote(process))
            )  # fmt: skip
        settings = load_settings(
            url, frozenset(disabled_plugins) if disabled_plugins is not None else None
        )
        host = PluginHost(settings.disabled_plugins, extra_plugins, entry_points)
        config = settings.channels if channels is None else channels
        plugins = settings.plugins if plugin_settings is None else PluginConfig(plugin_settings)
        engine = make_engine(settings.database_url, PROCESSES[process])
        return cls(engine, host, clock, config, plugins)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------

    def init(self, admin: str | None = None, *, create: bool = True) -> list[str]:
        """Create or upgrade the schema and field indexes; add a first admin if there is none.

        Returns the names of the indexes created. Safe to run again. With
        ``create`` false a SQLite file that does not exist is refused, not created.
        """
        if not create:
            self._require_file()
        self.upgrade()
        created = ensure_field_indexes(self.engine, list(self.registry.kinds.values()))
        if admin:
            with self._write(None, "system:init") as ctx:
                if ctx.session.exec(select(User).limit(1)).first() is None:
                    self._insert_user(ctx, admin, "admin", None)
        return created

    def upgrade(self) -> str | None:
        """Run the core's, then every plugin's, migrations to their heads.

        Returns the core's revision reached.
        """
        probe(self.engine)
        schema.upgrade(self.engine, branches=self.registry.migrations)
        self._schema_checked = True
        return schema.current_revision(self.engine)

    def schema_status(self) -> list[BranchStatus]:
        """Each version branch (the core's, then each plugin's): current and head revision.

        Works on a database that needs an upgrade: that is what it tells.
        """
        self._require_file()
        probe(self.engine)
        return schema.status(self.engine, self.registry.migrations)

    def _check_schema(self) -> None:
        if self._schema_checked:
            return
        self._require_file()
        probe(self.engine)
        if schema.at_heads(self.engine, self.registry.migrations):
            self._schema_checked = True
            return
        current = schema.current_revision(self.engine)
        if current is None:
            raise InvalidInput(
                _(
                    "{value} is not a CRM database yet: run `crm init`",
                    value=database_label(self.engine.url),
                )
            )
        if current != schema.head_revision():
            raise InvalidInput(
                _(
                    "the database is at schema {current}, this crm needs {value}: run `crm db "
                    "upgrade`",
                    current=current,
                    value=schema.head_revision(),
                )
            )
        if self.registry.migrations:
            for branch in schema.status(self.engine, self.registry.migrations)[1:]:
                if branch.upgrade_needed:
                    raise InvalidInput(
                        _(
                            "the tables of plugin '{branch}' are at {value}, this crm needs "
                            "{head}: run `crm db upgrade`",
                            branch=branch.branch,
                            value=branch.current or "nothing",
                            head=branch.head,
                        )
                    )
        self._schema_checked = True

    def _require_file(self) -> None:
        # Connecting to SQLite creates a missing file: only `init` may do that.
        path = sqlite_path(self.engine.url)
        if path is not None and not path.exists():
            raise InvalidInput(_("no database at {path}: run `crm init` first", path=path))

    @contextmanager
    def _write(
        self,
        actor: str | None,
        cause: str | None = None,
        *,
        now: datetime | None = None,
        dry_run: bool = False,
    ) -> Iterator[WriteContext]:
        """One transaction; ``dry_run`` rolls it back after the caller has seen the outcome."""
        self._check_schema()
        try:
            with transaction(self.engine) as session:
                who = permissions.load_actor(session, actor) if actor is not None else None
                why = cause or (who.cause if who else "system")
                moment = now or self.clock()
                yield WriteContext(session, self.registry, self.host, who, why, moment)
                if dry_run:
                    raise _RolledBack
        except _RolledBack:
            pass
        except DataError as exc:  # e.g. a NUL character, which PostgreSQL text cannot hold
            first_line = str(exc.orig).splitlines()[0]
            raise InvalidInput(
                _("the database refused a value: {first_line}", first_line=first_line)
            ) from None
        except (OperationalError, ProgrammingError) as exc:
            raise CrmError(
                _("database error: {error}", error=str(exc.orig).splitlines()[0])
            ) from exc

    @contextmanager
    def _read(self, actor: str) -> Iterator[tuple[Session, Actor]]:
        self._check_schema()
        with read_session(self.engine) as session:
            yield session, permissions.load_actor(session, actor)

    # -- plugins and kinds ---------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """List the plugins: name, version, hooks and kinds (and the disabled ones)."""
        return self.host.infos(self.registry.kinds_by_plugin())

    def plugin(self, name: str) -> PluginInfo:
        """One plugin as :meth:`plugins` lists it; :class:`NotFound` when there is none."""
        for info in self.plugins():
            if info.name == name:
                return info
        raise NotFound(_("no plugin named {name} (see crm plugins list)", name=name))

    def settings(self, plugin: str) -> dict[str, Any]:
        """The checked settings of ``plugin`` (its ``[plugins.NAME]`` table), defaults filled in.

        A plugin reads its own with ``crm.settings("NAME")``; one that declares
        no settings has ``{}``. An unknown plugin is :class:`NotFound`.
        """
        return dict(self.plugin_settings(plugin).values)

    def plugin_settings(self, plugin: str) -> PluginSettings:
        """The settings schema ``plugin`` declared and its values (``masked()`` for display)."""
        if not self.host.pm.has_plugin(plugin) or self.host.pm.get_plugin(plugin) is None:
            raise NotFound(_("no plugin named {plugin} (see crm plugins list)", plugin=plugin))
        return plugin_settings.by_plugin(self._settings, plugin)

    def kinds(self) -> list[KindSpec]:
        """List the kinds of record the plugins declared."""
        return sorted(self.registry.kinds.values(), key=lambda k: k.name)

    def kind(self, name: str) -> KindSpec:
        """Return one kind with its fields."""
        return self.registry.kind(name)

    def activity_types(self) -> list[ActivityType]:
        """List the activity types that can be logged."""
        return sorted(self.registry.activity_types.values(), key=lambda a: a.name)

    def list_columns(self, kind: str) -> list[ListColumn]:
        """The columns of ``kind``'s lists: the plugins' choice, else its required fields."""
        spec = self.registry.kind(kind)
        chosen = self.screen_parts.columns.get(kind)
        if chosen:
            return list(chosen)
        return [ListColumn(kind, n, f.label, None, spec.plugin)
                for n, f in spec.fields.items() if f.required]  # fmt: skip

    def detail_panels(self, kind: str) -> list[DetailPanel]:
        """The panels plugins add to the detail screen of ``kind``'s records."""
        self.registry.kind(kind)
        return list(self.screen_parts.panels.get(kind, []))

    def dashboard_cards(self) -> list[DashboardCard]:
        """The cards plugins add to the dashboard."""
        return list(self.screen_parts.cards)

    def render_panel(self, actor: str, record_id: int, name: str) -> Any:
        """Render detail panel ``name`` for a record the actor may see."""
        record = self.get_record(actor, record_id)
        panel = next((p for p in self.detail_panels(record.kind) if p.name == name), None)
        if panel is None:
            raise NotFound(_("no panel '{name}' for {kind}", name=name, kind=record.kind))
        return self._plugin_call(panel.plugin, f"panel {name}", panel.render, self, actor, record)

    def render_card(self, actor: str, name: str) -> Any:
        """Render dashboard card ``name`` as ``actor``."""
        card = next((c for c in self.screen_parts.cards if c.name == name), None)
        if card is None:
            raise NotFound(_("no dashboard card '{name}'", name=name))
        return self._plugin_call(card.plugin, f"card {name}", card.render, self, actor)

    def talking_points(self, actor: str, record_id: int) -> TalkingPoints:
        """What the plugins give an operator to say about a record in its current stage.

        The record is read as ``actor`` (refused if they may not see it); a
        record without a stage, or in a stage no plugin has lines for, gets
        an empty list.
        """
        record = self.get_record(actor, record_id)
        lines = self.screen_parts.points.get((record.kind, record.stage or ""), [])
        return TalkingPoints(record.id, record.kind, record.stage, [dict(p.text) for p in lines])

    @staticmethod
    def _plugin_call(plugin: str, what: str, function: Callable[..., Any], *args: Any) -> Any:
        try:
            return function(*args)
        except CrmError:
            raise
        except Exception as exc:  # a plugin's screen part must not look like a core crash
            raise PluginError(plugin, what, exc) from exc

    def coerce_fields(self, kind: str, raw: dict[str, str]) -> dict[str, Any]:
        """Turn ``FIELD=TEXT`` input into typed values for ``kind`` (empty text clears)."""
        return self.registry.coerce(kind, raw)

    # -- workflows -------------------------------------------------------------

    def check_workflow(self, path: str | Path) -> LoadResult:
        """Read and check a workflow file against the schema, its stages and the kind's fields."""
        return load_workflow(path, self.registry)

    def _workflow_users(
        self, ctx: WriteContext, workflow: str, data: dict[str, Any], create: bool
    ) -> None:
        """Refuse a workflow naming users the database lacks, or (``create``) add them."""
        existing = set(ctx.session.exec(select(User.name)).all())
        missing = [u for u in named_users(data) if u.name not in existing]
        if not missing:
            return
        if not create:
            names = ", ".join(u.name for u in missing)
            raise InvalidInput(
                _(
                    "workflow {workflow} names {n_missing} user(s) the database lacks: {names} "
                    "(add them with crm user add, or apply with --create-users)",
                    workflow=workflow,
                    n_missing=len(missing),
                    names=names,
                )
            )
        teams = set(ctx.session.exec(select(Team.name)).all())
        for user in missing:
            if user.team is not None and user.team not in teams:
                team = Team(name=user.team, created_at=ctx.now)
                ctx.session.add(team)
                ctx.session.flush()
                ctx.journal("team", _pk(team.id), None, "create", None, {"name": user.team})
                teams.add(user.team)
            self._insert_user(ctx, user.name, user.role, user.team)

    def plan_workflow(
        self, actor: str, path: str | Path, mapping: dict[str, str] | None = None
    ) -> WorkflowPlan:
        """Say what applying a workflow file would change, changing nothing (admins, managers).

        The plan lists added, removed, renamed and reordered stages, the live
        records in each removed stage and where ``mapping`` (old stage id to
        new stage id, ``--map OLD=NEW``) sends them, the changed sections, and
        the blockers that would make :meth:`apply_workflow` refuse.
        """
        result = self.check_workflow(path)
        if result.workflow is None:
            raise InvalidInput("; ".join(str(p) for p in result.problems))
        data = result.workflow.data
        with self._read(actor) as (session, who):
            if not who.is_manager:
                raise PermissionDenied(
                    _(
                        "only an admin or a manager may plan workflows; {who} is {role}",
                        who=who.name,
                        role=who.role,
                    )
                )
            current = engine.applied(session, data["kind"])
            live = session.exec(
                select(Record.stage, func.count())
                .where(Record.kind == data["kind"], col(Record.archived_at).is_(None))
                .group_by(col(Record.stage))
            ).all()
            plan = make_plan(current.definition if current else None, data, dict(live), mapping)
            existing = set(session.exec(select(User.name)).all())
            plan.missing_users = [u.name for u in named_users(data) if u.name not in existing]
            return plan

    def apply_workflow(
        self,
        actor: str,
        path: str | Path,
        mapping: dict[str, str] | None = None,
        *,
        create_users: bool = False,
    ) -> WorkflowView:
        """Apply a checked workflow file to its kind (admins only).

        Refused, and nothing changed, when the file has problems, when it names
        users the database lacks (all listed in one message) unless
        ``create_users``, which creates them (and the teams ``users:`` gives
        them) in the same transaction, or when live
        records sit in stages the new version no longer has and ``mapping``
        (old stage id to new stage id) does not move them. Mapped records move
        set-based in the same transaction, one journal row each; these moves
        run no guards or on-enter actions, and ``crm_record_changed`` hears
        each one as a ``move`` (a plugin that raises undoes the apply).
        """
        result = self.check_workflow(path)
        if result.workflow is None:
            raise InvalidInput("; ".join(str(p) for p in result.problems))
        data = result.workflow.data
        kind, name, version = data["kind"], data["workflow"], data["version"]
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            permissions.require_admin(ctx.actor, "apply workflows")
            self._workflow_users(ctx, name, data, create_users)
            current = engine.applied(ctx.session, kind)
            live = ctx.session.exec(
                select(Record.stage, func.count())
                .where(Record.kind == kind, col(Record.archived_at).is_(None))
                .group_by(col(Record.stage))
            ).all()
            plan = make_plan(current.definition if current else None, data, dict(live), mapping)
            if plan.blockers:
                raise Conflict("; ".join(plan.blockers))
            before = {"version": current.version} if current else None
            # Kept to close the reminders its rules raised about the stages mapped away.
            replaced = (
                WorkflowDef(name=current.name, kind=kind, version=current.version,
                            definition=current.definition, applied_at=current.applied_at)
                if current and plan.mapping else None
            )  # fmt: skip
            row = current or WorkflowDef(name=name, kind=kind, version=0, definition={},
                                         applied_at=ctx.now)  # fmt: skip
            row.version, row.definition = version, data
            row.applied_at, row.applied_by = ctx.now, ctx.actor.id
            ctx.session.add(row)
            ctx.session.flush()
            after = {"version": version, "file": str(path)}
            if plan.mapping:
                after["map"] = plan.mapping
            ctx.journal("workflow", _pk(row.id), None, "apply", before, after)
            pool_rules.ensure_pools(ctx, data)
            types = sa.inspect(Journal).columns  # typed literals: UTC times, JSON/JSONB
            columns = ["at", "actor_id", "cause", "entity", "entity_id", "record_id", "action",
                       "reason", "before", "after"]  # fmt: skip
            heard: list[tuple[int, dict[str, Any] | None, dict[str, Any], str]] = []
            for old, new in plan.mapping.items():
                # One UPDATE and one INSERT … SELECT per mapped stage, never a row per record.
                where = (
                    col(Record.kind) == kind,
                    col(Record.stage) == old,
                    col(Record.archived_at).is_(None),
                )
                if self.host.implemented("crm_record_changed"):
                    # read (and, on PostgreSQL, lock) before the UPDATE: these are the rows moved
                    ids = ctx.session.exec(select(Record.id).where(*where).with_for_update())
                    heard += [(_pk(i), {"stage": old}, {"stage": new}, ctx.cause) for i in ids]
                moved = (
                    sa.update(Record)
                    .where(*where)
                    .values(stage=new, stage_entered_at=ctx.now, updated_at=ctx.now,
                            version=col(Record.version) + 1)
                    .execution_options(synchronize_session=False)
                )  # fmt: skip
                head = (sa.literal(ctx.now, types["at"].type), sa.literal(ctx.actor.id),
                        sa.literal(ctx.cause), sa.literal("record"))  # fmt: skip
                reason = f"workflow {name} v{version} maps {old} to {new}"
                tail = (sa.literal("move"), sa.literal(reason),
                        sa.literal({"stage": old}, types["before"].type),
                        sa.literal({"stage": new}, types["after"].type))  # fmt: skip
                if self.engine.dialect.name == "postgresql":
                    # One statement, so the rows journaled are exactly the rows moved.
                    cte = moved.returning(col(Record.id)).cte("moved")
                    source = sa.select(*head, cte.c.id, cte.c.id, *tail)
                    ctx.session.exec(sa.insert(Journal).from_select(columns, source).add_cte(cte))
                else:  # SQLite has one writer at a time: both statements see the same rows
                    source = sa.select(*head, col(Record.id), col(Record.id), *tail).where(*where)
                    ctx.session.exec(sa.insert(Journal).from_select(columns, source))
                    ctx.session.exec(moved)
            records.changed_in_bulk(ctx, kind, "move", heard)
            if replaced is not None:
                reminders.close(ctx, [replaced, row])
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
        check_length("a reason", reason, REASON_MAX)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            record = self._load_record(ctx.session, ctx.actor, record_id, True, "move")
            if record.archived_at is not None:
                raise Conflict(_("record #{record_id} is archived", record_id=record_id))
            engine.move(ctx, record, stage, reason)
            return _record_view(record, _Names.load(ctx.session))

    def stage_moves(self, actor: str, record_id: int) -> list[StageMove]:
        """The other stages of a record's workflow, those :meth:`move_record` would take first.

        Allowed moves lead, the next stage first; each refused one carries
        the words :meth:`move_record` would refuse it with (the moves allowed
        from here, a required field, a guard not met), so a screen can offer
        only what will succeed and say why the rest is not offered. A lost
        stage is allowed here: its reason is asked when the move is made.
        """
        with self._read(actor) as (session, who):
            record = self._load_record(session, who, record_id, False, "move")
            if record.archived_at is not None:
                raise Conflict(_("record #{record_id} is archived", record_id=record_id))
            return engine.stage_moves(session, self.registry.operators, self.clock(), record)

    @staticmethod
    def permission_rules() -> dict[str, dict[str, list[str]]]:
        """The permission table: role → relation to the record → the actions allowed."""
        return {role: {rel: [a for a in permissions.ACTIONS if a in granted]
                       for rel, granted in by_relation.items()}
                for role, by_relation in permissions.RULES.items()}  # fmt: skip

    @staticmethod
    def permission_table() -> str:
        """The permission table as the README prints it (Markdown)."""
        return permissions.markdown_table()

    def workflow_schema(self) -> dict[str, Any]:
        """The JSON Schema of workflow files, for editors' completion.

        It includes the condition operators and workflow actions the installed
        plugins registered.
        """
        return workflow_schema(self.registry)

    # -- users, teams and pools ---------------------------------------------

    def _insert_user(
        self,
        ctx: WriteContext,
        name: str,
        role: str,
        team: str | None,
        contacts: dict[str, str | None] | None = None,
    ) -> User:
        if role not in ROLES:
            raise InvalidInput(
                _(
                    "role must be one of {names}, not {role}",
                    names=", ".join(ROLES),
                    role=quote(role),
                )
            )
        if not name.strip() or len(name) > 64:
            raise InvalidInput(_("a user name must be 1 to 64 characters"))
        if ctx.session.exec(select(User).where(User.name == name)).first():
            raise Conflict(_("user '{name}' already exists", name=name))
        team_id = self._team_id(ctx.session, team) if team else None
        contacts = contacts or {}
        user = User(name=name, role=role, team_id=team_id, created_at=ctx.now,
                    email=contacts.get("email"), phone=contacts.get("phone"))  # fmt: skip
        ctx.session.add(user)
        ctx.session.flush()
        assert user.id is not None
        ctx.journal("user", user.id, None, "create", None, self._user_state(user))
        return user

    @staticmethod
    def _user_state(user: User) -> dict[str, Any]:
        state = {
            "name": user.name,
            "role": user.role,
            "team_id": user.team_id,
            "active": user.active,
        }
        # Only when set, so the journal of users without contacts reads as before.
        state.update({k: v for k, v in (("email", user.email), ("phone", user.phone)) if v})
        return state

    def _user_contacts(self, email: str | None, phone: str | None) -> dict[str, str | None]:
        """Normalised ``email`` and ``phone`` (as dedupe keys are); '' clears, None is left out."""
        out: dict[str, str | None] = {}
        problems = []
        for name, value in (("email", email), ("phone", phone)):
            if value is None:
                continue
            if not value.strip():
                out[name] = None
                continue
            try:
                out[name] = self.registry.normalizers[name](value)
            except ValueError as exc:
                problems.append((name, str(exc)))
        if problems:
            raise FieldError("user", problems)
        return out

    @staticmethod
    def _user_view(session: Session, user: User) -> UserView:
        team = session.get(Team, user.team_id) if user.team_id else None
        return UserView(_pk(user.id), user.name, user.role, team.name if team else None,
                        user.active, user.away_until, user.email, user.phone)  # fmt: skip

    @staticmethod
    def _team_id(session: Session, name: str) -> int:
        team = session.exec(select(Team).where(Team.name == name)).first()
        if team is None or team.id is None:
            raise NotFound(
                _("no team '{name}' (add it with: crm team add NAME)", name=excerpt(name))
            )
        return team.id

    @staticmethod
    def _user(session: Session, name: str) -> User:
        user = session.exec(select(User).where(User.name == name)).first()
        if user is None or user.id is None:
            raise NotFound(_("no user '{name}'", name=excerpt(name)))
        return user

    def add_user(
        self,
        actor: str,
        name: str,
        role: str,
        team: str | None = None,
        *,
        email: str | None = None,
        phone: str | None = None,
    ) -> UserView:
        """Add a user (admins only), with the e-mail and phone the channels reach them at."""
        contacts = self._user_contacts(email, phone)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            permissions.require_admin(ctx.actor, "add users")
            user = self._insert_user(ctx, name, role, team, contacts)
            return self._user_view(ctx.session, user)

    def update_user(
        self, actor: str, name: str, *, email: str | None = None, phone: str | None = None
    ) -> UserView:
        """Change a user's e-mail or phone (admins only); ``None`` keeps one, ``""`` clears it.

        Both are checked and normalised as contacts' are (phones to E.164).
        Notices already in the outbox keep the address they were raised with.
        """
        if email is None and phone is None:
            raise InvalidInput(_("nothing to change: give --email or --phone"))
        contacts = self._user_contacts(email, phone)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            permissions.require_admin(ctx.actor, "change users")
            user = self._user(ctx.session, name)
            before = {k: getattr(user, k) for k in contacts}
            for key, value in contacts.items():
                setattr(user, key, value)
            ctx.session.add(user)
            ctx.journal("user", _pk(user.id), None, "update", before, dict(contacts))
            return self._user_view(ctx.session, user)

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
        """List every user with role, team, whether active, until when away, e-mail and phone."""
        with self._read(actor) as (session, _who):
            teams = {t.id: t.name for t in session.exec(select(Team)).all()}
            users = session.exec(select(User).order_by(col(User.name))).all()
            return [
                UserView(_pk(u.id), u.name, u.role, teams.get(u.team_id), u.active, u.away_until,
                         u.email, u.phone)
                for u in users
            ]  # fmt: skip

    def add_team(self, actor: str, name: str, *, region: str | None = None) -> TeamView:
        """Add a team (admins only); ``region`` is its office's region, for reports by region."""
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            permissions.require_admin(ctx.actor, "add teams")
            if not name.strip():
                raise InvalidInput(_("a team needs a name"))
            check_length("a team's name", name, NAME_MAX)
            check_length("a team's region", region, NAME_MAX)
            if ctx.session.exec(select(Team).where(Team.name == name)).first():
                raise Conflict(_("team '{name}' already exists", name=name))
            team = Team(name=name, created_at=ctx.now, region=region or None)
            ctx.session.add(team)
            ctx.session.flush()
            assert team.id is not None
            ctx.journal("team", team.id, None, "create", None, {"name": name, "region": region})
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
                raise InvalidInput(_("a pool needs a name"))
            check_length("a pool's name", name, NAME_MAX)
            if ctx.session.exec(select(Pool).where(Pool.name == name)).first():
                raise Conflict(_("pool '{name}' already exists", name=name))
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

    def list_pools(self, actor: str, *, usable: bool = False) -> list[PoolView]:
        """List the pools with their members; ``usable``: only those the actor may open
        and release into (their own pools and the pools their team works)."""
        with self._read(actor) as (session, who):
            out = []
            for pool in session.exec(select(Pool).order_by(col(Pool.name))).all():
                if usable and not permissions.may_use_pool(who, _pk(pool.id)):
                    continue
                rows = session.exec(
                    select(User.name, PoolMember.is_admin)
                    .join(PoolMember, col(PoolMember.user_id) == User.id)
                    .where(PoolMember.pool_id == pool.id)
                    .order_by(col(User.name))
                ).all()
                members = [n for n, _id in rows]
                admins = [n for n, a in rows if a]
                out.append(PoolView(_pk(pool.id), pool.name, members, admins))
            return out

    # -- records ---------------------------------------------------------------

    def _load_record(
        self, session: Session, who: Actor, record_id: int, lock: bool, action: str
    ) -> Record:
        """The record ``who`` may ``action`` (see :data:`crm_core.permissions.RULES`)."""
        query = select(Record).where(Record.id == record_id)
        if lock:
            query = query.with_for_update()
        record = session.exec(query).first()
        return permissions.check(who, action, record, record_id, self._owner_name(session, record))

    @staticmethod
    def _owner_name(session: Session, record: Record | None) -> str | None:
        if record is None or record.owner_id is None:
            return None
        owner = session.get(User, record.owner_id)
        return owner.name if owner else None

    def _owner_id(self, ctx: WriteContext, owner: str | None) -> int | None:
        assert ctx.actor is not None
        if owner is None:
            return ctx.actor.id
        user = self._user(ctx.session, owner)
        if not user.active:
            raise InvalidInput(_("user '{owner}' is inactive and cannot own records", owner=owner))
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
        auto_assign: bool = False,
    ) -> AddResult:
        """Add a record of ``kind``; its owner is ``owner`` or else the actor.

        ``auto_assign`` (managers, admins) leaves the owner to the workflow's
        assignment rules, applied at once in the same transaction; a record
        no rule can place waits unowned for ``crm assign`` or the worker.

        A value that duplicates another record's dedupe key is refused with
        :class:`Duplicate`, unless ``merge`` is true: then the new values fill
        the existing record's empty fields (its own values are kept) and the
        result says which fields were filled and which were kept.
        """
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            self.registry.kind(kind)
            if auto_assign and owner is not None:
                raise InvalidInput(_("give --owner or leave the owner to the rules, not both"))
            if auto_assign and not (ctx.actor.is_admin or ctx.actor.is_manager):
                raise PermissionDenied(
                    _("{name} may not leave owners to the rules", name=ctx.actor.name)
                )
            owner_id = None if auto_assign else self._owner_id(ctx, owner)
            try:
                stage = engine.first_stage(ctx.session, kind)
                record = records.create(
                    ctx, kind, fields, title=title, owner_id=owner_id, stage=stage
                )
            except Duplicate as dup:
                if not merge:
                    raise
                return self._merge_into(ctx, dup.record_id, fields)
            workflow = engine.applied(ctx.session, kind)
            if auto_assign and workflow is not None:
                assert record.id is not None
                ticks.take_lock(ctx, wait=True)
                assign_run.run(ctx, workflow, record_ids=[record.id])
                ctx.session.refresh(record)
            return AddResult(_record_view(record, _Names.load(ctx.session)))

    def _merge_into(self, ctx: WriteContext, record_id: int, fields: dict[str, Any]) -> AddResult:
        assert ctx.actor is not None
        record = self._load_record(ctx.session, ctx.actor, record_id, True, "update")
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

        A new owner of a pool record goes through the pool: taking it for
        oneself is a claim, within the pool's claim rules; a manager giving
        it to a team member is an assignment journaled with the cause
        ``assign:POOL``. Giving an owned record to someone else is a
        reassignment (managers, admins). Field changes are checked after the
        owner changed, so one call can claim a record and fill it in.

        With ``expected_version``, a record changed by someone else since it
        was read is refused with :class:`Conflict` instead of overwritten.
        """
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            record = self._load_record(ctx.session, ctx.actor, record_id, True, "show")
            if expected_version is not None and record.version != expected_version:
                raise Conflict(
                    _(
                        "record #{record_id} is at version {version}, not {expected_version}: "
                        "someone changed it; show it again and retry",
                        record_id=record_id,
                        version=record.version,
                        expected_version=expected_version,
                    )
                )
            if record.archived_at is not None:
                raise Conflict(_("record #{record_id} is archived", record_id=record_id))
            if owner is not None:
                self._give(ctx, record, self._owner_id(ctx, owner))
            if owner is None or fields or title:
                owner_name = self._owner_name(ctx.session, record)
                permissions.check(ctx.actor, "update", record, record_id, owner_name)
            records.change(ctx, record, "update", values=fields or {}, title=title)
            return _record_view(record, _Names.load(ctx.session))

    def _give(self, ctx: WriteContext, record: Record, owner_id: int | None) -> None:
        """Give ``record`` to ``owner_id`` as a claim, an assignment or a reassignment."""
        assert ctx.actor is not None and record.id is not None
        if owner_id == record.owner_id:
            return
        holder = self._owner_name(ctx.session, record)
        if record.owner_id is not None:
            permissions.check(ctx.actor, "reassign", record, record.id, holder)
            records.change(ctx, record, "assign", owner_id=owner_id, pool_id=None)
            return
        where = permissions.relation(ctx.actor, None, record.pool_id)
        if (
            record.pool_id is not None
            and owner_id == ctx.actor.id
            and ("claim" in permissions.RULES[ctx.actor.role][where])
        ):
            pool_rules.claim(ctx, record, engine.applied(ctx.session, record.kind))
            return
        permissions.check(ctx.actor, "assign", record, record.id, holder)
        pool = ctx.session.get(Pool, record.pool_id) if record.pool_id is not None else None
        cause = f"assign:{pool.name}" if pool else ctx.cause
        given = WriteContext(ctx.session, ctx.registry, ctx.host, ctx.actor, cause, ctx.now)
        record.assigned_at = ctx.now
        records.change(given, record, "assign", owner_id=owner_id, pool_id=None)

    def undo_change(
        self,
        actor: str,
        record_id: int,
        *,
        version: int,
        fields: dict[str, Any] | None = None,
        title: str | None = None,
        stage: str | None = None,
    ) -> RecordView:
        """Put back what one field edit or stage move changed, as a change of its own.

        ``version`` is the record's version right after the change being
        undone; ``fields``, ``title`` and ``stage`` are the values it had
        before (a ``None`` field clears it). If the record changed since
        (someone else edited or moved it), nothing is undone: :class:`Conflict`.
        The journal keeps the change and gains an ``undo`` row with the reason
        "undo of version N"; nothing is deleted. A stage is put back without
        the workflow's transition rules (the record was there a moment ago),
        but the fields are checked as on any edit.
        """
        if fields is None and title is None and stage is None:
            raise InvalidInput(_("an undo needs the fields, title or stage to put back"))
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            record = self._load_record(ctx.session, ctx.actor, record_id, True, "update")
            if record.version != version:
                raise Conflict(
                    _("record #{record_id} changed since (version {now}, not {version}): "
                      "someone else edited it, so nothing was undone",
                      record_id=record_id, now=record.version, version=version)
                )  # fmt: skip
            if record.archived_at is not None:
                raise Conflict(_("record #{record_id} is archived", record_id=record_id))
            if stage is not None:
                wf = engine.applied(ctx.session, record.kind)
                stages = [s["id"] for s in wf.definition["stages"]] if wf else []
                if stage not in stages:
                    raise InvalidInput(
                        _("no stage '{stage}' in the workflow of {kind}", stage=stage,
                          kind=record.kind)
                    )  # fmt: skip
            changed = records.change(
                ctx, record, "undo", values=fields or {}, title=title,
                stage=record.stage if stage is None else stage,
                reason=f"undo of version {version}",
            )  # fmt: skip
            if not changed:
                raise Conflict(
                    _("record #{record_id} already has those values: nothing to undo",
                      record_id=record_id)
                )  # fmt: skip
            return _record_view(record, _Names.load(ctx.session))

    def reassign_records(self, actor: str, record_ids: list[int], owner: str) -> list[BulkResult]:
        """Give each record to ``owner`` (managers, admins); its open tasks go with it.

        Each record is its own transaction, so one refusal (a record someone
        else just changed, one outside the manager's team) leaves the others
        done; the result says, per record, what it became or why it was
        refused. Tasks handed over are journaled as ``reassign`` rows.
        """
        out = []
        for record_id in dict.fromkeys(record_ids):
            try:
                out.append(self._reassign_one(actor, record_id, owner))
            except CrmError as exc:
                out.append(BulkResult(record_id, None, str(exc)))
        return out

    def _reassign_one(self, actor: str, record_id: int, owner: str) -> BulkResult:
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            record = self._load_record(ctx.session, ctx.actor, record_id, True, "show")
            if record.archived_at is not None:
                raise Conflict(_("record #{record_id} is archived", record_id=record_id))
            last = ctx.session.exec(select(func.max(Journal.id))).one() or 0
            self._give(ctx, record, self._owner_id(ctx, owner))
            handed = (
                select(func.count())
                .select_from(Journal)
                .where(
                    col(Journal.id) > last, Journal.entity == "task", Journal.action == "reassign"
                )
            )
            moved = int(ctx.session.exec(handed).one())
            return BulkResult(
                record_id, _record_view(record, _Names.load(ctx.session)), None, moved
            )

    def release_records(
        self, actor: str, record_ids: list[int], reason: str, *, pool: str | None = None
    ) -> list[BulkResult]:
        """Release each record to a pool with one reason, as :meth:`release` does one.

        Each record is its own transaction; the result says, per record, what
        it became or why it was refused.
        """
        out = []
        for record_id in dict.fromkeys(record_ids):
            try:
                out.append(
                    BulkResult(record_id, self.release(actor, record_id, reason, pool=pool), None)
                )
            except CrmError as exc:
                out.append(BulkResult(record_id, None, str(exc)))
        return out

    def archive_record(self, actor: str, record_id: int) -> RecordView:
        """Archive a record: it leaves lists but keeps its history. Nothing is deleted."""
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            record = self._load_record(ctx.session, ctx.actor, record_id, True, "archive")
            if record.archived_at is not None:
                raise Conflict(_("record #{record_id} is already archived", record_id=record_id))
            records.change(ctx, record, "archive", archived=True)
            return _record_view(record, _Names.load(ctx.session))

    def get_record(self, actor: str, record_id: int) -> RecordView:
        """Return one record the actor may see."""
        with self._read(actor) as (session, who):
            record = self._load_record(session, who, record_id, False, "show")
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
            raise InvalidInput(_("limit must be between 1 and {max}", max=MAX_LIMIT))
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
                    raise InvalidInput(_("filtering on fields needs --kind"))
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

    def record_page(
        self,
        actor: str,
        *,
        kind: str | None = None,
        search: str | None = None,
        stage: str | None = None,
        owner: str | None = None,
        pool: str | None = None,
        where: dict[str, Any] | None = None,
        sort: str = "newest",
        after: str | None = None,
        limit: int = 50,
    ) -> RecordPage:
        """One page of the live records the actor may see, for lists on screens.

        ``search`` matches the title and the kind's searchable fields (any
        part, any case), a dedupe key (a phone number however it is written)
        or ``#id``. ``owner`` ``"-"`` lists unowned records. ``sort`` is one
        of newest, oldest, updated, title, idle. Pass the page's ``next`` as
        ``after`` for the following page: each page costs the same, however
        deep.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(_("limit must be between 1 and {max}", max=MAX_LIMIT))
        browse.check_sort(sort)
        with self._read(actor) as (session, who):
            owner_id = None
            if owner == "-":
                owner_id = -1
            elif owner:
                owner_id = self._user(session, owner).id
            pool_id = pool_rules.find_pool(session, pool).id if pool else None
            filters = browse.Filters(kind, search, stage, owner_id, pool_id, where, sort)
            dialect = self.engine.dialect.name
            visible = permissions.record_filter(who, "show")
            query = browse.page_query(self.registry, dialect, visible, filters, after, limit)
            rows, cursor = browse.read_page(session, query, sort, limit)
            names = _Names.load(session)
            return RecordPage([_record_view(r, names) for r in rows], cursor)

    def kind_scope(self, actor: str, kind: str) -> KindScope:
        """Whether ``actor`` sees any live record of ``kind``; if not, how many exist.

        The count goes to managers and admins only (an operator's answer
        says nothing of records they may not see), so a screen can tell
        "none visible to you" from "none yet". See :meth:`KindScope.empty_note`.
        """
        self.kind(kind)  # an unknown kind is refused, not counted as empty
        live = (Record.kind == kind, col(Record.archived_at).is_(None))
        with self._read(actor) as (session, who):
            visible = permissions.record_filter(who, "show")
            seen = session.exec(select(Record.id).where(*live, visible).limit(1)).first()
            if seen is not None:
                return KindScope(kind, True)
            if who.role not in ("manager", "admin"):
                return KindScope(kind, False)
            existing = session.exec(select(func.count()).select_from(Record).where(*live)).one()
            return KindScope(kind, False, int(existing))

    def my_work(self, actor: str, *, limit: int = 200) -> MyWork:
        """The actor's open reminders by due time, then their live records by next action.

        Records with an open task come first (soonest due), then those longest
        without a touchpoint, which the pool rules would take back first.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(_("limit must be between 1 and {max}", max=MAX_LIMIT))
        with self._read(actor) as (session, who):
            assert who.id is not None
            names = _Names.load(session)
            tasks = [_task_view(t, names) for t in worklist.open_tasks(session, who.id)]
            items = [
                WorkItem(_record_view(r, names), due)
                for r, due in worklist.queue(session, who.id, limit)
            ]
            return MyWork(tasks, items)

    def new_tasks(self, actor: str, after_id: int) -> list[TaskView]:
        """The actor's open tasks with an id above ``after_id``: reminders to pop up."""
        with self._read(actor) as (session, who):
            assert who.id is not None
            names = _Names.load(session)
            return [
                _task_view(t, names)
                for t in worklist.open_tasks(session, who.id, after_id=after_id)
            ]

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
            raise InvalidInput(_("a contact needs a name"))
        check_length("a contact's name", name, NAME_MAX)
        check_length("a contact's position", position, NAME_MAX)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            self._load_record(ctx.session, ctx.actor, record_id, False, "update")
            problems = []
            if phone:
                try:
                    self.registry.normalize("phone", phone)
                except ValueError as exc:
                    problems.append(("phone", str(exc)))
            if email:
                try:
                    self.registry.normalize("email", email)
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
            self._load_record(session, who, record_id, False, "show")
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
        owner: str | None = None,
    ) -> DealView:
        """Add a deal (opportunity) to a record; ``amount`` keeps two decimals exactly.

        ``owner`` is the user who works the deal (default: the record's owner);
        the actor may hand deals to whom they may hand records.
        """
        if not title.strip():
            raise InvalidInput(_("a deal needs a title"))
        check_length("a deal's title", title, TITLE_MAX)
        _check_currency(currency)
        _check_stage(stage)
        minor = _parse_amount(amount)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            record = self._load_record(ctx.session, ctx.actor, record_id, False, "update")
            owner_id = record.owner_id if owner is None else self._owner_id(ctx, owner)
            deal = Deal(
                record_id=record_id,
                title=title,
                amount_minor=minor,
                currency=currency.upper(),
                expected_close=expected_close,
                created_at=ctx.now,
                owner_id=owner_id,
            )
            deals.enter_stage(deal, stage, ctx.now)
            ctx.session.add(deal)
            ctx.session.flush()
            view = deals.view(ctx.session, deal, record.title)
            ctx.journal("deal", view.id, record_id, "create", None, view.to_dict())
            return view

    def list_deals(
        self,
        actor: str,
        record_id: int | None = None,
        *,
        owner: str | None = None,
        stage: str | None = None,
        limit: int = 1000,
    ) -> list[DealView]:
        """List the live deals the actor may see: of one record, one owner, one stage.

        A deal is credited to its owner, else to its record's owner (``owner``
        matches either way).
        """
        if limit < 1:
            raise InvalidInput(_("limit must be at least 1, not {limit}", limit=limit))
        with self._read(actor) as (session, who):
            if record_id is not None:
                self._load_record(session, who, record_id, False, "show")
            owner_id = self._user(session, owner).id if owner is not None else None
            return deals.listing(session, who, record_id=record_id, owner_id=owner_id,
                                 stage=stage, limit=min(limit, MAX_LIMIT))  # fmt: skip

    def get_deal(self, actor: str, deal_id: int) -> DealView:
        """One deal, with its record's title (its owner may read that, not the record)."""
        with self._read(actor) as (session, who):
            deal, record = deals.load(session, who, deal_id, "show")
            return deals.view(session, deal, record.title)

    def update_deal(
        self,
        actor: str,
        deal_id: int,
        *,
        title: str | None = None,
        amount: str | Decimal | int | None = None,
        currency: str | None = None,
        stage: str | None = None,
        expected_close: date | None = None,
    ) -> DealView:
        """Change a deal's title, amount, currency, stage or expected close date; journaled.

        A stage change stamps ``stage_entered_at``, and ``closed_at`` when the
        deal is won or lost (cleared when it reopens).
        """
        changes: dict[str, Any] = {}
        if title is not None:
            if not title.strip():
                raise InvalidInput(_("a deal needs a title"))
            check_length("a deal's title", title, TITLE_MAX)
            changes["title"] = title
        if amount is not None:
            changes["amount_minor"] = _parse_amount(amount)
        if currency is not None:
            _check_currency(currency)
            changes["currency"] = currency.upper()
        if expected_close is not None:
            changes["expected_close"] = expected_close
        if stage is not None:
            _check_stage(stage)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            deal, record = deals.load(ctx.session, ctx.actor, deal_id, "update")
            before = deals.view(ctx.session, deal).to_dict()
            for name, value in changes.items():
                setattr(deal, name, value)
            if stage is not None and stage != deal.stage:
                deals.enter_stage(deal, stage, ctx.now)
            deal.updated_at = ctx.now
            ctx.session.add(deal)
            view = deals.view(ctx.session, deal, record.title)
            after = view.to_dict()
            changed = {k for k in after if after[k] != before.get(k) and k != "record_title"}
            if not changed:
                raise Conflict(_("deal #{deal_id} already has these values", deal_id=deal_id))
            old, new = {k: before[k] for k in changed}, {k: after[k] for k in changed}
            ctx.journal("deal", deal_id, deal.record_id, "update", old, new)
            return view

    def move_deal(self, actor: str, deal_id: int, stage: str) -> DealView:
        """Move a deal to ``stage`` (open, won, lost or your own); journaled.

        ``stage_entered_at`` becomes now; ``closed_at`` too when the deal is won
        or lost, and it is cleared when the deal reopens.
        """
        _check_stage(stage)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            deal, record = deals.load(ctx.session, ctx.actor, deal_id, "move")
            if deal.stage == stage:
                raise Conflict(
                    _("deal #{deal_id} is already {stage}", deal_id=deal_id, stage=stage)
                )
            before = {"stage": deal.stage, "closed_at": _iso(deal.closed_at)}
            deals.enter_stage(deal, stage, ctx.now)
            ctx.session.add(deal)
            after = {"stage": stage, "closed_at": _iso(deal.closed_at)}
            ctx.journal("deal", deal_id, deal.record_id, "move", before, after)
            return deals.view(ctx.session, deal, record.title)

    def reassign_deal(self, actor: str, deal_id: int, owner: str) -> DealView:
        """Give a deal to another user (managers: within their team; admins: anyone)."""
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            deal, record = deals.load(ctx.session, ctx.actor, deal_id, "reassign")
            owner_id = self._owner_id(ctx, owner)
            if deal.owner_id == owner_id:
                raise Conflict(
                    _("deal #{deal_id} is already {owner}'s", deal_id=deal_id, owner=owner)
                )
            before = deals.view(ctx.session, deal).owner
            deal.owner_id, deal.updated_at = owner_id, ctx.now
            ctx.session.add(deal)
            ctx.journal("deal", deal_id, deal.record_id, "reassign",
                        {"owner": before}, {"owner": owner})  # fmt: skip
            return deals.view(ctx.session, deal, record.title)

    @contextmanager
    def plugin_write(self, actor: str, cause: str | None = None) -> Iterator[PluginWrite]:
        """One transaction for a plugin's own tables and the deals it touches.

        The plugin writes its rows with ``.session``, changes deals through
        ``.deal()`` and ``.set_deal_amount()`` (the permission table and the
        journal apply) and journals its own changes with ``.journal()``; all
        commits together when the block ends, nothing when it raises.
        """
        with self._write(actor, cause) as ctx:
            yield PluginWrite(ctx)

    # -- activities and tasks ----------------------------------------------------

    def log_activity(
        self,
        actor: str,
        record_id: int,
        type: str,
        *,
        note: str | None = None,
        at: datetime | None = None,
        data: dict[str, Any] | None = None,
    ) -> ActivityView:
        """Log a touchpoint on a record; it moves the record's last activity time forward.

        Plugins' ``crm_activity_logged`` run in the same transaction; one that
        raises undoes the activity and is reported naming the plugin (exit 6).

        ``data`` holds what the activity type records beyond a note (a feedback's
        ``score``, a complaint's ``resolved_at``…), as JSON.
        """
        self.registry.activity_type(type)
        check_length("a note", note, NOTE_MAX)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            when = at or ctx.now
            if when > ctx.now:
                raise InvalidInput(_("an activity cannot happen in the future"))
            record = self._load_record(ctx.session, ctx.actor, record_id, True, "update")
            activity = Activity(
                record_id=record_id,
                type=type,
                note=note,
                actor_id=ctx.actor.id,
                occurred_at=when,
                data=dict(data or {}),
            )
            ctx.session.add(activity)
            if record.last_activity_at is None or record.last_activity_at < when:
                record.last_activity_at = when
                ctx.session.add(record)
            ctx.session.flush()
            view = ActivityView(
                _pk(activity.id), record_id, type, note, ctx.actor.name, when, activity.data
            )
            ctx.journal("activity", view.id, record_id, "create", None, view.to_dict())
            reminders.touched(ctx, record)  # a follow-up ends the idle and SLA warnings
            if self.host.implemented("crm_activity_logged"):
                seen = _record_view(record, _Names.load(ctx.session))
                self.host.call_each(
                    "crm_activity_logged", {"activity": view, "record": seen, "actor": view.actor}
                )
            return view

    def list_activities(self, actor: str, record_id: int) -> list[ActivityView]:
        """List a record's activities, newest first."""
        with self._read(actor) as (session, who):
            self._load_record(session, who, record_id, False, "show")
            rows = session.exec(
                select(Activity)
                .where(Activity.record_id == record_id)
                .order_by(col(Activity.occurred_at).desc(), col(Activity.id).desc())
            ).all()
            names = _Names.load(session)
            return [
                ActivityView(
                    _pk(a.id),
                    a.record_id,
                    a.type,
                    a.note,
                    names.user(a.actor_id),
                    a.occurred_at,
                    a.data,
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
            raise InvalidInput(_("a task needs a note"))
        check_length("a note", note, NOTE_MAX)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            if record_id is not None:
                self._load_record(ctx.session, ctx.actor, record_id, False, "update")
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

    @staticmethod
    def _own_task(ctx: WriteContext, task_id: int) -> Task:
        """Task ``task_id``, if the actor is its assignee, their manager or an admin."""
        assert ctx.actor is not None
        task = ctx.session.get(Task, task_id)
        if task is None:
            raise NotFound(_("no task #{task_id}", task_id=task_id))
        if not (ctx.actor.is_admin or task.assignee_id in ctx.actor.team_user_ids):
            raise PermissionDenied(
                _("task #{task_id} is not {name}'s", task_id=task_id, name=ctx.actor.name)
            )
        return task

    def complete_task(self, actor: str, task_id: int) -> TaskView:
        """Mark a task done."""
        with self._write(actor) as ctx:
            task = self._own_task(ctx, task_id)
            if task.done_at is not None:
                raise Conflict(_("task #{task_id} is already done", task_id=task_id))
            task.done_at = ctx.now
            ctx.session.add(task)
            after = {"done_at": ctx.now.isoformat()}
            ctx.journal("task", task_id, task.record_id, "done", {"done_at": None}, after)
            return _task_view(task, _Names.load(ctx.session))

    def snooze_task(self, actor: str, task_id: int, until: datetime) -> TaskView:
        """Move an open task's due time to ``until`` (later than now), journaled as ``snooze``."""
        with self._write(actor) as ctx:
            task = self._own_task(ctx, task_id)
            if task.done_at is not None:
                raise Conflict(
                    _("task #{task_id} is done: there is nothing to snooze", task_id=task_id)
                )
            if until.tzinfo is None:
                raise InvalidInput(_("a snooze time needs its time zone"))
            if until <= ctx.now:
                raise InvalidInput(
                    _("snooze until a later time than now ({now})", now=ctx.now.isoformat())
                )
            before = {"due_at": task.due_at.isoformat()}
            task.due_at = until
            ctx.session.add(task)
            after = {"due_at": until.isoformat()}
            ctx.journal("task", task_id, task.record_id, "snooze", before, after)
            return _task_view(task, _Names.load(ctx.session))

    # -- saved filters -----------------------------------------------------------

    def save_filter(self, actor: str, name: str, filters: dict[str, Any]) -> SavedFilterView:
        """Save the actor's own list filter ``name`` (replacing one of that name).

        ``filters`` holds the Records list's settings as texts: ``kind``
        (required), ``search``, ``stage``, ``owner``, ``pool``, ``where``
        (``FIELD=VALUE``) and ``sort``.
        """
        with self._write(actor) as ctx:
            assert ctx.actor is not None and ctx.actor.id is not None
            return saved_filters.save(ctx.session, ctx.actor.id, name, filters, ctx.now)

    def list_filters(self, actor: str) -> list[SavedFilterView]:
        """The actor's saved list filters, by name (nobody sees another's)."""
        with self._read(actor) as (session, who):
            assert who.id is not None
            return saved_filters.listed(session, who.id)

    def delete_filter(self, actor: str, name: str) -> SavedFilterView:
        """Delete the actor's saved filter ``name``; return what it held."""
        with self._write(actor) as ctx:
            assert ctx.actor is not None and ctx.actor.id is not None
            return saved_filters.delete(ctx.session, ctx.actor.id, name)

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
            raise InvalidInput(_("limit must be between 1 and {max}", max=MAX_LIMIT))
        with self._read(actor) as (session, who):
            query = select(Journal)
            if record_id is not None:
                self._load_record(session, who, record_id, False, "journal")
                query = query.where(Journal.record_id == record_id)
            elif not who.is_admin:
                visible = select(Record.id).where(permissions.record_filter(who, "journal"))
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
                    names.named_users(j.before, j.after),
                )
                for j in rows
            ]

    def replay_journal(self, actor: str) -> dict[int, dict[str, Any]]:
        """Rebuild every record's state from the journal alone (admins only)."""
        with self._read(actor) as (session, who):
            permissions.require_admin(who, "replay the journal")
            rows = session.exec(select(Journal).order_by(col(Journal.id))).yield_per(5000)
            return journal.replay(rows)

    def verify_journal(self, actor: str) -> JournalCheck:
        """Replay the journal and compare it with every record's row (admins only).

        The check streams both in record id order, so it runs in constant
        memory; each difference (kind, title, owner, pool, stage, a field,
        archived) is one line of the result.
        """
        with self._read(actor) as (session, who):
            permissions.require_admin(who, "verify the journal")
            return journalcheck.check(session)

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

    # -- the scheduler: assignment, sweeps, pools ---------------------------

    def _scheduler_actor(self, ctx: WriteContext) -> None:
        if ctx.actor is not None and not (ctx.actor.is_admin or ctx.actor.is_manager):
            raise PermissionDenied(
                _("{name} may not run the scheduler (managers, admins)", name=ctx.actor.name)
            )

    def assign(self, actor: str | None, *, dry_run: bool = False) -> list[AssignResult]:
        """Assign every unowned record outside the pools by its workflow's rules.

        ``actor`` None is the scheduler itself; people need manager or admin.
        A dry run reports the same figures and changes nothing. A record that
        fails (a plugin raised for it) is skipped and listed in ``failures``;
        the others are assigned.
        """
        with self._write(actor, "system:assign" if actor is None else None, dry_run=dry_run) as ctx:
            self._scheduler_actor(ctx)
            ticks.take_lock(ctx, wait=True)
            out = [assign_run.run(ctx, wf, contained=True) for wf in ticks.workflows(ctx)]
        return out

    def sweep(
        self, actor: str | None, *, now: datetime | None = None, dry_run: bool = False
    ) -> list[SweepResult]:
        """Run every workflow's pool returns, rotations, warnings, stage limits and SLA checks.

        ``now`` sweeps as of another moment (to catch up, or to preview with ``dry_run``).
        A record that fails a rule (a plugin raised, a value the database cannot
        read) is skipped and listed in ``failures``; the rest is done.
        """
        cause = "system:sweep" if actor is None else None
        with self._write(actor, cause, now=now, dry_run=dry_run) as ctx:
            self._scheduler_actor(ctx)
            ticks.take_lock(ctx, wait=True)
            out = [sweep.run(ctx, wf) for wf in ticks.workflows(ctx)]
        return out

    def maintain(self, actor: str | None = None, *, force: bool = False) -> MaintenanceReport:
        """On PostgreSQL with autovacuum off, vacuum and analyse the tables past its thresholds.

        ``actor`` None is the system (the worker, after each tick); a person
        must be an admin. ``force`` maintains them whatever autovacuum's
        setting. On SQLite there is nothing to do. See :mod:`crm_core.maintenance`.
        """
        if actor is not None:
            with self._read(actor) as (_session, who):
                permissions.require_admin(who, "maintain the database")
        else:
            self._check_schema()
        return maintain(self.engine, force=force)

    def tick(self, *, now: datetime | None = None) -> TickResult:
        """One worker tick: sweep and assign everything, unless another worker is running one."""
        with self._write(None, "system:worker", now=now) as ctx:
            return ticks.tick(ctx)

    # -- the outbox: notices to deliver --------------------------------------

    def deliver_outbox(self, actor: str | None = None, *, batch: int = 100) -> DeliveryReport:
        """Deliver every due notice of the outbox through its channel, after the fact.

        ``actor`` None is the system (the worker, and ``crm sweep``/``crm
        assign`` after their commit); a person must be an admin. Rows are
        claimed ``batch`` at a time and committed as ``sending`` before any
        channel is called, so concurrent deliverers never send one row twice;
        each outcome is committed as soon as it is known. A channel's
        exception is stored on its row (retried with backoff), never raised.
        """
        if batch < 1:
            raise InvalidInput(_("batch must be at least 1"))
        if actor is not None:
            with self._read(actor) as (_session, who):
                permissions.require_admin(who, "deliver the outbox")
        report = DeliveryReport()
        while True:
            with self._write(None, "system:outbox") as ctx:
                messages = outbox_queue.claim(ctx, batch)
            if not messages:
                return report
            for message in messages:
                channel = self.registry.channels.get(message.channel)
                outcome = outbox_queue.attempt(channel.deliver if channel else None, message)
                with self._write(None, "system:outbox") as ctx:
                    report.add(outbox_queue.store(ctx, message.id, outcome))

    def outbox(
        self, actor: str, *, status: str | None = None, limit: int = 100
    ) -> list[OutboxView]:
        """The newest ``limit`` outbox rows, of one ``status`` or all (admins only)."""
        with self._read(actor) as (session, who):
            permissions.require_admin(who, "read the outbox")
            return outbox_queue.listing(session, status, limit)

    def retry_outbox(
        self, actor: str, ids: Iterable[int] = (), *, all_failed: bool = False
    ) -> list[int]:
        """Send failed outbox rows again, or rows left ``sending`` by a crash (admins only).

        Returns the ids put back to pending, due now; the next delivery takes them.
        """
        wanted = list(ids)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            permissions.require_admin(ctx.actor, "retry the outbox")
            return outbox_queue.retry(ctx, wanted, all_failed)

    def simulate_workflow(self, actor: str, path: str | Path, days: int) -> list[DayReport]:
        """Run the scheduler ``days`` days ahead with the workflow in ``path``; keep nothing."""
        if days < 1:
            raise InvalidInput(_("--days must be at least 1"))
        result = self.check_workflow(path)
        if result.workflow is None:
            raise InvalidInput("; ".join(str(p) for p in result.problems))
        with self._write(actor, dry_run=True) as ctx:
            assert ctx.actor is not None
            permissions.require_admin(ctx.actor, "simulate workflows")
            # Held for the whole run, so a worker's ticks neither skew nor join it.
            ticks.take_lock(ctx, wait=True)
            out = simulate(ctx, result.workflow.data, days)
        return out

    def why(self, actor: str, record_id: int) -> WhyView:
        """Explain who owns a record and why, and what the workflow will do to it next."""
        with self._read(actor) as (session, who):
            record = self._load_record(session, who, record_id, False, "show")
            return explain(session, record, self.clock(), self.registry.operators)

    def claim(self, actor: str, record_id: int) -> RecordView:
        """Take a record from a pool the actor belongs to, within the pool's claim rules."""
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            record = ctx.session.exec(
                select(Record).where(Record.id == record_id).with_for_update()
            ).first()
            if record is None or record.archived_at is not None:
                raise NotFound(_("no record #{record_id} in a pool", record_id=record_id))
            if record.pool_id is None:  # often: someone claimed it a moment ago
                raise Conflict(_("record #{record_id} is not in a pool", record_id=record_id))
            permissions.check(ctx.actor, "claim", record, record_id)
            pool_rules.claim(ctx, record, engine.applied(ctx.session, record.kind))
            return _record_view(record, _Names.load(ctx.session))

    def release(
        self, actor: str, record_id: int, reason: str, *, pool: str | None = None
    ) -> RecordView:
        """Give an owned record back to a pool with a reason (default: its workflow's first)."""
        check_length("a reason", reason, REASON_MAX)
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            record = self._load_record(ctx.session, ctx.actor, record_id, True, "show")
            if record.owner_id is not None:  # else pool_rules.release says there is no owner
                permissions.check(ctx.actor, "release", record, record_id)
            if pool is None:
                wf = engine.applied(ctx.session, record.kind)
                names = [p["id"] for p in wf.definition.get("pools", [])] if wf else []
                if not names:
                    raise InvalidInput(
                        _("{kind} has no pool in its workflow: use --pool", kind=record.kind)
                    )
                pool = names[0]
            target = pool_rules.find_pool(ctx.session, pool)
            if not permissions.may_use_pool(ctx.actor, _pk(target.id)):
                raise PermissionDenied(
                    _(
                        "{name} may not release into pool '{pool}': not one of their pools or "
                        "their team's",
                        name=ctx.actor.name,
                        pool=pool,
                    )
                )
            pool_rules.release(ctx, record, target, reason)
            return _record_view(record, _Names.load(ctx.session))

    def pool_page(
        self, actor: str, pool: str, *, limit: int = 50, before_id: int | None = None
    ) -> PoolPage:
        """One page of a pool, newest first, with how each record came back and what's left."""
        with self._read(actor) as (session, who):
            target = pool_rules.find_pool(session, pool)
            assert target.id is not None and who.id is not None
            if not permissions.may_use_pool(who, target.id):
                raise PermissionDenied(
                    _(
                        "{who} may not see pool '{pool}': not one of their pools or their team's",
                        who=who.name,
                        pool=pool,
                    )
                )
            return pool_rules.page(session, target, who.id, self.clock(), limit, before_id)

    def set_user_away(self, actor: str, name: str, until: datetime | None) -> UserView:
        """Mark a user away until ``until`` (None: back now); away users get no new records."""
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            user = self._user(ctx.session, name)
            if not (ctx.actor.is_admin or ctx.actor.name == name or
                    (ctx.actor.is_manager and user.id in ctx.actor.team_user_ids)):  # fmt: skip
                raise PermissionDenied(
                    _(
                        "{name} may not change {name2}'s availability",
                        name=ctx.actor.name,
                        name2=name,
                    )
                )
            before = {"away_until": user.away_until.isoformat() if user.away_until else None}
            user.away_until = until
            ctx.session.add(user)
            assert user.id is not None
            after = {"away_until": until.isoformat() if until else None}
            ctx.journal("user", user.id, None, "away" if until else "back", before, after)
            team = ctx.session.get(Team, user.team_id) if user.team_id else None
            team_name = team.name if team else None
            return UserView(user.id, user.name, user.role, team_name, user.active, user.away_until)

    # -- reports ---------------------------------------------------------------

    def reports(self) -> list[ReportSpec]:
        """The reports the core and the plugins registered, by name."""
        return sorted(self.registry.reports.values(), key=lambda r: r.name)

    def run_report(
        self,
        actor: str,
        name: str,
        *,
        kind: str | None = None,
        by: str | None = None,
        since: datetime | None = None,
        params: dict[str, str] | None = None,
    ) -> ReportResult:
        """Run report ``name`` over the records ``actor`` may see."""
        spec = self.registry.reports.get(name)
        if spec is None:
            known = ", ".join(sorted(self.registry.reports))
            raise NotFound(
                _("no report '{name}' (reports: {known})", name=excerpt(name), known=known)
            )
        kind = kind or spec.kind
        if kind is not None:
            self.registry.kind(kind)
        if spec.needs_kind and kind is None:
            raise InvalidInput(_("report {name} needs --kind KIND", name=name))
        if by is not None and kind is not None and by not in self.registry.kind(kind).fields:
            raise InvalidInput(_("--by {by}: no field '{by}' in {kind}", by=excerpt(by), kind=kind))
        with self._read(actor) as (session, who):
            wf = engine.applied(session, kind) if kind else None
            definition = wf.definition if wf else None
            dialect = self.engine.dialect.name
            ctx = ReportContext(session, dialect, self.clock(), who, kind, by, since,
                                dict(params or {}), definition)  # fmt: skip
            try:
                result: ReportResult = spec.run(ctx)
            except CrmError:
                raise
            except Exception as exc:  # a plugin's report must not look like a core crash
                raise PluginError(spec.plugin, f"report {name}", exc) from exc
            return result

    # -- conversion and deal stages -------------------------------------------

    def convert_record(
        self,
        actor: str,
        record_id: int,
        to_kind: str,
        fields: dict[str, Any] | None = None,
        *,
        title: str | None = None,
        deal_title: str | None = None,
        deal_amount: str | Decimal | int | None = None,
        currency: str = "CNY",
    ) -> RecordView:
        """Convert a record (a qualified lead) into a new record of ``to_kind``.

        The source moves to its won stage (refused if its workflow forbids
        that move now); the new record gets the shared fields, the contacts,
        the owner and, with ``deal_title``, a first deal.
        """
        check_length("a deal's title", deal_title, TITLE_MAX)
        deal = None
        if deal_title is not None:
            deal = (deal_title, _parse_amount(deal_amount or 0), currency.upper())
        with self._write(actor) as ctx:
            assert ctx.actor is not None
            source = self._load_record(ctx.session, ctx.actor, record_id, True, "move")
            target = convert(ctx, source, to_kind, dict(fields or {}), title=title, deal=deal)
            return _record_view(target, _Names.load(ctx.session))

    # -- dashboard alerts (超量预警) -------------------------------------------

    def alerts(self, actor: str, path: str | Path) -> list[FigureView]:
        """Compute every figure of the dashboard file ``path``, each report run as ``actor``.

        Each :class:`FigureView` says whether its value crossed the threshold.
        A file with problems is refused with every located error (InvalidInput).
        """
        board = dashboards.load_dashboard(path, self.registry)
        now = self.clock()

        def run(figure: dashboards.Figure) -> ReportResult:
            days = figure.since_days
            since = now - timedelta(days=days) if days is not None else None
            return self.run_report(actor, figure.report, kind=figure.kind, by=figure.by,
                                   since=since, params=figure.params)  # fmt: skip

        return dashboards.compute(board, run)

    # -- import and export -------------------------------------------------------

    def import_records(
        self,
        actor: str,
        kind: str,
        path: str | Path,
        *,
        mapping: dict[str, str] | None = None,
        on_duplicate: str = "skip",
        dry_run: bool = False,
        batch_size: int = importer.DEFAULT_BATCH,
        errors_path: str | Path | None = None,
        auto_assign: bool = False,
        owner: str | None = None,
        fmt: str | None = None,
        encoding: str | None = None,
        progress: Callable[[ImportProgress], None] | None = None,
    ) -> ImportReport:
        """Import records of ``kind`` from a CSV or JSON Lines file (managers, admins).

        Columns map to fields by name (``mapping``: column to field, ``-``
        ignores); ``title``, ``owner`` and ``stage`` columns are understood.
        Rows are checked as :meth:`add_record` checks them and committed in
        batches of ``batch_size``; a duplicate row is skipped, merged or
        refused (``on_duplicate``); rejected and skipped rows are listed in
        ``errors_path`` (CSV: line, column, field, reason). ``owner`` is the
        owner of rows without an ``owner`` cell; ``auto_assign`` leaves them
        to the workflow's rules. ``progress`` hears after each batch. ``encoding``
        names the file's text encoding (default UTF-8, with or without a byte-order
        mark); the whole file is checked against it before any row is kept.
        """
        options = ImportOptions(
            kind, Path(path), dict(mapping or {}), on_duplicate, dry_run, batch_size,
            Path(errors_path) if errors_path is not None else None, auto_assign, owner, fmt,
            encoding,
        )  # fmt: skip
        cause = f"import:{Path(path).name}"
        return importer.run(
            lambda rollback: self._write(actor, cause, dry_run=rollback),
            self.registry,
            options,
            progress,
        )

    def import_bundle(
        self,
        actor: str,
        path: str | Path,
        *,
        dry_run: bool = False,
        atomic: bool = False,
        errors_path: str | Path | None = None,
        batch_size: int = bundle_run.BATCH,
    ) -> BundleReport:
        """Import the files an import spec (``bundle.yaml``) names, in order (admins only).

        The spec is checked whole first (its JSON Schema, entities, kinds,
        fields, files, headers, date formats, links): a problem is InvalidInput
        naming file:line:column and nothing is imported. Rows are found again
        by their key, so a second run creates nothing. Each batch commits
        unless ``atomic`` (one transaction, nothing kept if any row is
        rejected) or ``dry_run`` (nothing kept). Rejected rows are listed in
        ``errors_path`` (CSV: file, line, column, field, reason).
        """
        options = bundle_run.BundleOptions(
            Path(path), dry_run, atomic, Path(errors_path) if errors_path else None, batch_size
        )
        return bundle_run.run(
            lambda: self._write(actor, f"import:{Path(path).name}"),
            self.host,
            self.registry,
            options,
        )

    def export_records(self, actor: str, kind: str, out: IO[str], fmt: str = "csv") -> int:
        """Write the live records of ``kind`` the actor may see to ``out`` as import reads them.

        ``fmt`` is ``csv`` (title, stage, owner, then the fields in order) or
        ``jsonl`` (one object per line, typed values). Returns how many.
        """
        with self._read(actor) as (session, who):
            return exporter.export(session, self.registry, who, kind, out, fmt)

    def export_all(self, actor: str, folder: str | Path, *, force: bool = False) -> BundleExport:
        """Write the whole CRM to ``folder`` as CSV files and the ``bundle.yaml`` that imports them.

        Admins only. ``folder`` is created; one that holds files is refused
        unless ``force``. Everything is read in one snapshot.
        """
        self._check_schema()
        with read_session(self.engine, snapshot=True) as session:
            who = permissions.load_actor(session, actor)
            entities = import_entities(self.host, self.registry)
            return export_all.write_bundle(
                session, self.registry, entities, who, Path(folder), force=force
            )


def _workflow_view(w: WorkflowDef) -> WorkflowView:
    stages = [s["id"] for s in w.definition["stages"]]
    labels = {s["id"]: label_of(s.get("label"), s["id"], s["id"]) for s in w.definition["stages"]}
    return WorkflowView(_pk(w.id), w.name, w.kind, w.version, stages, w.applied_at, labels)


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
