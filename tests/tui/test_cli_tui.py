"""``crm tui``: who it opens as, in which language, and the refusals before any screen opens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crm_core.api import Crm
from crm_core.cli import tui as tui_command
from crm_core.cli.main import app
from crm_core.tui.app import CrmApp

CLEAN_ENV: dict[str, str | None] = {
    "CRM_USER": None, "CRM_DATABASE_URL": None, "CRM_LANG": None, "LC_ALL": None, "LANG": None,
}  # fmt: skip


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[CrmApp]:
    """The apps ``crm tui`` would have run, kept instead of taking over the terminal."""
    apps: list[CrmApp] = []

    def run(self: CrmApp, *args: Any, **kwargs: Any) -> None:
        apps.append(self)

    monkeypatch.setattr(CrmApp, "run", run)
    return apps


def _crm_tui(*args: str, env: dict[str, str | None] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env={**CLEAN_ENV, **(env or {})})


def test_tui_opens_as_the_user_in_the_language_asked(
    tui_template: Path, started: list[CrmApp]
) -> None:
    url = f"sqlite:///{tui_template}"
    result = _crm_tui("--db", url, "--as", "mia", "tui", "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert started[0].actor == "mia" and started[0].is_manager and started[0].tr.lang == "zh"
    result = _crm_tui("--db", url, "tui", env={"CRM_USER": "alice", "LANG": "zh_CN.UTF-8"})
    assert result.exit_code == 0 and started[1].actor == "alice" and started[1].tr.lang == "zh"
    assert not started[1].is_manager
    assert started[1].dashboard_file is not None and started[1].dashboard_file.is_file()


def test_tui_demo_opens_the_demo_database_as_alice(
    tui_template: Path, tmp_path: Path, started: list[CrmApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = tmp_path / "crm-demo.db"
    demo.write_bytes(tui_template.read_bytes())
    monkeypatch.setattr(tui_command, "DEMO_FILE", demo)
    result = _crm_tui("tui", "--demo")
    assert result.exit_code == 0, result.output
    assert started[0].actor == "alice"
    assert started[0].crm.engine.url.database == str(demo)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--as", "zed", "tui"], 4, "no user 'zed'"),
        (["tui"], 2, "no acting user"),
        (["--as", "alice", "tui", "--lang", "fr"], 2, "--lang fr: choose en or zh"),
        (["--as", "alice", "tui", "--dashboard", "nowhere.yaml"], 4, "no dashboard file"),
    ],
)
def test_tui_refuses_bad_starts_with_a_message_and_no_traceback(
    tui_template: Path, started: list[CrmApp], args: list[str], code: int, message: str
) -> None:
    before = tui_template.read_bytes()
    result = _crm_tui("--db", f"sqlite:///{tui_template}", *args)
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.output + result.stderr
    assert started == []
    assert tui_template.read_bytes() == before


def test_an_inactive_user_cannot_open_the_tui(tui_crm: Crm, started: list[CrmApp]) -> None:
    tui_crm.set_user_active("admin", "bob", False)
    result = _crm_tui("--db", str(tui_crm.engine.url), "--as", "bob", "tui")
    assert result.exit_code == 3 and "inactive" in result.stderr
    assert started == []
