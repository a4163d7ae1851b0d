"""Fixtures: a fresh CRM database per test, on SQLite and (when configured) PostgreSQL.

PostgreSQL tests run when ``CRM_TEST_PG_URL`` is set (``.ci/run`` sets it):
the session creates its own database on that server, migrates it once,
empties it before each test and drops it at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm_core.api import Crm
from crm_core.clock import ManualClock
from crm_core.db import make_engine
from crm_core.models import SQLModel

PG_URL = os.environ.get("CRM_TEST_PG_URL")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: needs CRM_TEST_PG_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="PostgreSQL tests need CRM_TEST_PG_URL (set by .ci/run)")
    for item in items:
        if "postgresql" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "crm.db"
    crm = Crm.open(f"sqlite:///{path}")
    crm.init("admin")
    crm.close()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of this test session, dropped at the end."""
    assert PG_URL
    name = f"crm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin.url).set(database=name).render_as_string(hide_password=False)
    crm = Crm.open(url)
    crm.init("admin")
    crm.close()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_pg(url: str) -> None:
    # DELETE and setval take milliseconds on a test's few rows; TRUNCATE of every
    # table costs a quarter of a second, which every PostgreSQL test would pay.
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())
        sequences = conn.execute(text("SELECT relname FROM pg_class WHERE relkind = 'S'"))
        for name in sequences.scalars().all():
            conn.execute(text("SELECT setval(quote_ident(:name), 1, false)"), {"name": name})
    engine.dispose()
    crm = Crm.open(url)
    crm.init("admin")
    crm.close()


@pytest.fixture(scope="session")
def reset_pg() -> Callable[[str], None]:
    """Empty a PostgreSQL test database and add the admin again (tests that need a clean
    database several times in one test call it)."""
    return _reset_pg


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty CRM database (with the admin user ``admin``)."""
    if request.param == "sqlite":
        path = tmp_path / "crm.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    _reset_pg(url)
    return url


@pytest.fixture
def clock() -> ManualClock:
    """The clock every test CRM reads; tests move it by hand."""
    return ManualClock(START)


@pytest.fixture
def crm(db_url: str, clock: ManualClock) -> Iterator[Crm]:
    """A CRM on a fresh database with the installed plugins (leads, testplugin)."""
    crm = Crm.open(db_url, clock=clock)
    yield crm
    crm.close()


@pytest.fixture
def people(crm: Crm) -> Crm:
    """Teams east and west; operators alice, bob (east), carol (west); manager mia (east);
    pool "east-pool" with alice and bob."""
    crm.add_team("admin", "east")
    crm.add_team("admin", "west")
    crm.add_user("admin", "alice", "operator", "east")
    crm.add_user("admin", "bob", "operator", "east")
    crm.add_user("admin", "carol", "operator", "west")
    crm.add_user("admin", "mia", "manager", "east")
    crm.add_pool("admin", "east-pool", ["alice", "bob"], ["mia"])
    return crm
