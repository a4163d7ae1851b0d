"""One record read from SQLite through the standard library, for ``crm record show``.

A script that calls ``crm`` once per row pays the command's start-up each
time, and SQLAlchemy and SQLModel are most of it. :func:`get_record` reads a
record as :meth:`crm_core.api.Crm.get_record` does (the same schema check, the
same acting user and rules from :mod:`crm_core.permissions`, the same view)
with plain SQL on a read-only sqlite3 connection. Where it cannot answer for
sure (not SQLite, no such file, a schema not known to be current, a database
error) it returns None, and the caller asks the API, which also words what is
wrong.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crm_core import permissions
from crm_core.config import SQLITE_BUSY_TIMEOUT_MS, load_settings
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
        return cls(id_, kind, title, stage, owner_id, pool_id, json.loads(data), created,
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
    path = _sqlite_file(settings.database_url)
    if path is None or not path.is_file():
        return None
    host = PluginHost(settings.disabled_plugins, extra_plugins, entry_points)
    branches = plugin_migrations(host)
    try:
        connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
        )
    except sqlite3.Error:
        return None
    try:

        def fetch(sql: str, params: dict[str, Any]) -> list[Any]:
            return connection.execute(sql, params).fetchall()

        stored = [row[0] for row in fetch("SELECT version_num FROM alembic_version", {})]
        if not heads_current(stored, branches):
            return None
        who = permissions.read_actor(fetch, actor)
        rows = fetch(_RECORD, {"id": record_id})
        record = _StoredRecord.of(rows[0]) if rows else None
        owner = _name(fetch, _USER_NAME, record.owner_id) if record else None
        permissions.check(who, "show", record, record_id, owner)
        assert record is not None
        return RecordView.of(record, owner, _name(fetch, _POOL_NAME, record.pool_id))
    except sqlite3.Error:
        return None
    finally:
        connection.close()


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


def _utc(stored: str | None) -> datetime | None:
    """A time as SQLAlchemy stores it on SQLite (naive UTC text), read back aware."""
    return None if stored is None else datetime.fromisoformat(stored).replace(tzinfo=UTC)
