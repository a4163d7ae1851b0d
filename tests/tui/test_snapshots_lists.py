"""Snapshots of My work and the record list, in English and Chinese.

Update them after a deliberate change of the screens with
``pytest tests/tui --snapshot-update`` and look at the report it writes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from crm_core.tui.app import CrmApp

SIZE = (120, 36)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("keys", [[], ["2"]], ids=["my_work", "records"])
def test_screen_snapshot(
    snap_compare: Any,
    make_app: Callable[..., CrmApp],
    settle: Callable[[CrmApp], Awaitable[None]],
    lang: str,
    keys: list[str],
) -> None:
    app = make_app("alice", lang=lang)

    async def ready(pilot: Pilot[None]) -> None:
        await settle(app)
        for key in keys:
            await pilot.press(key)
            await settle(app)
        app.clear_notifications()  # their timing is not what these pictures are about
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)
