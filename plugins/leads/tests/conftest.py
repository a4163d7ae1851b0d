"""Fixtures: a fresh CRM with the installed plugins (leads among them) per test, on SQLite.

The lead kind's other behaviour is tested with the core (``tests/``); these
fixtures serve the plugin's own tests, which use only the public API.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crm_core.api import Crm
from crm_core.clock import ManualClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WORKFLOW = Path(__file__).resolve().parents[3] / "workflows" / "leads.yaml"


@pytest.fixture(scope="session")
def leads_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the admin, which each test copies."""
    path = tmp_path_factory.mktemp("leads-template") / "crm.db"
    crm = Crm.open(f"sqlite:///{path}")
    crm.init("admin")
    crm.close()
    return path


@pytest.fixture
def crm(leads_template: Path, tmp_path: Path) -> Iterator[Crm]:
    """A CRM on a fresh database, its clock standing at ``START``."""
    path = tmp_path / "crm.db"
    shutil.copy(leads_template, path)
    crm = Crm.open(f"sqlite:///{path}", clock=ManualClock(START))
    yield crm
    crm.close()


@pytest.fixture
def desk(crm: Crm) -> Crm:
    """The people ``workflows/leads.yaml`` names (alice, bob in team east; manager mia),
    carol in team west, and the workflow applied."""
    for team in ("east", "west"):
        crm.add_team("admin", team)
    for name, role, team in [
        ("alice", "operator", "east"),
        ("bob", "operator", "east"),
        ("carol", "operator", "west"),
        ("mia", "manager", "east"),
    ]:
        crm.add_user("admin", name, role, team)  # fmt: skip
    crm.apply_workflow("admin", WORKFLOW)
    return crm
