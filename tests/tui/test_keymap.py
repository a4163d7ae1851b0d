"""The TUI's one key map: a key does the same on every screen, as the footer and palette say.

`r` used to refresh, release or reassign depending on the screen; now f5
refreshes everywhere, x releases and g reassigns (see the README's key table).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets._footer import FooterKey

from crm_core.tui.app import CrmApp
from crm_core.tui.screens.dashboard import DashboardScreen
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.screens.help import ENTER_ON_A_ROW
from crm_core.tui.screens.my_work import MyWorkScreen
from crm_core.tui.screens.pool import PoolScreen
from crm_core.tui.screens.records import RecordsScreen
from crm_core.tui.screens.team import TeamScreen

Settle = Callable[[CrmApp], Awaitable[None]]
SIZE = (160, 45)
SCREENS: list[type[Screen[Any]]] = [
    MyWorkScreen, RecordsScreen, PoolScreen, DashboardScreen, TeamScreen, RecordScreen
]  # fmt: skip
REFRESH = {"refresh", "reload"}


def _keys(screen: type[Screen[Any]]) -> dict[str, str]:
    """Each key of the screen's bindings and the action it runs."""
    return {b.key: b.action for b in Binding.make_bindings(screen.BINDINGS)}


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: s.__name__)
def test_f5_refreshes_every_screen_and_r_means_nothing(screen: type[Screen[Any]]) -> None:
    keys = _keys(screen)
    assert keys.get("f5") in REFRESH
    assert "r" not in keys


def test_the_keys_of_the_lead_s_map() -> None:
    pool = _keys(PoolScreen)
    assert {k: pool[k] for k in ("enter", "c", "o", "n", "pagedown", "p", "pageup")} == {
        "enter": "claim_and_open", "c": "claim", "o": "open", "n": "next_page",
        "pagedown": "next_page", "p": "previous_page", "pageup": "previous_page",
    }  # fmt: skip
    record = _keys(RecordScreen)
    assert {k: record[k] for k in ("a", "t", "m", "e", "x", "c", "escape")} == {
        "a": "log_activity", "t": "add_task", "m": "move", "e": "edit", "x": "release",
        "c": "convert", "escape": "back",
    }  # fmt: skip
    assert _keys(TeamScreen)["g"] == "reassign"
    for screen in (MyWorkScreen, RecordsScreen, TeamScreen):
        assert _keys(screen)["o"] == ENTER_ON_A_ROW[screen] == "open"  # enter on a row: its table


@pytest.mark.parametrize(("key", "screen", "shown"), [
    ("1", MyWorkScreen, {"f5": "Refresh", "enter": "Open"}),
    ("2", RecordsScreen, {"f5": "Refresh", "enter": "Open", "n": "Next page"}),
    ("3", PoolScreen, {"enter": "Claim and open", "c": "Claim", "o": "Open", "f5": "Refresh"}),
    ("4", DashboardScreen, {"f5": "Refresh"}),
    ("5", TeamScreen, {"g": "Reassign", "f5": "Refresh"}),
])  # fmt: skip
async def test_the_footer_and_the_palette_show_the_keys(
    make_app: Callable[..., CrmApp],
    settle: Settle,
    key: str,
    screen: type[Screen[Any]],
    shown: dict[str, str],
) -> None:
    app = make_app("mia")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press(key)
        await settle(app)
        await pilot.pause()
        assert isinstance(app.screen, screen)
        footer = {k.key: k.description for k in app.screen.query(FooterKey)}
        assert shown.items() <= footer.items()
        palette = {c.title: c.help for c in app.screen.palette_commands()}  # type: ignore[attr-defined]
        assert palette["Refresh"] == "f5"
