"""Engines, column types and the one place that opens a transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from crm_core.config import CONNECT_TIMEOUT_S, SQLITE_BUSY_TIMEOUT_MS
from crm_core.errors import InvalidInput, TimedOut
from crm_core.i18n import _

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


@dataclass(frozen=True)
class Connections:
    """How a process of one kind uses a PostgreSQL server: its pool and its timeouts.

    SQLite needs none of this: a file has no connections to share.
    """

    process: str
    pool_size: int
    max_overflow: int
    pool_timeout: float
    read_timeout_ms: int | None = None


PROCESSES = {
    # One command: a transaction, and now and then a read beside it.
    "cli": Connections("cli", pool_size=1, max_overflow=2, pool_timeout=10),
    # The screen's reads, the next page read ahead and a background refresh. A slow read
    # is cancelled after 5 s, so the screen says so instead of freezing.
    "tui": Connections("tui", pool_size=3, max_overflow=2, pool_timeout=5, read_timeout_ms=5000),
    # A tick and the outbox's delivery; a tick waits longer for a busy pool than a person would.
    "worker": Connections("worker", pool_size=2, max_overflow=2, pool_timeout=30),
}
"""The connections of each kind of process: ``crm`` commands, ``crm tui``, ``crm worker``."""


def make_engine(url: str, connections: Connections = PROCESSES["cli"]) -> Engine:
    """Create an engine for ``url`` with the settings the CRM relies on.

    On PostgreSQL, ``connections`` sizes the pool and sets the timeouts (see
    :data:`PROCESSES`); a connection is checked before use, so one the server
    dropped is replaced rather than failing the next statement. A URL of a
    database system the CRM does not run on is refused (InvalidInput).
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
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=connections.pool_size,
        max_overflow=connections.max_overflow,
        pool_timeout=connections.pool_timeout,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": f"crm {connections.process}",
        },
    )
    if connections.read_timeout_ms is not None:
        return engine.execution_options(crm_read_timeout_ms=connections.read_timeout_ms)
    return engine


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
    PostgreSQL one needs REPEATABLE READ. On an engine whose connections set a
    read timeout (the TUI's, see :data:`PROCESSES`) a PostgreSQL read that runs
    longer is cancelled and raised as :class:`TimedOut`.
    """
    options: dict[str, Any] = dict(READ_ONLY)
    postgresql = engine.dialect.name == "postgresql"
    if snapshot and postgresql:
        options["isolation_level"] = "REPEATABLE READ"
    timeout = engine.get_execution_options().get("crm_read_timeout_ms") if postgresql else None
    with Session(engine, expire_on_commit=False) as session:
        connection = session.connection(execution_options=options)
        if timeout is None:
            yield session
            return
        # SET LOCAL takes no bound parameters; set_config(..., true) is its parameterised form.
        connection.execute(text("SELECT set_config('statement_timeout', :ms, true)"),
                           {"ms": str(timeout)})  # fmt: skip
        try:
            yield session
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != QUERY_CANCELED:
                raise
            raise TimedOut(
                _("the database took longer than {seconds} s to answer; try again or narrow "
                  "the search", seconds=f"{timeout / 1000:g}")
            ) from None  # fmt: skip


QUERY_CANCELED = "57014"
"""PostgreSQL's SQLSTATE for a statement cancelled by its ``statement_timeout``."""


def server_engine(server_url: str) -> Engine:
    """An AUTOCOMMIT engine on the PostgreSQL server of ``server_url``, to create and drop
    databases; a URL of anything else is refused (InvalidInput)."""
    wanted = InvalidInput(
        _("{database} is not a PostgreSQL server URL (postgresql+psycopg://USER@HOST/DB)",
          database=database_label(server_url))
    )  # fmt: skip
    try:
        url = make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    except ArgumentError:
        raise wanted from None
    if url.get_backend_name() != "postgresql":
        raise wanted
    return create_engine(url, isolation_level="AUTOCOMMIT")


def create_database(server: Engine, name: str, template: str | None = None) -> str:
    """Create database ``name`` on ``server`` (a copy of ``template``, which nobody may be
    connected to); return its URL, password included, for this process to connect with."""
    copy = f' TEMPLATE "{template}"' if template else ""
    try:
        with server.connect() as conn:
            if template and (conn.dialect.server_version_info or (0,)) >= (15,):
                # Copy the files, not write every page to the WAL (15's default): a copy of
                # a million records would otherwise leave gigabytes of WAL to flush while
                # the next figure is timed.
                copy += " STRATEGY = FILE_COPY"
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    except DBAPIError as exc:
        reason = str(exc.orig).splitlines()[0] if str(exc.orig) else type(exc.orig).__name__
        label = server.url.render_as_string(hide_password=True)
        raise InvalidInput(
            _("cannot create a database on {database}: {reason}", database=label, reason=reason)
        ) from None
    return server.url.set(database=name).render_as_string(hide_password=False)


def drop_database(server: Engine, name: str) -> None:
    """Drop database ``name`` on ``server``, with the connections left to it."""
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def scratch_database(server_url: str, prefix: str, *, keep: bool = False) -> Iterator[str]:
    """Create an empty database named ``prefix`` + a random suffix on the server of
    ``server_url``; yield its URL; drop it afterwards (with the connections left) unless ``keep``.
    """
    server = server_engine(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        url = create_database(server, name)
    except InvalidInput:
        server.dispose()
        raise
    try:
        yield url
    finally:
        if not keep:
            drop_database(server, name)
        server.dispose()


def marks(connection: Connection, count: int) -> str:
    """``count`` positional placeholders in the driver's own style."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * count)


def insert_rows(connection: Connection, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` into ``table (columns)``: through COPY on PostgreSQL (one stream, no
    statement per row), one executemany elsewhere. On PostgreSQL a duplicate key raises
    :func:`unique_violation`'s error, which SQLAlchemy does not wrap."""
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    columns = table.count(",") + 1
    connection.exec_driver_sql(f"INSERT INTO {table} VALUES ({marks(connection, columns)})", rows)


def unique_violation() -> type[Exception]:
    """psycopg's error for a duplicate key met by COPY (which SQLAlchemy does not wrap)."""
    try:
        from psycopg.errors import UniqueViolation
    except ImportError:  # no PostgreSQL driver installed: COPY is never used
        return IntegrityError
    return UniqueViolation
