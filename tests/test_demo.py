"""``crm demo``: it builds a CRM, runs the days, reports, and never overwrites by accident."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_core.api import Crm
from crm_core.cli.main import app


@pytest.fixture
def small_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    # An empty folder, no checkout: the workflows come from inside the package.
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--records", "40", "--days", "4", "--seed", "3"])
    assert result.exit_code == 0, result.output
    return tmp_path / "crm-demo.db", result.output


def test_demo_shows_each_phase_as_it_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--records", "20", "--days", "3", "--seed", "3"])
    assert result.exit_code == 0, result.output
    progress = result.stderr
    assert "people and workflows" in progress and "1/1" in progress
    assert "days of work" in progress and "3/3" in progress
    assert "tallies" in progress
    assert "people and workflows" not in result.stdout  # progress never mixes with the results


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


def test_demo_ends_with_its_users_and_how_to_open_the_tui_as_each_role(
    small_demo: tuple[Path, str],
) -> None:
    path, output = small_demo
    crm = Crm.open(f"sqlite:///{path}")
    try:
        users = crm.list_users("admin")
    finally:
        crm.close()
    after = output[output.index("the demo's users") :]
    for user in users:
        assert user.name in after and user.role in after
    manager = next(u for u in users if u.role == "manager" and u.team == "east")
    lines = after.splitlines()
    assert any(line.strip().startswith("crm tui --demo ") and "alice, operator" in line
               for line in lines)  # fmt: skip
    assert any(f"crm --as {manager.name} tui --demo" in line and "manager of team east" in line
               for line in lines)  # fmt: skip
    assert any("crm --as admin tui --demo" in line and "admin" in line for line in lines)
    assert "crm --db crm-demo.db --as alice record list" in after


def test_demo_elsewhere_names_its_file_in_the_next_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["demo", "--db", "other.db", "--records", "20", "--days", "2"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert "crm --db other.db --as alice tui" in result.stdout
    assert "tui --demo" not in result.stdout  # --demo would open ./crm-demo.db, not this one


def test_demo_refuses_to_overwrite_without_fresh(small_demo: tuple[Path, str]) -> None:
    path, _output = small_demo
    before = path.stat().st_size
    again = CliRunner().invoke(app, ["demo", "--records", "40", "--days", "4"])
    assert again.exit_code == 5
    assert "exists: pass --fresh" in again.output
    assert path.stat().st_size == before
