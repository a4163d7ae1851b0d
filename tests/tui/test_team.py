"""The team screen: a manager's queues, reassigning records, and checking workflow files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Static

from crm_core.api import Crm
from crm_core.errors import PermissionDenied
from crm_core.tui.app import CrmApp
from crm_core.tui.screens.team import IDLE_DAYS, ReassignDialog, TeamScreen

ROOT = Path(__file__).resolve().parents[2]
SIZE = (120, 40)
Settle = Callable[[CrmApp], Awaitable[None]]


def _rows(app: CrmApp, table_id: str) -> list[list[str]]:
    table = app.screen.query_one(table_id, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _text(app: CrmApp, widget_id: str) -> str:
    return str(app.screen.query_one(widget_id, Static).content)


async def _open_team(pilot: Pilot[None], settle: Settle) -> CrmApp:
    app = pilot.app
    assert isinstance(app, CrmApp)
    await settle(app)
    await pilot.press("5")
    while not isinstance(app.screen, TeamScreen):  # its mount asks for the queues
        await pilot.pause(0.01)
    await pilot.pause()
    await settle(app)
    return app


async def test_a_manager_sees_each_operators_queue(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    report = tui_crm.run_report("mia", "follow_up_compliance", params={"days": str(IDLE_DAYS)})
    expected = {owner: (n, idle) for owner, n, idle, _share in report.rows}
    tasks, now = tui_crm.list_tasks("mia"), tui_crm.clock()
    async with make_app("mia").run_test(size=SIZE) as pilot:
        app = await _open_team(pilot, settle)
        rows = {r[0]: r for r in _rows(app, "#team-queues")}
        assert set(rows) == {"alice", "bob", "mia"}  # the east team; carol is west
        for name in ("alice", "bob"):
            open_records, idle = expected[name]
            assert rows[name][2] == str(open_records)
            assert str(idle) in rows[name][3]
            mine = [t for t in tasks if t.assignee == name]
            assert rows[name][5] == str(len(mine))
            assert str(sum(t.due_at < now for t in mine)) in rows[name][6]
        assert expected["alice"] == (12, 5) and "1" in rows["alice"][6]  # one overdue task


async def test_an_away_operator_is_marked_with_the_day_they_return(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    back = tui_crm.clock() + timedelta(days=3)
    tui_crm.set_user_away("mia", "bob", back)
    async with make_app("mia").run_test(size=SIZE) as pilot:
        app = await _open_team(pilot, settle)
        names = [r[0] for r in _rows(app, "#team-queues")]
        assert "bob (away until 03-15 09:00)" in names and "alice" in names


async def test_an_admin_sees_everyone(make_app: Callable[..., CrmApp], settle: Settle) -> None:
    async with make_app("admin").run_test(size=SIZE) as pilot:
        app = await _open_team(pilot, settle)
        assert [r[0] for r in _rows(app, "#team-queues")] == [
            "admin", "alice", "bob", "carol", "mia",
        ]  # fmt: skip


async def test_selecting_an_operator_shows_their_records_longest_idle_first(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    async with make_app("mia").run_test(size=SIZE) as pilot:
        app = await _open_team(pilot, settle)
        alices = tui_crm.record_page("mia", owner="alice", sort="idle").records
        assert [r[0] for r in _rows(app, "#team-records")] == [str(r.id) for r in alices]
        assert "alice" in _text(app, "#team-records-title")
        await pilot.press("down")  # bob
        await settle(app)
        bobs = tui_crm.record_page("mia", owner="bob", sort="idle").records
        assert [r[0] for r in _rows(app, "#team-records")] == [str(r.id) for r in bobs]
        assert "bob" in _text(app, "#team-records-title")


async def _reassign_first_record(pilot: Pilot[None], settle: Settle) -> tuple[CrmApp, int]:
    """Open the team, go to alice's records, press g on the first; the dialog is open."""
    app = await _open_team(pilot, settle)
    await pilot.press("enter")  # from alice's queue row to her records
    record_id = int(_rows(app, "#team-records")[0][0])
    await pilot.press("g")
    await pilot.pause()
    assert isinstance(app.screen, ReassignDialog)
    return app, record_id


async def test_reassigning_a_record_to_a_team_mate(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    async with make_app("mia").run_test(size=SIZE) as pilot:
        app, record_id = await _reassign_first_record(pilot, settle)
        users = app.screen.query_one("#reassign-users", OptionList)
        assert [users.get_option_at_index(i).id for i in range(users.option_count)] == [
            "bob", "mia",
        ]  # fmt: skip
        await pilot.press("enter")  # bob, the first offered
        await settle(app)
        assert tui_crm.get_record("admin", record_id).owner == "bob"
        assert f"#{record_id}" in _text(app, "#team-status")
        rows = {r[0]: r for r in _rows(app, "#team-queues")}
        assert (rows["alice"][2], rows["bob"][2]) == ("11", "8")
        assert str(record_id) not in [r[0] for r in _rows(app, "#team-records")]


async def test_reassigning_outside_the_team_is_refused_with_the_apis_words(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    async with make_app("mia").run_test(size=SIZE) as pilot:
        app, record_id = await _reassign_first_record(pilot, settle)
        before = tui_crm.get_record("admin", record_id)
        with pytest.raises(PermissionDenied) as refusal:
            tui_crm.update_record("mia", record_id, owner="carol")
        app.screen.query_one("#reassign-name", Input).focus()
        await pilot.press(*"carol", "enter")
        await settle(app)
        assert _text(app, "#team-status") == f"[red]{refusal.value}[/]"
        assert "carol" in str(refusal.value)
        after = tui_crm.get_record("admin", record_id)
        assert (after.owner, after.version) == ("alice", before.version)


async def test_escape_keeps_the_record_where_it_is(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    async with make_app("mia").run_test(size=SIZE) as pilot:
        app, record_id = await _reassign_first_record(pilot, settle)
        await pilot.press("escape")
        await settle(app)
        assert not isinstance(app.screen, ReassignDialog)
        assert tui_crm.get_record("admin", record_id).owner == "alice"


async def test_an_operator_sees_only_that_the_team_is_for_managers(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    async with make_app("alice").run_test(size=SIZE) as pilot:
        app = await _open_team(pilot, settle)
        assert _text(app, "#team-denied") == "Only managers and admins see the team"
        assert not app.screen.query(DataTable)
        assert list(app.screen.palette_commands()) == []  # type: ignore[attr-defined]
        for key in ("g", "x", "space", "v", "o"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, TeamScreen)


async def test_the_palette_offers_the_team_actions(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    async with make_app("mia").run_test(size=SIZE) as pilot:
        app = await _open_team(pilot, settle)
        titles = [c.title for c in app.screen.palette_commands()]  # type: ignore[attr-defined]
        assert titles == ["Open record", "Reassign", "Select", "Release", "Validate workflow",
                          "Next page", "Previous page", "Refresh"]  # fmt: skip


async def _check_workflow(pilot: Pilot[None], settle: Settle, path: str) -> str:
    app = await _open_team(pilot, settle)
    await pilot.press("v")
    await pilot.pause()
    field = app.screen.query_one("#workflow-path", Input)
    assert field.value == "workflows/"
    field.value = path
    field.focus()
    await pilot.press("enter")
    await settle(app)
    return _text(app, "#workflow-problems")


BAD_WORKFLOW = """\
workflow: broken
version: 1
kind: lead
stages:
  - id: new
    colour: blue
"""


async def test_validating_a_bad_workflow_shows_located_problems(
    make_app: Callable[..., CrmApp], tmp_path: Path, settle: Settle
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_WORKFLOW, encoding="utf-8")
    async with make_app("mia").run_test(size=SIZE) as pilot:
        shown = await _check_workflow(pilot, settle, str(bad))
    assert "problem(s) in" in shown
    assert f"{bad}:6:5 stages[0].colour: unknown key" in shown


async def test_validating_a_good_workflow_says_valid_with_its_stages(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    async with make_app("admin").run_test(size=SIZE) as pilot:
        shown = await _check_workflow(pilot, settle, str(ROOT / "workflows" / "leads.yaml"))
    assert "valid[/]" in shown
    assert "workflow leads for lead, stages new → contacted → qualified → won → lost" in shown


async def test_validating_a_folder_checks_each_file(
    make_app: Callable[..., CrmApp], tmp_path: Path, settle: Settle
) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_WORKFLOW, encoding="utf-8")
    (tmp_path / "leads.yaml").write_text(
        (ROOT / "workflows" / "leads.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    async with make_app("mia").run_test(size=SIZE) as pilot:
        shown = await _check_workflow(pilot, settle, str(tmp_path))
    assert shown.index("bad.yaml:6:5") < shown.index("workflow leads")


async def test_validating_from_a_folder_without_workflows_offers_the_shipped_ones(
    make_app: Callable[..., CrmApp], tmp_path: Path, settle: Settle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with make_app("mia").run_test(size=SIZE) as pilot:
        app = await _open_team(pilot, settle)
        await pilot.press("v")
        await pilot.pause()
        offered = app.screen.query_one("#workflow-path", Input).value
        assert offered.endswith("crm_core/shipped/workflows/")
        await pilot.press("enter")
        await settle(app)
        shown = _text(app, "#workflow-problems")
    assert "workflow leads for lead" in shown and "problem" not in shown


async def test_validating_a_missing_file_says_so(
    make_app: Callable[..., CrmApp], tmp_path: Path, settle: Settle
) -> None:
    missing = tmp_path / "nope.yaml"
    async with make_app("mia").run_test(size=SIZE) as pilot:
        shown = await _check_workflow(pilot, settle, str(missing))
    assert shown == f"[red]No file or folder at {missing}[/]"


def test_snapshot_team_screen(
    snap_compare: Callable[..., bool], make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    async def open_team(pilot: Pilot[None]) -> None:
        app = await _open_team(pilot, settle)
        app.clear_notifications()

    assert snap_compare(make_app("mia"), terminal_size=SIZE, run_before=open_team)
