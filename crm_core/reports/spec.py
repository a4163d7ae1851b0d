"""What a report is, what it gets to work with, and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Numeric, Select, Table, case, cast, func, select
from sqlmodel import Session, SQLModel, col

from crm_core import deals, permissions
from crm_core.errors import InvalidInput, quote
from crm_core.fieldsql import field_text, kind_is, sql_string
from crm_core.i18n import _
from crm_core.models import Deal, Record
from crm_core.permissions import Actor
from crm_core.views import View


@dataclass
class ReportResult(View):
    """A report's answer: a title, named columns and rows of plain values.

    Attributes:
        name: The report's registered name.
        title: The heading shown above the table.
        columns: The column names, in order (stable: they are the JSON keys).
        rows: One list of plain values (str, int, float, Decimal, date, None)
            per row, in the order of ``columns``.
        notes: Lines shown under the table (what was left out, and why).
    """

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)


class Tables:
    """The core's tables as SQLAlchemy ``Table`` objects, for reports' queries."""

    def __getattr__(self, name: str) -> Table:
        tables = SQLModel.metadata.tables
        real = {"user": "crm_user", "workflow": "workflow"}.get(name, name)
        if real not in tables:
            raise AttributeError(f"no table {name!r}; tables: {', '.join(sorted(tables))}")
        return tables[real]


@dataclass
class ReportContext:
    """What a report runs with: a read-only session, who asks, and the options given.

    ``records()`` starts a query over the records the actor may see, of the
    chosen kind, not archived, created since ``since`` when given.

    Attributes:
        session: A read-only database session.
        dialect: ``"sqlite"`` or ``"postgresql"``.
        now: The CRM clock's time.
        actor: Who asks (``actor.name``, ``actor.role``); ``records()`` limits to what they see.
        kind: The kind the user chose (``--kind``), else the report's own kind, or None.
        by: The grouping the user asked for (``--by``), or None.
        since: Only records created since then (``--since``), or None.
        params: Further ``--param KEY=VALUE`` options, as text.
        workflow: The applied workflow of ``kind`` (its YAML as a dict), or None.
        tables: The core's tables as SQLAlchemy ``Table`` objects (``ctx.tables.activity``).
    """

    session: Session
    dialect: str
    now: datetime
    actor: Actor
    kind: str | None
    by: str | None
    since: datetime | None
    params: dict[str, str]
    workflow: dict[str, Any] | None
    tables: Tables = field(default_factory=Tables)

    def records(self, *columns: Any, kind_index: bool = False) -> Select[Any]:
        """``SELECT columns FROM record`` limited to what this report may count.

        The kind is compared so that SQLite reads the whole table once (see
        :func:`crm_core.fieldsql.kind_is`), the fastest way through most of a
        kind's records. ``kind_index=True`` compares it plainly, so that an index
        led by ``kind`` can answer instead: for queries that pick few records, or
        that such an index covers (it holds every column they read).
        """
        query = (
            select(*columns)
            .select_from(Record)
            .where(
                permissions.record_filter(self.actor, "report"), col(Record.archived_at).is_(None)
            )
        )
        if self.kind is not None:
            query = query.where(
                col(Record.kind) == self.kind if kind_index else kind_is(self.dialect, self.kind)
            )
        if self.since is not None:
            query = query.where(col(Record.created_at) >= self.since)
        return query

    def deals(self, *columns: Any) -> Select[Any]:
        """``SELECT columns FROM deal JOIN record`` over the live deals this report may count.

        A deal counts when the actor may report it: by its own owner's
        relation to the actor, else by its record's (as ``crm deal list``
        shows them). Only deals of live records of the chosen kind count,
        created since ``since`` when given.
        """
        query = (
            select(*columns)
            .select_from(Deal)
            .join(Record, col(Record.id) == col(Deal.record_id))
            .where(
                permissions.deal_filter(self.actor, "report"),
                col(Deal.archived_at).is_(None),
                col(Record.archived_at).is_(None),
            )
        )
        if self.kind is not None:
            query = query.where(col(Record.kind) == self.kind)
        if self.since is not None:
            query = query.where(col(Deal.created_at) >= self.since)
        return query

    @staticmethod
    def deal_won() -> ColumnElement[bool]:
        """SQL: the deal is won (the one definition, in :mod:`crm_core.deals`)."""
        return deals.won()

    @staticmethod
    def deal_lost() -> ColumnElement[bool]:
        """SQL: the deal is lost."""
        return deals.lost()

    @staticmethod
    def deal_open() -> ColumnElement[bool]:
        """SQL: the deal is neither won nor lost."""
        return deals.is_open()

    @staticmethod
    def deal_owner() -> ColumnElement[Any]:
        """SQL: the user id a deal is credited to: its owner, else its record's owner."""
        return deals.owner_column()

    def visible_user_ids(self) -> list[int] | None:
        """The users whose figures the actor may see one by one (None: everyone, for admins).

        Reports that list a row per user show these, with zeros for those without data.
        """
        if self.actor.is_admin:
            return None
        return sorted(self.actor.team_user_ids)

    def field(self, name: str) -> ColumnElement[Any]:
        """A custom field's value (SQLite: its native scalar; PostgreSQL: text)."""
        return field_text(self.dialect, name)

    def number(self, name: str) -> ColumnElement[Any]:
        """A custom field's value as a number (NULL where it is not one)."""
        if self.dialect == "postgresql":
            node = col(Record.data).op("->")(sql_string(name))
            return case((func.jsonb_typeof(node) == "number", cast(self.field(name), Numeric)))
        json_type = func.json_type(col(Record.data), sql_string("$." + name))
        return case((json_type.in_(["integer", "real"]), self.field(name)))

    def stage_ids(self) -> list[str]:
        """The kind's stages in pipeline order (empty without a workflow)."""
        return [s["id"] for s in (self.workflow or {}).get("stages", [])]

    def outcome_stages(self, outcome: str) -> list[str]:
        """The stages whose outcome is ``won`` or ``lost``."""
        stages = (self.workflow or {}).get("stages", [])
        return [s["id"] for s in stages if s.get("outcome") == outcome]

    def param_int(self, name: str, default: int) -> int:
        """A whole-number ``--param NAME=N``; refused when it is not one."""
        raw = self.params.get(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise InvalidInput(
                _("--param {name}: {raw} is not a whole number", name=name, raw=quote(raw))
            ) from None


def share(part: int | float, whole: int | float) -> float | None:
    """``part / whole`` rounded to 4 places, or None when ``whole`` is 0."""
    return round(part / whole, 4) if whole else None
