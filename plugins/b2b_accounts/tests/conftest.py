"""Fixtures: a fresh CRM per test on SQLite, and on PostgreSQL when ``CRM_TEST_PG_URL`` is set.

Only the public API (``crm_core.api``) and the core's test support
(``crm_core.testing``) are used, as an integrator's tests would.
PostgreSQL: the session creates its own database on that server, migrates it
once, empties it before each test and drops it at the end (the pattern of the
core's ``tests/conftest.py``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crm_core import testing
from crm_core.api import Crm

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
DATA = Path(__file__).parent / "data"
WORKFLOW = Path(__file__).resolve().parents[3] / "workflows" / "b2b_sales.yaml"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: needs CRM_TEST_PG_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if testing.PG_URL:
        return
    skip = pytest.mark.skip(reason=testing.SKIP_REASON)
    for item in items:
        if "postgresql" in item.keywords:
            item.add_marker(skip)


class Clock:
    """A clock that stands still until a test moves it (``Crm.open`` takes any callable)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def b2b_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file each test copies instead of migrating again."""
    path = tmp_path_factory.mktemp("b2b-template") / "crm.db"
    crm = Crm.open(f"sqlite:///{path}")
    crm.init("admin")
    crm.close()
    return path


@pytest.fixture(scope="session")
def b2b_pg_database() -> Iterator[str]:
    """A migrated PostgreSQL database of this test session, dropped at the end."""
    with testing.pg_database("crm_b2b_test") as url:
        crm = Crm.open(url)
        crm.init("admin")
        crm.close()
        yield url


def _reset_pg(url: str) -> None:
    """Empty the tables, restart the sequences, add the admin again."""
    testing.empty_pg(url)
    crm = Crm.open(url)
    crm.init("admin")
    crm.close()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty CRM database with the admin ``admin``."""
    if request.param == "sqlite":
        path = tmp_path / "crm.db"
        shutil.copy(request.getfixturevalue("b2b_sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("b2b_pg_database")
    _reset_pg(url)
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def crm(db_url: str, clock: Clock) -> Iterator[Crm]:
    """A CRM on a fresh database with the installed plugins (b2b_accounts among them)."""
    crm = Crm.open(db_url, clock=clock)
    yield crm
    crm.close()


@pytest.fixture
def team(crm: Crm) -> Crm:
    """The workflow's demo users: operators wang, li (sales_east), zhang, zhao (sales_west);
    manager chen (sales_east)."""
    crm.add_team("admin", "sales_east")
    crm.add_team("admin", "sales_west")
    for name, t in [("wang", "sales_east"), ("li", "sales_east"),
                    ("zhang", "sales_west"), ("zhao", "sales_west")]:  # fmt: skip
        crm.add_user("admin", name, "operator", t)
    crm.add_user("admin", "chen", "manager", "sales_east")
    return crm


@pytest.fixture
def b2b(team: Crm) -> Crm:
    """The team with workflows/b2b_sales.yaml applied."""
    team.apply_workflow("admin", WORKFLOW)
    return team


AddAccount = Callable[..., int]


@pytest.fixture
def add_account(crm: Crm) -> AddAccount:
    """``add_account(company, owner=..., **fields) -> id`` as the admin."""

    def add(company: str, owner: str | None = None, **fields: object) -> int:
        return crm.add_record("admin", "account", {"company": company, **fields},
                              owner=owner).record.id  # fmt: skip

    return add
