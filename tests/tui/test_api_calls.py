"""API calls off the UI thread: a newer call of a group wins over an older, slower one."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable

from crm_core.tui.app import CrmApp
from crm_core.tui.base import CrmScreen

Settle = Callable[[CrmApp], Awaitable[None]]


async def test_a_cancelled_slow_call_never_paints_over_a_newer_one(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app)
        screen = app.screen
        assert isinstance(screen, CrmScreen)
        shown: list[str] = []
        started, release, finished = threading.Event(), threading.Event(), threading.Event()

        def slow() -> str:
            started.set()
            release.wait(timeout=10)
            finished.set()
            return "old"

        old = screen.call_api(slow, shown.append, group="probe")
        while not started.is_set():  # the old call is running in its thread
            await pilot.pause(0.01)
        screen.call_api(lambda: "new", shown.append, group="probe")
        await settle(app)
        assert old.is_cancelled and shown == ["new"]
        release.set()  # the old thread now finishes and hands its result back
        assert finished.wait(timeout=10)
        await pilot.pause(0.2)
        assert shown == ["new"]
