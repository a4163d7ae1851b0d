"""The help screen: F1 opens it over any screen, it lists every key, and it closes again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from crm_core.api import Crm
from crm_core.tui.app import CrmApp
from crm_core.tui.i18n import Translator
from crm_core.tui.screens.dashboard import DashboardScreen
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.screens.help import HelpScreen
from crm_core.tui.screens.my_work import MyWorkScreen
from crm_core.tui.screens.pool import PoolScreen
from crm_core.tui.screens.records import RecordsScreen
from crm_core.tui.screens.team import TeamScreen
from crm_core.tui.widgets.charts import BarChart

SIZE = (120, 40)
Settle = Callable[[CrmApp], Awaitable[None]]
SCREENS = [MyWorkScreen, RecordsScreen, PoolScreen, DashboardScreen, TeamScreen, RecordScreen]


def _help_text(app: CrmApp) -> str:
    return "\n".join(str(s.content) for s in app.screen.query(Static))


async def _open_help(pilot: Pilot[None], settle: Settle) -> CrmApp:
    app = pilot.app
    assert isinstance(app, CrmApp)
    await settle(app)
    await pilot.press("f1")
    await pilot.pause()
    assert isinstance(app.screen, HelpScreen)
    return app


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_help_lists_every_key_of_every_screen(
    make_app: Callable[..., CrmApp], settle: Settle, lang: str
) -> None:
    tr = Translator(lang)
    async with make_app("alice", lang).run_test(size=SIZE) as pilot:
        app = await _open_help(pilot, settle)
        shown = _help_text(app)
    for screen in SCREENS:
        for binding in Binding.make_bindings(screen.BINDINGS):
            assert f"{tr(binding.description)}" in shown, (screen.__name__, binding.key)
    for key in ("1 … 5", "F1", "ctrl+p", "ctrl+q"):
        assert key in shown
    assert tr("Claim") in shown and "[b]enter/c[/b]" in shown  # enter on a pool row claims


async def test_the_first_two_minutes_work_as_the_help_says(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    """A newcomer follows the walkthrough key by key: claim, open, call, move, dashboard."""
    async with make_app("bob").run_test(size=SIZE) as pilot:
        app = await _open_help(pilot, settle)
        steps = _help_text(app).split("Your first two minutes", 1)[1]
        for key in ("3", "enter", "1", "a", "m", "ctrl+s", "esc", "4"):
            assert f"[b]{key}[/b]" in steps
        await pilot.press("escape", "3")  # 1. the pool
        await settle(app)
        claimed = int(_cell(app, "#pool-entries"))
        await pilot.press("enter")  # 2. claim
        await settle(app)
        assert tui_crm.get_record("admin", claimed).owner == "bob"
        await pilot.press("1", "tab")  # 3. my work: highlight the record, enter
        await settle(app)
        while _cell(app, "#queue") != str(claimed):
            await pilot.press("down")
        await pilot.press("enter")
        await settle(app)
        assert isinstance(app.screen, RecordScreen) and app.screen.record_id == claimed
        await pilot.press("a")  # 4. a call with a note
        await settle(app)
        await pilot.press(*"first call", "enter")
        await settle(app)
        assert [(a.type, a.note) for a in tui_crm.list_activities("bob", claimed)] == [
            ("call", "first call")
        ]
        await pilot.press("m")  # 5. the next stage, contacted
        await settle(app)
        await pilot.press("ctrl+s")
        await settle(app)
        assert tui_crm.get_record("bob", claimed).stage == "contacted"
        await pilot.press("escape", "4")  # 6. the dashboard counts it
        await settle(app)
        funnel = app.screen.query_one("#funnel-chart", BarChart)
        stages = [row[0] for row in tui_crm.run_report("bob", "funnel", kind="lead").rows]
        assert funnel.bars[stages.index("contacted")].note.startswith("1 here")


def _cell(app: CrmApp, table_id: str) -> str:
    """The key of the highlighted row of a table."""
    table = app.screen.query_one(table_id, DataTable)
    return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)


@pytest.mark.parametrize("key", ["escape", "f1", "q"])
async def test_help_closes_with_escape_f1_or_q(
    make_app: Callable[..., CrmApp], settle: Settle, key: str
) -> None:
    async with make_app("alice").run_test(size=SIZE) as pilot:
        app = await _open_help(pilot, settle)
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, MyWorkScreen)


async def test_help_opens_over_the_team_screen_and_from_the_palette(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    async with make_app("mia").run_test(size=SIZE) as pilot:
        app = pilot.app
        assert isinstance(app, CrmApp)
        await settle(app)
        await pilot.press("5")
        await settle(app)
        help_command = next(c for c in app.get_system_commands(app.screen) if c.title == "Help")
        help_command.callback()
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TeamScreen)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_snapshot_help(
    snap_compare: Callable[..., bool], make_app: Callable[..., CrmApp], settle: Settle, lang: str
) -> None:
    async def open_help(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, CrmApp)
        await settle(app)
        app.clear_notifications()

    app = make_app("alice", lang)
    assert snap_compare(app, terminal_size=SIZE, press=["f1"], run_before=open_help)
