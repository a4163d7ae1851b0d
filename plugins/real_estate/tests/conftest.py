"""Fixtures: a fresh CRM with the installed plugins (real_estate among them) per test.

SQLite always; PostgreSQL too when ``CRM_TEST_PG_URL`` is set: the session
creates its own database on that server, each test empties it, and the
session drops it at the end (the pattern of the core's ``tests/conftest.py``).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crm_core import hookimpl, testing
from crm_core.api import Crm
from crm_core.clock import ManualClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@hookimpl
def _other_kind(register: Callable[..., None]) -> None:
    register("parcel", label={"en": "Parcel", "zh": "包裹"},
             fields={"name": {"type": "string"}})  # fmt: skip


# A second kind, so the tests can show that the reports count buyers only.
OTHER = types.SimpleNamespace(crm_register_kinds=_other_kind)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: needs CRM_TEST_PG_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if testing.PG_URL:
        return
    skip = pytest.mark.skip(reason=testing.SKIP_REASON)
    for item in items:
        if "postgresql" in item.keywords:
            item.add_marker(skip)


def _open(url: str, clock: Any = None) -> Crm:
    extra = [("re_test_other", OTHER)]
    if clock is None:
        return Crm.open(url, extra_plugins=extra)
    return Crm.open(url, extra_plugins=extra, clock=clock)


@pytest.fixture(scope="session")
def re_pg_database() -> Iterator[str]:
    """A migrated PostgreSQL database of this test session, dropped at the end."""
    with testing.pg_database("crm_re_test") as url:
        crm = _open(url)
        crm.upgrade()
        crm.close()
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated CRM database with the admin ``admin``."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crm.db'}"
    else:
        url = request.getfixturevalue("re_pg_database")
        testing.empty_pg(url)
    crm = _open(url)
    crm.init("admin")
    crm.close()
    return url


@pytest.fixture
def clock() -> ManualClock:
    """The clock the test CRM reads; tests set ``clock.now`` by hand."""
    return ManualClock(START)


@pytest.fixture
def crm(db_url: str, clock: ManualClock) -> Iterator[Crm]:
    """A CRM on a fresh database with the installed plugins and a second kind, ``parcel``."""
    crm = _open(db_url, clock)
    yield crm
    crm.close()


@pytest.fixture
def people(crm: Crm) -> Crm:
    """The users the shipped workflow names: operators wang, li (sales_east), zhang,
    zhao (sales_west) and manager chen (sales_east)."""
    crm.add_team("admin", "sales_east")
    crm.add_team("admin", "sales_west")
    for name, team in [("wang", "sales_east"), ("li", "sales_east"),
                       ("zhang", "sales_west"), ("zhao", "sales_west")]:  # fmt: skip
        crm.add_user("admin", name, "operator", team)
    crm.add_user("admin", "chen", "manager", "sales_east")
    return crm
