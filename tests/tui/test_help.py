"""The help screen: F1 opens it over any screen, it lists every key, and it closes again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import Static

from crm_core.tui.app import CrmApp
from crm_core.tui.i18n import Translator
from crm_core.tui.screens.dashboard import DashboardScreen
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.screens.help import HelpScreen
from crm_core.tui.screens.my_work import MyWorkScreen
from crm_core.tui.screens.pool import PoolScreen
from crm_core.tui.screens.records import RecordsScreen
from crm_core.tui.screens.team import TeamScreen
from crm_core.tui.walkthrough import STEPS

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
    assert f"[b]enter[/b] {tr('Claim and open')}" in shown and f"[b]c[/b] {tr('Claim')}" in shown
    for step in STEPS:  # the walkthrough, the README's own steps
        assert tr(step.text) in shown


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
