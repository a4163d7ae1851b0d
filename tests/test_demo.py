"""``crm demo``: it builds a CRM, runs the days, reports, and never overwrites by accident."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_core.api import Crm
from crm_core.cli.main import app


@pytest.fixture
def small_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--records", "40", "--days", "4", "--seed", "3"])
    assert result.exit_code == 0, result.output
    return tmp_path / "crm-demo.db", result.output


def test_demo_builds_people_workflows_records_and_reports(small_demo: tuple[Path, str]) -> None:
    path, output = small_demo
    assert "workflows: " in output and "leads (lead)" in output
    assert "Funnel of lead" in output and "Pool activity per operator" in output
    crm = Crm.open(f"sqlite:///{path}")
    try:
        users = {u.name for u in crm.list_users("admin")}
        assert {"alice", "bob", "mia", "wang", "li", "zhang", "zhao", "chen"} <= users
        leads = crm.list_records("admin", kind="lead", limit=1000)
        assert len(leads) == 40
        assert sum(1 for r in leads if r.owner is not None) > 0
        assert crm.replay_journal("admin") == crm.record_states("admin")
    finally:
        crm.close()


def test_demo_refuses_to_overwrite_without_fresh(small_demo: tuple[Path, str]) -> None:
    path, _output = small_demo
    before = path.stat().st_size
    again = CliRunner().invoke(app, ["demo", "--records", "40", "--days", "4"])
    assert again.exit_code == 5
    assert "exists: pass --fresh" in again.output
    assert path.stat().st_size == before
