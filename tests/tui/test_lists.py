"""My work and the record lists, driven by keys as an operator would."""

from __future__ import annotations

import gc
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static

from crm_core.api import Crm
from crm_core.clock import ManualClock
from crm_core.tui.app import CrmApp
from crm_core.tui.screens import records as records_screen
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.screens.my_work import ANNOUNCE_SECONDS
from crm_core.tui.screens.records import PAGE_SIZE, RecordsScreen
from crm_core.tui.widgets.forms import LogActivityDialog
from crm_core.views import RecordPage

SIZE = (120, 40)
Settle = Callable[[CrmApp], Awaitable[None]]


def _rows(app: CrmApp, table_id: str) -> list[list[str]]:
    table = app.screen.query_one(table_id, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _ids(app: CrmApp) -> list[int]:
    return [int(row[0]) for row in _rows(app, "#records")]


async def test_my_work_lists_overdue_reminders_first_and_pops_them_up(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.pause()
        reminders = _rows(app, "#reminders")
        notes = [t.note for t in tui_crm.my_work("alice").tasks]
        assert [row[2] for row in reminders] == notes
        assert "Overdue" in reminders[0][0] and "Overdue" not in reminders[-1][0]
        queue = [int(row[0]) for row in _rows(app, "#queue")]
        assert queue == [w.record.id for w in tui_crm.my_work("alice").records]
        assert any("overdue reminder" in n.message for n in app._notifications)


async def test_my_work_is_read_while_the_app_starts_and_anew_on_refresh(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.pause()
        assert app.take_first_work() is None  # the early read was taken by My work
        tui_crm.add_task("mia", 3, tui_crm.clock(), "a reminder after start", assignee="alice")
        await pilot.press("f5")
        await settle(app)
        await pilot.pause()
        assert "a reminder after start" in [row[2] for row in _rows(app, "#reminders")]


async def test_start_up_objects_are_frozen_while_the_app_runs_and_only_then(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.pause()
        assert gc.get_freeze_count() > 0  # a full collection skips them: no stall on a key
    assert gc.get_freeze_count() == 0  # and the collector sees them again once it ends


async def test_a_task_done_leaves_my_work_and_enter_opens_the_record(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        app.screen.query_one("#reminders", DataTable).focus()
        before = len(tui_crm.my_work("alice").tasks)
        await pilot.press("d")
        await settle(app)
        await pilot.pause()
        assert len(tui_crm.my_work("alice").tasks) == before - 1
        assert len(_rows(app, "#reminders")) == before - 1
        app.screen.query_one("#queue", DataTable).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RecordScreen)


async def test_new_reminders_pop_up_while_the_operator_works(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice", poll_seconds=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        tui_crm.add_task("mia", 3, tui_crm.clock(), "call the client now", assignee="alice")
        await pilot.pause(0.4)
        await settle(app)
        await pilot.pause()
        popped = [n for n in app._notifications if n.message.endswith("call the client now")]
        assert len(popped) == 1


async def test_a_reminder_pops_up_once_when_two_looks_for_it_overlap(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app("alice", poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        tui_crm.add_task("mia", 3, tui_crm.clock(), "call back today", assignee="alice")
        release, real = threading.Event(), tui_crm.new_tasks
        reading = threading.Semaphore(0)

        def slow(actor: str, after: int) -> Any:
            reading.release()
            release.wait(timeout=10)  # both looks read before either shows what it found
            return real(actor, after)

        monkeypatch.setattr(tui_crm, "new_tasks", slow)
        for _ in range(2):  # the second look starts while the first is reading
            app.check_reminders()
            while not reading.acquire(blocking=False):
                await pilot.pause(0.01)
        release.set()
        await settle(app)
        await pilot.pause(0.2)
        popped = [n for n in app._notifications if n.message.endswith("call back today")]
        assert len(popped) == 1


async def test_records_list_pages_forward_and_back_with_keys(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    for i in range(PAGE_SIZE + 5):
        tui_crm.add_record("alice", "lead", {"name": f"Extra {i}", "phone": f"1500000{i:04d}"})
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(app)
        app.screen.query_one("#records", DataTable).focus()
        expected = [r.id for r in tui_crm.record_page("alice", kind="lead", limit=200).records]
        assert _ids(app) == expected[:PAGE_SIZE]
        await pilot.press("n")
        await settle(app)
        assert _ids(app) == expected[PAGE_SIZE : 2 * PAGE_SIZE]
        status = str(app.screen.query_one("#page-status", Static).render())
        assert "Page 2" in status and "end" in status
        await pilot.press("p")
        await settle(app)
        assert _ids(app) == expected[:PAGE_SIZE]


async def _paged_list(
    pilot: Pilot[None], tui_crm: Crm, settle: Settle
) -> tuple[RecordsScreen, list[int]]:
    """Two pages of alice's leads on the records screen, page 2 read ahead; the ids in order."""
    for i in range(PAGE_SIZE + 5):
        tui_crm.add_record("alice", "lead", {"name": f"Extra {i}", "phone": f"1500000{i:04d}"})
    app = pilot.app
    assert isinstance(app, CrmApp)
    await pilot.press("2")
    await settle(app)
    screen = app.screen
    assert isinstance(screen, RecordsScreen) and screen.ahead is not None
    screen.query_one("#records", DataTable).focus()
    return screen, [r.id for r in tui_crm.record_page("alice", kind="lead", limit=200).records]


async def test_the_next_page_is_read_ahead_and_shown_without_asking_again(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        screen, expected = await _paged_list(pilot, tui_crm, settle)
        assert screen.ahead is not None and screen.ahead.after == screen.paging.next
        reads: list[str | None] = []
        real = tui_crm.record_page

        def counted(*args: Any, **kwargs: Any) -> RecordPage:
            reads.append(kwargs.get("after"))
            return real(*args, **kwargs)

        monkeypatch.setattr(tui_crm, "record_page", counted)
        await pilot.press("n")
        assert _ids(app) == expected[PAGE_SIZE : 2 * PAGE_SIZE]  # painted before any read
        await settle(app)
        assert reads == []  # the last page: nothing after it to read ahead


async def test_a_page_read_ahead_is_not_shown_for_other_filters_or_when_old(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        screen, expected = await _paged_list(pilot, tui_crm, settle)
        second = expected[PAGE_SIZE]
        tui_crm.update_record("alice", second, title="Renamed after the read-ahead")
        monkeypatch.setattr(records_screen, "AHEAD_SECONDS", 0.0)  # the page read ahead is old
        await pilot.press("n")
        await settle(app)
        assert _rows(app, "#records")[0][1] == "Renamed after the read-ahead"
        monkeypatch.undo()
        await pilot.press("p")
        await settle(app)
        assert screen.ahead is not None  # page 2 again, read ahead under the current filters
        screen.query_one("#sort", Select).value = "oldest"
        await pilot.pause()  # the Changed message starts the new read
        await settle(app)
        page = tui_crm.record_page("alice", kind="lead", sort="oldest", limit=200)
        oldest = [r.id for r in page.records]
        assert _ids(app) == oldest[:PAGE_SIZE]
        await pilot.press("n")
        await settle(app)
        assert _ids(app) == oldest[PAGE_SIZE : 2 * PAGE_SIZE]


async def test_back_from_a_record_the_list_shows_it_as_it_is_now(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        _, expected = await _paged_list(pilot, tui_crm, settle)
        await pilot.press("enter")
        await settle(app)
        assert isinstance(app.screen, RecordScreen)
        tui_crm.move_record("alice", expected[0], "contacted")
        await pilot.press("escape")
        await settle(app)
        assert isinstance(app.screen, RecordsScreen)
        label = app.stage_label("lead", "contacted")
        assert _rows(app, "#records")[0][2] == label


async def test_search_as_you_type_by_name_or_phone_and_filters(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(app)
        await pilot.press("slash", *"li wei")
        await pilot.pause(0.4)
        await settle(app)
        assert [row[1] for row in _rows(app, "#records")] == ["Li Wei"]
        app.screen.query_one("#search", Input).value = ""
        await pilot.press("slash", *"139 1234 0004")
        await pilot.pause(0.4)
        await settle(app)
        assert _ids(app) == [5]
        await pilot.press("escape")
        await settle(app)
        app.screen.query_one("#stage", Select).value = "contacted"
        await pilot.pause()
        await settle(app)
        ids = _ids(app)
        assert ids and all(tui_crm.get_record("alice", i).stage == "contacted" for i in ids)


async def test_operators_see_only_their_records_and_pools(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("carol")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(app)
        owners = {row[3] for row in _rows(app, "#records")}
        assert owners == {"carol"}


async def test_a_bad_field_filter_is_refused_with_a_notice(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(app)
        app.screen.query_one("#where", Input).focus()
        await pilot.press(*"budget=lots", "enter")
        await settle(app)
        await pilot.pause()
        assert any(n.severity == "error" and "budget" in n.message for n in app._notifications)


async def test_start_up_says_once_how_many_records_return_to_the_pool_soon(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    clock = tui_crm.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(days=4))  # alice's oldest leads near the pool's 14 idle days
    tui_crm.tick()
    tasks = tui_crm.my_work("alice").tasks
    leaving = [t for t in tasks if (t.cause or "").endswith(":warn")]
    overdue = [t for t in tasks if t.due_at < clock() and t not in leaving]
    assert len(leaving) == 4 and len(overdue) == 2
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.pause()
        (notice,) = app._notifications  # one notice, however many reminders
        assert notice.message == (
            "2 overdue reminder(s)\n"
            "4 record(s) return to the pool soon unless you follow up\n"
            "They are in your reminders (1)."
        )
        assert notice.timeout == ANNOUNCE_SECONDS
        app.push_screen(RecordScreen(leaving[0].record_id or 0))
        await pilot.pause()
        await settle(app)
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, LogActivityDialog)
        assert not list(app._notifications)  # nothing covers the dialog
