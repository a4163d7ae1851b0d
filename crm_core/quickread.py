"""One record read with plain SQL, without SQLAlchemy, for ``crm record show``.

A script that calls ``crm`` once per row pays the command's start-up each
time, and SQLAlchemy and SQLModel are most of it. :func:`get_record` reads a
record as :meth:`crm_core.api.Crm.get_record` does (the same schema check, the
same acting user and rules from :mod:`crm_core.permissions`, the same view)
with plain SQL on a read-only connection: the standard library's sqlite3, or
psycopg on PostgreSQL. Where it cannot answer for sure (another database, no
such file, a URL with options, a schema not known to be current, a database
error, a server that does not answer) it returns None, and the caller asks
the API, which also words what is wrong.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crm_core import permissions
from crm_core.config import CONNECT_TIMEOUT_S, SQLITE_BUSY_TIMEOUT_MS, load_settings
from crm_core.plugins import PluginHost
from crm_core.revisions import heads_current, plugin_migrations
from crm_core.views import RecordView

_RECORD = (
    "SELECT id, kind, title, stage, owner_id, pool_id, data, created_at, updated_at,"
    " stage_entered_at, last_activity_at, archived_at, version FROM record WHERE id = :id"
)
_USER_NAME = "SELECT name FROM crm_user WHERE id = :id"
_POOL_NAME = "SELECT name FROM pool WHERE id = :id"
# The URL prefixes of a SQLite file (SQLAlchemy's, with or without the driver).
_SQLITE_PREFIXES = ("sqlite:///", "sqlite+pysqlite:///")
_POSTGRESQL_PREFIXES = ("postgresql+psycopg://", "postgresql://")
_NAMED = re.compile(r":(\w+)")


@dataclass(frozen=True)
class _StoredRecord:
    """A ``record`` row as the ORM reads it: aware UTC times, the fields decoded."""

    id: int
    kind: str
    title: str
    stage: str | None
    owner_id: int | None
    pool_id: int | None
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    stage_entered_at: datetime
    last_activity_at: datetime | None
    archived_at: datetime | None
    version: int

    @classmethod
    def of(cls, row: Sequence[Any]) -> _StoredRecord:
        id_, kind, title, stage, owner_id, pool_id, data, *times, version = row
        created, updated, entered, last_activity, archived = (_utc(t) for t in times)
        assert created is not None and updated is not None and entered is not None
        fields = data if isinstance(data, dict) else json.loads(data)  # PostgreSQL: decoded
        return cls(id_, kind, title, stage, owner_id, pool_id, fields, created,
                   updated, entered, last_activity, archived, version)  # fmt: skip


def get_record(
    url: str | None,
    actor: str,
    record_id: int,
    *,
    extra_plugins: Iterable[tuple[str, object]] = (),
    entry_points: bool = True,
) -> RecordView | None:
    """The record ``actor`` may see, as :meth:`Crm.get_record` returns it; None: ask the API.

    ``url`` and the plugin arguments mean what they mean to :meth:`Crm.open`.
    Refusals (no such user or record, not visible) raise the API's errors.
    """
    settings = load_settings(url)
    opened = _open_sqlite(settings.database_url) or _open_postgresql(settings.database_url)
    if opened is None:
        return None
    fetch, close, failure = opened
    host = PluginHost(settings.disabled_plugins, extra_plugins, entry_points)
    try:
        stored = [row[0] for row in fetch("SELECT version_num FROM alembic_version", {})]
        if not heads_current(stored, plugin_migrations(host)):
            return None
        who = permissions.read_actor(fetch, actor)
        rows = fetch(_RECORD, {"id": record_id})
        record = _StoredRecord.of(rows[0]) if rows else None
        owner = _name(fetch, _USER_NAME, record.owner_id) if record else None
        permissions.check(who, "show", record, record_id, owner)
        assert record is not None
        return RecordView.of(record, owner, _name(fetch, _POOL_NAME, record.pool_id))
    except failure:
        return None
    finally:
        close()


_Opened = tuple[permissions.Fetch, Callable[[], None], type[Exception]]
"""How to run a query, how to close the connection, and the error that means "ask the API"."""


def _open_sqlite(url: str) -> _Opened | None:
    """A read-only sqlite3 connection to the file of ``url``; None when it is not one."""
    path = _sqlite_file(url)
    if path is None or not path.is_file():
        return None
    try:
        connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
        )
    except sqlite3.Error:
        return None

    def fetch(sql: str, params: dict[str, Any]) -> list[Any]:
        return connection.execute(sql, params).fetchall()

    return fetch, connection.close, sqlite3.Error


def _open_postgresql(url: str) -> _Opened | None:
    """A read-only psycopg connection to the PostgreSQL database of ``url``, named as the
    CRM's commands are; None for another URL, one with options, or a server that does not
    answer (the API says why)."""
    prefix = next((p for p in _POSTGRESQL_PREFIXES if url.startswith(p)), None)
    if prefix is None or "?" in url:
        return None
    import psycopg

    try:
        connection = psycopg.connect(
            "postgresql://" + url[len(prefix) :], connect_timeout=CONNECT_TIMEOUT_S,
            application_name="crm cli", autocommit=True,
            options="-c default_transaction_read_only=on",
        )  # fmt: skip
    except psycopg.Error:
        return None

    def fetch(sql: str, params: dict[str, Any]) -> list[Any]:
        # The queries are written with :name parameters (sqlite3's); psycopg's are %(name)s.
        return connection.execute(_NAMED.sub(r"%(\1)s", sql), params).fetchall()

    return fetch, connection.close, psycopg.Error


def _sqlite_file(url: str) -> Path | None:
    """The file of a plain SQLite URL; None for anything else (options, memory, a server)."""
    for prefix in _SQLITE_PREFIXES:
        if url.startswith(prefix):
            database = url[len(prefix) :]
            if database and "?" not in database and database != ":memory:":
                return Path(database)
    return None


def _name(fetch: permissions.Fetch, sql: str, row_id: int | None) -> str | None:
    if row_id is None:
        return None
    rows = fetch(sql, {"id": row_id})
    return str(rows[0][0]) if rows else None


def _utc(stored: str | datetime | None) -> datetime | None:
    """A time as SQLAlchemy stores it (SQLite: naive UTC text; PostgreSQL: an aware time),
    read back aware in UTC, as the ORM gives it."""
    if stored is None:
        return None
    if isinstance(stored, datetime):
        return stored.astimezone(UTC)
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)
