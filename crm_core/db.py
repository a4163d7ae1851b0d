"""Engines, column types and the one place that opens a transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from crm_core.errors import InvalidInput
from crm_core.i18n import _

SQLITE_BUSY_TIMEOUT_MS = 10_000

JsonType = JSON().with_variant(JSONB(), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is stored in UTC and always read back as an aware datetime.

    SQLite keeps no zone, so naive values read from it are UTC by construction;
    naive values written by callers are refused instead of being guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY = {"crm_read_only": True}
"""Execution options that mark a connection as read-only (SQLite then begins DEFERRED)."""


def _sqlite_begin(conn: Any) -> None:
    # pysqlite defers BEGIN until the first write, so a read-then-write
    # transaction can fail with "database is locked" instead of waiting;
    # BEGIN IMMEDIATE takes the write lock up front and honours busy_timeout.
    if conn.get_execution_options().get("crm_read_only"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


BACKENDS = ("sqlite", "postgresql")
"""The database systems the CRM runs on (the scheme of a URL before any ``+driver``)."""


def database_label(url: str | URL) -> str:
    """How messages name a database: a SQLite file's path, else the URL without its password."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    try:
        parsed = make_url(url)
    except ArgumentError:
        return str(url).split("@")[-1]  # whatever precedes an "@" may hold a password
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _check_url(url: str) -> None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(
            _(
                "cannot open the database {value}: not a database URL (use a SQLite path or postgresql+psycopg://…)",
                value=database_label(url),
            )
        ) from None
    backend = parsed.get_backend_name()
    if backend not in BACKENDS:
        raise InvalidInput(
            _(
                "cannot open the database {value}: unknown scheme {backend} (use a SQLite path or postgresql+psycopg://…)",
                value=database_label(parsed),
                backend=backend,
            )
        )


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the settings the CRM relies on.

    A URL of a database system the CRM does not run on is refused (InvalidInput).
    """
    _check_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def probe(engine: Engine) -> None:
    """Connect once, turning a database that cannot be reached or read into one InvalidInput line.

    The line names the database (never its password) and the reason: a SQLite
    file in a missing folder, a file that is not a database, a server that
    refuses the connection.
    """
    label = database_label(engine.url)
    path = sqlite_path(engine.url)
    if path is not None and not path.parent.is_dir():
        raise InvalidInput(
            _(
                "cannot open the database {label}: no folder {parent}",
                label=label,
                parent=path.parent,
            )
        )
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        reason = str(exc.orig).splitlines()[0] if str(exc.orig) else type(exc.orig).__name__
        if path is not None and "not a database" in reason:
            reason = "not a crm database"
        raise InvalidInput(
            _("cannot open the database {label}: {reason}", label=label, reason=reason)
        ) from None


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """Open a session whose work commits together or not at all."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_session(engine: Engine, *, snapshot: bool = False) -> Iterator[Session]:
    """Open a session for reads only; it is rolled back when closed.

    ``snapshot``: every statement sees the database as the first one did (an
    export whose files must agree); a SQLite read transaction always does, a
    PostgreSQL one needs REPEATABLE READ.
    """
    options: dict[str, Any] = dict(READ_ONLY)
    if snapshot and engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with Session(engine, expire_on_commit=False) as session:
        session.connection(execution_options=options)
        yield session
