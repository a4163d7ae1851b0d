"""Fixtures: a fresh CRM database per test, on SQLite and (when configured) PostgreSQL.

PostgreSQL tests run when ``CRM_TEST_PG_URL`` is set (``.ci/run`` sets it):
the session creates its own database on that server, migrates it once,
empties it before each test and drops it at the end.

After every test that used the ``crm`` fixture, the journal is replayed against
the tables (``Crm.verify_journal``) and any difference fails the test: every
write path must journal what it changes. A test that changes tables behind
the API's back on purpose (raw SQL to fake a corrupt or legacy database) opts
out with ``@pytest.mark.no_journal_check`` (a fixture that does so adds the
marker with ``request.node.add_marker``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crm_core import i18n, testing
from crm_core.api import Crm
from crm_core.clock import ManualClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: needs CRM_TEST_PG_URL")
    config.addinivalue_line(
        "markers", "no_journal_check: the test edits tables behind the API on purpose"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if testing.PG_URL:
        return
    skip = pytest.mark.skip(reason=testing.SKIP_REASON)
    for item in items:
        if "postgresql" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts in English, whatever the shell's ``CRM_LANG``; a test that picks a
    language (``crm tui --lang zh``) leaves none behind."""
    monkeypatch.delenv(i18n.ENV, raising=False)
    i18n.use(None)
    yield
    i18n.use(None)


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
    """A migrated PostgreSQL database of this test session, dropped at the end."""
    with testing.pg_database("crm_test") as url:
        crm = Crm.open(url)
        crm.init("admin")
        crm.close()
        yield url


def _reset_pg(url: str) -> None:
    testing.empty_pg(url)
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
def crm(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> Iterator[Crm]:
    """A CRM on a fresh database with the installed plugins (leads, testplugin).

    On teardown the journal must replay to exactly what the tables hold.
    """
    crm = Crm.open(db_url, clock=clock)
    yield crm
    try:
        if request.node.get_closest_marker("no_journal_check") is None:
            check = crm.verify_journal("admin")
            assert check.ok, "journal and tables disagree:\n" + "\n".join(check.differences)
    finally:
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
