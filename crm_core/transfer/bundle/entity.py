"""What an import entity is: its target fields, how its rows are found, written and dumped.

The core's entities (:mod:`~crm_core.transfer.bundle.core_entities`) and the
plugins' (registered through ``crm_register_import_entities``) implement
:class:`ImportEntity`; the bundle runner does everything else (reading,
column and value maps, dates, links, keys, the report).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_core.models import Journal

TABLES = Journal.metadata.tables
"""The core's tables by name, for set-based statements."""

TYPES = ("text", "int", "bool", "datetime", "date", "money", "ref", "field")
"""Target field types: ``field`` is a record kind's own field, typed by the kind."""


@dataclass(frozen=True)
class Target:
    """One target field of an import entity.

    ``ref`` names the entity a ``ref`` field points at; ``by`` the fields of
    that entity a reference may be matched on (the first is the default, when
    a file's ``links`` says nothing); ``choices`` limits the stored values.
    """

    name: str
    type: str = "text"
    required: bool = False
    ref: str | None = None
    by: tuple[str, ...] = ("external_id",)
    choices: tuple[str, ...] | None = None


@dataclass(eq=False)
class Row:
    """One source row on its way in: typed target values, reference ids resolved.

    ``values`` holds only the fields the row gives (a mapped column or a
    default); ``history`` the (stage, time, cause line, file) points of a
    record's or deal's stage history; ``id`` and ``before`` the stored row it
    updates. An entity sets ``problem`` to reject the row while writing.
    """

    line: int
    values: dict[str, Any]
    history: list[tuple[str, datetime, str]] = field(default_factory=list)
    id: int | None = None
    before: dict[str, Any] | None = None
    problem: str | None = None
    problem_field: str = ""
    skipped: bool = False  # already stored as the row says (found by an unkeyed entity)
    changed: bool = False  # a stored row it changed (found by an unkeyed entity)


@dataclass(frozen=True)
class Rejection:
    """Why a row is refused: the field at fault, the reason, and whether its value matched
    nothing it could name (counted among the dry run's unmapped values)."""

    field: str
    reason: str
    unmapped: bool = False


@dataclass
class ImportContext:
    """What an entity's write gets: the transaction, the importing admin, the time, the cause.

    Journal rows are buffered by :meth:`journal` and inserted together by
    :meth:`flush_journal` (the runner calls it after each write), in the
    order they were added.
    """

    session: Session
    actor_id: int | None
    now: datetime
    file: str
    registry: Any = None
    currency: str = "CNY"
    write: Any = None  # the core's WriteContext; plugins do not need it
    memo: dict[str, Any] = field(default_factory=dict)  # what an entity looks up once a batch
    _journal: list[dict[str, Any]] = field(default_factory=list)

    def cause(self, line: int) -> str:
        """The journal cause of a row: ``import:FILE:LINE``."""
        return f"import:{self.file}:{line}"

    def journal(
        self,
        entity: str,
        entity_id: int,
        record_id: int | None,
        action: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        *,
        line: int,
        at: datetime | None = None,
        cause: str | None = None,
    ) -> None:
        """Buffer one journal row of a row written from ``line`` (at ``at``, default now)."""
        self._journal.append(
            {"at": at or self.now, "actor_id": self.actor_id,
             "cause": cause or self.cause(line), "entity": entity, "entity_id": entity_id,
             "record_id": record_id, "action": action, "reason": None,
             "before": before, "after": after}
        )  # fmt: skip

    def flush_journal(self) -> None:
        """Insert the buffered journal rows in one statement."""
        if self._journal:
            self.session.execute(sa.insert(TABLES["journal"]), self._journal)
            self._journal = []


class ImportEntity:
    """An entity ``crm import bundle.yaml`` can read (and ``crm export --all`` can dump).

    Subclasses set ``name`` and ``natural_key`` and implement :meth:`targets`,
    :meth:`find`, :meth:`current`, :meth:`create` and :meth:`rows`;
    :meth:`update` and :meth:`check` have defaults. ``kinds`` is true for an
    entity whose rows belong to a record kind (``kind:`` in the spec).
    """

    name = ""
    kinds = False
    keyed = True  # False: create() finds the stored rows itself (rows without a key of their own)
    registry: Any = None  # the CRM's field registry, set when the entities are collected

    def targets(self, registry: Any, kind: str | None) -> dict[str, Target]:
        """The target fields a file of this entity may fill, by name."""
        raise NotImplementedError

    def natural_key(self, registry: Any, kind: str | None) -> str:
        """The key of a file that maps no ``external_id`` column (``external_id``: none)."""
        return "name"

    def key_fields(self, registry: Any, kind: str | None) -> tuple[str, ...]:
        """The fields a row may be found by (``key:`` and links' ``by:``)."""
        return ("external_id", "name")

    def ref_of(self, name: str, defaults: dict[str, Any]) -> str | None:
        """The entity the reference ``name`` points at when the file's defaults decide it
        (None: the target's own ``ref``)."""
        return None

    def find(
        self, session: Session, kind: str | None, by: str, values: list[str]
    ) -> dict[str, int]:
        """The ids of the stored rows whose ``by`` field holds one of ``values``, by value."""
        raise NotImplementedError

    def current(self, session: Session, kind: str | None, ids: list[int]) -> dict[int, Any]:
        """The stored values of rows ``ids`` in target-field names (references as ids)."""
        raise NotImplementedError

    def check(self, ctx: ImportContext, kind: str | None, row: Row) -> Rejection | None:
        """Why ``row`` cannot be written (asked before any write of its batch), or None."""
        return None

    def create(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Insert ``rows`` (set-based where it can), set each one's ``id``, journal them."""
        raise NotImplementedError

    def update(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Write the changed ``values`` of ``rows`` (``id`` set, ``before`` the stored values)."""
        raise NotImplementedError

    def rows(self, session: Session, kind: str | None) -> Iterator[dict[str, Any]]:
        """Every stored row, as a dict in target-field names (references by external id)."""
        raise NotImplementedError


class Keys:
    """How :meth:`ImportEntity.rows` names referenced rows: by external id (``crm:<id>`` for
    a row without one), pools by name; each table read once."""

    TABLES: ClassVar[dict[str, tuple[str, str]]] = {
        "team": ("team", "external_id"), "user": ("crm_user", "external_id"),
        "record": ("record", "external_id"), "deal": ("deal", "external_id"),
        "pool": ("pool", "name"),
    }  # fmt: skip

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[str, dict[int, str]] = {}

    def of(self, entity: str, row_id: int | None) -> str | None:
        """The key of row ``row_id`` of ``entity`` (None for None)."""
        if row_id is None:
            return None
        if entity not in self.known:
            name, column = self.TABLES[entity]
            table = TABLES[name]
            rows = self.session.execute(sa.select(table.c.id, table.c[column]))
            self.known[entity] = {i: key or f"crm:{i}" for i, key in rows}
        return self.known[entity].get(row_id)


def simple_find(session: Session, table: sa.Table, by: str, values: list[str]) -> dict[str, int]:
    """:meth:`ImportEntity.find` for a table whose ``by`` column holds the value as text."""
    out: dict[str, int] = {}
    column = table.c[by]
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        for value, row_id in session.execute(
            sa.select(column, table.c.id).where(column.in_(chunk))
        ):
            out[str(value)] = row_id
    return out


def stored_rows(
    session: Session, table: sa.Table, ids: list[int], names: dict[str, str]
) -> dict[int, dict[str, Any]]:
    """:meth:`ImportEntity.current` for a table: stored values by id, column ``names[target]``
    read as each target."""
    out: dict[int, dict[str, Any]] = {}
    columns = [table.c[c] for c in names.values()]
    for row in session.execute(sa.select(table.c.id, *columns).where(table.c.id.in_(ids))):
        out[row[0]] = dict(zip(names, row[1:], strict=True))
    return out


class KeyedByExternalId(ImportEntity):
    """An entity of one table with no natural key: found again by external id only.

    ``columns`` maps each target field to its column of ``table``.
    """

    table: sa.Table
    columns: ClassVar[dict[str, str]]

    def natural_key(self, registry: Any, kind: str | None) -> str:
        """Found again by external id only."""
        return "external_id"

    def key_fields(self, registry: Any, kind: str | None) -> tuple[str, ...]:
        """Found by external id."""
        return ("external_id",)

    def find(self, session: Session, kind: str | None, by: str, values: list[str]) -> Any:
        """Rows by external id."""
        return simple_find(session, self.table, by, values)

    def current(self, session: Session, kind: str | None, ids: list[int]) -> Any:
        """Stored rows in target names."""
        return stored_rows(session, self.table, ids, self.columns)


def taken(
    session: Session, table: sa.Table, row: Row, columns: tuple[str, ...], names: dict[str, str]
) -> Rejection | None:
    """For a new row: the refusal when another stored row holds one of its unique ``columns``
    (target names; ``names`` maps them to the table's columns)."""
    if row.id is not None:
        return None
    for name in columns:
        value = row.values.get(name)
        if value is None:
            continue
        column = table.c[names.get(name, name)]
        other = session.execute(sa.select(table.c.id).where(column == value)).scalar()
        if other is not None:
            return Rejection(name, f"{name} '{value}' is taken by #{other}, found by another key")
    return None


def insert_returning(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` in one executemany and return their ids in the same order.

    A row without a column another row gives stores None there (one statement
    takes the same columns for every row).
    """
    if not rows:
        return []
    columns = list(dict.fromkeys(name for row in rows for name in row))
    full = [{name: row.get(name) for name in columns} for row in rows]
    result = session.execute(
        sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), full
    )
    return [row_id for (row_id,) in result]


def update_by_id(session: Session, table: sa.Table, rows: list[Row]) -> None:
    """Write each row's ``values`` (already column names) to its stored row."""
    for row in rows:
        session.execute(sa.update(table).where(table.c.id == row.id).values(**row.values))


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as the journal stores them: times and dates as ISO text."""
    return {
        k: v.isoformat() if hasattr(v, "isoformat") else (str(v) if _decimal(v) else v)
        for k, v in values.items()
    }


def _decimal(value: Any) -> bool:
    return type(value).__name__ == "Decimal"
