"""Every screen and dialog at 80×24 (a terminal over SSH) and 160×45, in English and Chinese.

Update them after a deliberate change of the screens with
``pytest tests/tui/test_snapshots_layout.py --snapshot-update`` and look at
the SVGs it writes: at 80×24 the footer shows F1 and the screen's keys, the
tables keep every column (cut with "…"), and the dialogs keep Save / Cancel.
Dialogs open through the record screen's actions, not their keys, so a
change of key leaves these pictures alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from crm_core.tui.app import CrmApp
from crm_core.tui.screens.detail import RecordScreen

Settle = Callable[[CrmApp], Awaitable[None]]
SIZES = {"80x24": (80, 24), "160x45": (160, 45)}
LEAD = 5  # alice's, contacted, with a task: every tab has something
# name -> (user, screen key, record screen action or None for the screen itself)
SCREENS: dict[str, tuple[str, str | None, str | None]] = {
    "my_work": ("alice", None, None),
    "records": ("alice", "2", None),
    "pool": ("alice", "3", None),
    "dashboard": ("alice", "4", None),
    "team": ("mia", "5", None),
    "help": ("alice", "f1", None),
    "record": ("alice", None, ""),
    "edit": ("alice", None, "edit"),
    "move": ("alice", None, "move"),
    "log_activity": ("alice", None, "log_activity"),
    "add_task": ("alice", None, "add_task"),
    "release": ("alice", None, "release"),
}


def prepare(
    settle: Settle, key: str | None, action: str | None
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Open the screen (a key) or the record screen and one of its dialogs (an action)."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app: CrmApp = pilot.app  # type: ignore[assignment]
        await settle(app)
        if key is not None:
            await pilot.press(key)
        if action is not None:
            app.push_screen(RecordScreen(LEAD))
            await pilot.pause()
            await settle(app)
            # A toast on the record screen stays under its dialog: clear it first.
            app.clear_notifications()
            await pilot.pause()
            if action:
                await app.screen.run_action(action)
        await settle(app)
        await pilot.pause()
        # Notices pop up as screens open and reads end: their timing is not what these show.
        app.clear_notifications()
        # A blinking cursor would be on in one picture and off in the next: keep it on.
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("screen", SCREENS)
def test_layout_snapshot(
    snap_compare: Any,
    make_app: Callable[..., CrmApp],
    settle: Settle,
    screen: str,
    lang: str,
    size: str,
) -> None:
    user, key, action = SCREENS[screen]
    app = make_app(user, lang=lang)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=prepare(settle, key, action))
