"""The files of a whole-CRM export (``crm export --all``): what each holds and how it is read.

:func:`core_tables` lists them in the order an import must take them (a row
only refers to rows of the files before it): teams, users, the records of each
kind, contacts, deals, activities, tasks, then the stage history. Each
:class:`ExportTable` streams its rows from the database, ordered by id, as
CSV cells (:mod:`~crm_core.transfer.cells`).

A row is keyed by its ``external_id``, else ``crm:<id>``; references to
teams, records and deals are written as that key, references to users as the
user's name (names are unique). Archived records are left out with their
contacts, deals, activities, tasks and history, as are archived contacts and
deals: the import spec has no field that would keep them archived.

A record's ``external_id`` is unique only within its kind, so each file of
rows that refer to records is written once per kind of record they refer to
(``deals.csv`` when one kind has deals, ``deals-account.csv`` and
``deals-lead.csv`` when two do), each naming that kind in its ``links``; the
stage history likewise, with the deals' in ``stage_history-deals.csv``. An
entity without rows gets no file (teams and users always do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection, Select, Table, false, func, select
from sqlalchemy.sql.elements import ColumnElement

from crm_core.errors import InvalidInput, quote
from crm_core.fields import Registry
from crm_core.i18n import _
from crm_core.models import SQLModel
from crm_core.transfer.cells import cell, external_key, money

TABLES = SQLModel.metadata.tables
TEAM, USER, POOL, RECORD = TABLES["team"], TABLES["crm_user"], TABLES["pool"], TABLES["record"]
CONTACT, DEAL, ACTIVITY, TASK = (
    TABLES["contact"],
    TABLES["deal"],
    TABLES["activity"],
    TABLES["task"],
)
JOURNAL = TABLES["journal"]
FETCH = 5000
"""Rows fetched at a time: an export of a million records never holds them all."""

RECORD_COLUMNS = ("stage", "owner", "pool", "created_at", "stage_entered_at", "last_activity_at")
"""A record file's columns after ``external_id``, ``title`` and the kind's fields."""
RESERVED = frozenset({"external_id", "title", *RECORD_COLUMNS})
"""Column names a kind's field cannot take in a record file (as ``crm export KIND`` does)."""

Rows = Callable[[Connection], Iterator[list[str]]]


@dataclass(frozen=True)
class ExportTable:
    """One CSV file of the bundle and the spec entry that imports it.

    ``path`` is the file's name in the bundle's folder, ``entity`` and
    ``kind`` (records only) what the import spec calls its rows, ``key`` the
    column that finds a row again on re-import (None: rows are facts, not
    things, as stage history is), ``links`` how reference
    columns find their rows and ``defaults`` what an empty cell means (the
    spec's ``links`` and ``defaults``), ``rows`` the cells of each
    row in ``columns`` order. ``unmapped`` columns are left out of the spec's
    column map: a header named as a target field maps itself anyway.
    """

    path: str
    entity: str
    columns: tuple[str, ...]
    rows: Rows
    kind: str | None = None
    key: str | None = "external_id"
    links: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    unmapped: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Names:
    """The keys rows refer to users, teams and pools by: small tables, read once."""

    users: dict[int, str]
    teams: dict[int, str]
    pools: dict[int, str]

    @classmethod
    def load(cls, connection: Connection) -> _Names:
        users = connection.execute(select(USER.c.id, USER.c.name))
        teams = connection.execute(select(TEAM.c.id, TEAM.c.external_id))
        pools = connection.execute(select(POOL.c.id, POOL.c.name))
        return cls(
            users={i: name for i, name in users},
            teams={i: external_key(key, i) for i, key in teams},
            pools={i: name for i, name in pools},
        )

    def user(self, user_id: int | None) -> str:
        return "" if user_id is None else self.users[user_id]


def _stream(connection: Connection, query: Select[Any]) -> Iterator[Any]:
    """The rows of ``query`` in batches of :data:`FETCH` (a server-side cursor on PostgreSQL)."""
    yield from connection.execute(query.execution_options(yield_per=FETCH))


def _live(table: Table) -> ColumnElement[bool]:
    """Rows of ``table`` on a live record (and live themselves, when they can be archived)."""
    live = RECORD.c.archived_at.is_(None)
    return live & table.c.archived_at.is_(None) if "archived_at" in table.c else live


def core_tables(connection: Connection, registry: Registry) -> list[ExportTable]:
    """Every file of the core's entities, in import order (only kinds that have records).

    A live record of a kind no enabled plugin declares is refused: its fields
    and their order are unknown, and leaving it out would lose it silently.
    """
    names = _Names.load(connection)
    kinds = _kinds(connection, RECORD, RECORD.c.archived_at.is_(None))
    unknown = [k for k in kinds if k not in registry.kinds]
    if unknown:
        raise InvalidInput(
            _(
                "live records of kind {value}, which no enabled plugin declares: enable its "
                "plugin to export them",
                value=quote(unknown[0]),
            )
        )
    return [
        ExportTable("teams.csv", "team", ("external_id", "name", "region"), _teams),
        ExportTable(
            "users.csv",
            "user",
            ("external_id", "name", "role", "team", "email", "phone", "active"),
            partial(_users, names=names),
            links={"team": {"by": "external_id"}},
            # a new database already holds its admin, without an external_id
            key="name",
        ),
        *(_records(registry, kind, names) for kind in kinds),
        *_children(connection, kinds, "contacts", "contact", CONTACT, _contacts),
        *_children(connection, kinds, "deals", "deal", DEAL, partial(_deals, names=names)),
        *_children(
            connection, kinds, "activities", "activity", ACTIVITY, partial(_activities, names=names)
        ),
        *_children(
            connection,
            kinds,
            "tasks",
            "task",
            TASK,
            partial(_tasks, names=names),
            optional_record=True,
        ),
        *_history(connection),
    ]


def _kinds(connection: Connection, table: Table, where: ColumnElement[bool]) -> list[str]:
    """The kinds of the live records that rows of ``table`` matching ``where`` belong to."""
    query = select(RECORD.c.kind).distinct().where(where)
    if table is not RECORD:
        query = query.select_from(table.join(RECORD, RECORD.c.id == table.c.record_id))
    return sorted(connection.execute(query).scalars())


def _teams(connection: Connection) -> Iterator[list[str]]:
    query = select(TEAM.c.id, TEAM.c.external_id, TEAM.c.name, TEAM.c.region).order_by(TEAM.c.id)
    for row_id, key, name, region in _stream(connection, query):
        yield [external_key(key, row_id), name, cell(region)]


def _users(connection: Connection, names: _Names) -> Iterator[list[str]]:
    u = USER.c
    query = select(u.id, u.external_id, u.name, u.role, u.team_id, u.email, u.phone, u.active)
    for row_id, key, name, role, team, email, phone, active in _stream(
        connection, query.order_by(u.id)
    ):
        team_key = "" if team is None else names.teams[team]
        yield [
            external_key(key, row_id),
            name,
            role,
            team_key,
            cell(email),
            cell(phone),
            cell(active),
        ]


def _records(registry: Registry, kind: str, names: _Names) -> ExportTable:
    """The file of the live records of ``kind``: key, title, its fields in order, the rest."""
    fields = [f for f in registry.kind(kind).fields if f not in RESERVED]

    def rows(connection: Connection) -> Iterator[list[str]]:
        r = RECORD.c
        query = (
            select(
                r.id,
                r.external_id,
                r.title,
                r.data,
                r.stage,
                r.owner_id,
                r.pool_id,
                r.created_at,
                r.stage_entered_at,
                r.last_activity_at,
            )
            .where(r.kind == kind, r.archived_at.is_(None))
            .order_by(r.id)
        )
        for row_id, key, title, data, stage, owner, pool, *times in _stream(connection, query):
            yield [
                external_key(key, row_id),
                title,
                *(cell(data.get(f)) for f in fields),
                cell(stage),
                names.user(owner),
                "" if pool is None else names.pools[pool],
                *(cell(t) for t in times),
            ]

    columns = ("external_id", "title", *fields, *RECORD_COLUMNS)
    return ExportTable(f"records-{kind}.csv", "record", columns, rows, kind=kind)


ChildRows = Callable[..., Iterator[list[str]]]
"""Reads the rows of a file of rows on records: ``rows(connection, kind=KIND)``."""


def _children(
    connection: Connection,
    kinds: list[str],
    stem: str,
    entity: str,
    table: Table,
    rows: ChildRows,
    *,
    optional_record: bool = False,
) -> list[ExportTable]:
    """The files of ``table``'s live rows, one per kind of record they are on (see the module).

    Each file's link names its kind, as a reference to a record needs one.
    Rows on no record (tasks may be, ``optional_record``) go to the first
    file, their record cell empty; when no row is on a record, to a file
    linked to the first of ``kinds`` (the kinds that have records).
    """
    groups: list[str | None] = [*_kinds(connection, table, _live(table))]
    if optional_record and not groups:
        orphans = select(table.c.id).where(table.c.record_id.is_(None)).limit(1)
        if connection.execute(orphans).first() is not None:
            groups = [*kinds[:1]] or [None]
    return [
        ExportTable(
            f"{stem}.csv" if len(groups) == 1 else f"{stem}-{kind}.csv",
            entity,
            COLUMNS[entity],
            partial(rows, kind=kind, orphans=optional_record and i == 0),
            links={} if kind is None else {"record": {"kind": kind, "by": "external_id"}},
        )
        for i, kind in enumerate(groups)
    ]


COLUMNS = {
    "contact": ("external_id", "record", "name", "phone", "email", "position"),
    "deal": (
        "external_id",
        "record",
        "title",
        "owner",
        "stage",
        "amount",
        "currency",
        "created_at",
        "stage_entered_at",
        "closed_at",
        "expected_close",
    ),
    "activity": ("external_id", "record", "type", "note", "actor", "occurred_at"),
    "task": ("external_id", "record", "assignee", "due_at", "note", "done_at"),
}
"""The columns of the files of rows on records, by entity."""


def _on_kind(table: Table, kind: str | None, orphans: bool, *columns: Any) -> Select[Any]:
    """``columns`` of ``table``'s live rows on records of ``kind`` (and on none, with
    ``orphans``), by id.

    The first two columns are always the row's id and external_id, the next
    two its record's.
    """
    head = (table.c.id, table.c.external_id, RECORD.c.id, RECORD.c.external_id)
    on_kind = false() if kind is None else (RECORD.c.kind == kind) & _live(table)
    if not orphans:
        joined = table.join(RECORD, RECORD.c.id == table.c.record_id)
        return select(*head, *columns).select_from(joined).where(on_kind).order_by(table.c.id)
    joined = table.outerjoin(RECORD, RECORD.c.id == table.c.record_id)
    where = on_kind | table.c.record_id.is_(None)
    return select(*head, *columns).select_from(joined).where(where).order_by(table.c.id)


def _keys(row: Any) -> list[str]:
    """The row's own key and its record's (empty when it is on no record)."""
    row_id, key, record_id, record_key = row[:4]
    return [
        external_key(key, row_id),
        "" if record_id is None else external_key(record_key, record_id),
    ]


def _contacts(connection: Connection, kind: str | None, orphans: bool) -> Iterator[list[str]]:
    c = CONTACT.c
    for row in _stream(
        connection, _on_kind(CONTACT, kind, orphans, c.name, c.phone, c.email, c.position)
    ):
        yield [*_keys(row), *(cell(v) for v in row[4:])]


def _deals(
    connection: Connection, kind: str | None, orphans: bool, names: _Names
) -> Iterator[list[str]]:
    d = DEAL.c
    query = _on_kind(
        DEAL,
        kind,
        orphans,
        d.title,
        # A deal without an owner of its own is its record's owner's: say whose, as an
        # import of an empty cell would, so that a second export is the same.
        func.coalesce(d.owner_id, RECORD.c.owner_id),
        d.stage,
        d.amount_minor,
        d.currency,
        d.created_at,
        d.stage_entered_at,
        d.closed_at,
        d.expected_close,
    )
    for row in _stream(connection, query):
        title, owner, stage, minor, currency, *times = row[4:]
        yield [
            *_keys(row),
            title,
            names.user(owner),
            stage,
            money(minor),
            currency,
            *(cell(t) for t in times),
        ]


def _activities(
    connection: Connection, kind: str | None, orphans: bool, names: _Names
) -> Iterator[list[str]]:
    a = ACTIVITY.c
    query = _on_kind(ACTIVITY, kind, orphans, a.type, a.note, a.actor_id, a.occurred_at)
    for row in _stream(connection, query):
        type_, note, actor, occurred_at = row[4:]
        yield [*_keys(row), type_, cell(note), names.user(actor), cell(occurred_at)]


def _tasks(
    connection: Connection, kind: str | None, orphans: bool, names: _Names
) -> Iterator[list[str]]:
    t = TASK.c
    query = _on_kind(TASK, kind, orphans, t.assignee_id, t.due_at, t.note, t.done_at)
    for row in _stream(connection, query):
        assignee, due_at, note, done_at = row[4:]
        yield [*_keys(row), names.user(assignee), cell(due_at), note, cell(done_at)]


HISTORY_COLUMNS = ("entity", "kind", "of", "stage", "at")
STAGE = JOURNAL.c.after["stage"].as_string()
"""The stage a journal row reached, extracted in SQL: ``after`` may hold every field."""


def _history(connection: Connection) -> list[ExportTable]:
    """The stage history files: one per kind of record, then one for deals (see the module).

    Read from the journal: a ``create`` row's state and every later row that
    changed the stage (a move, a workflow's stage map) name the stage reached.
    """
    j = JOURNAL.c
    reached = JOURNAL.join(RECORD, RECORD.c.id == j.entity_id)
    kinds = select(RECORD.c.kind).distinct().select_from(reached)
    kinds = kinds.where(j.entity == "record", STAGE.is_not(None), RECORD.c.archived_at.is_(None))
    groups: list[str | None] = sorted(connection.execute(kinds).scalars())
    deals = select(DEAL.c.id).join(RECORD, RECORD.c.id == DEAL.c.record_id).where(_live(DEAL))
    if connection.execute(deals.limit(1)).first() is not None:
        groups.append(None)  # every deal has a stage from its creation on
    return [
        ExportTable(
            "stage_history.csv" if len(groups) == 1 else f"stage_history-{kind or 'deals'}.csv",
            "stage_history",
            HISTORY_COLUMNS,
            partial(_record_history, kind=kind) if kind else _deal_history,
            key=None,
            links={"of": {"kind": kind, "by": "external_id"} if kind else {"by": "external_id"}},
            defaults={"entity": "record" if kind else "deal"},
            # the file's link already names the kind, and the bundle importer has no
            # `kind` field for history rows yet
            unmapped=frozenset({"kind"}),
        )
        for kind in groups
    ]


def _record_history(connection: Connection, kind: str) -> Iterator[list[str]]:
    """Every stage each live record of ``kind`` reached and when, record by record.

    Record by record, not in journal order: an import writes each record's
    history as it creates it, so this order survives a round trip.
    """
    j = JOURNAL.c
    query = (
        select(STAGE, j.at, RECORD.c.id, RECORD.c.external_id)
        .select_from(JOURNAL.join(RECORD, RECORD.c.id == j.entity_id))
        .where(j.entity == "record", STAGE.is_not(None))
        .where(RECORD.c.kind == kind, RECORD.c.archived_at.is_(None))
        .order_by(j.entity_id, j.id)
    )
    for stage, at, row_id, key in _stream(connection, query):
        yield ["record", kind, external_key(key, row_id), stage, cell(at)]


def _deal_history(connection: Connection) -> Iterator[list[str]]:
    """Every stage each live deal reached and when, deal by deal (see :func:`_record_history`)."""
    j = JOURNAL.c
    query = (
        select(STAGE, j.at, DEAL.c.id, DEAL.c.external_id)
        .select_from(
            JOURNAL.join(DEAL, DEAL.c.id == j.entity_id).join(
                RECORD, RECORD.c.id == DEAL.c.record_id
            )
        )
        .where(j.entity == "deal", STAGE.is_not(None), _live(DEAL))
        .order_by(j.entity_id, j.id)
    )
    for stage, at, row_id, key in _stream(connection, query):
        yield ["deal", "", external_key(key, row_id), stage, cell(at)]
