"""A day of calls without the mouse: row actions, stepping, snooze, copy, filters, undo, the
team's selections and the talking points, each driven by its key as the key map gives it.

The data is tests/tui/conftest.py's: alice owns lead #5 (刘洋, phone 13912340004, in
``new``) and the reminders on #2 and #5; mia manages team east (alice, bob).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Select, Static

from crm_core.api import Crm
from crm_core.tui.app import CrmApp
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.screens.records import RecordsScreen
from crm_core.tui.screens.team import BulkReleaseDialog, ReassignDialog
from crm_core.tui.widgets.forms import AddTaskDialog, EditFieldsDialog, LogActivityDialog
from crm_core.tui.widgets.pickers import (
    CopyDialog,
    SavedFiltersDialog,
    SnoozeDialog,
    tomorrow_morning,
)

SIZE = (120, 40)
NOW = datetime(2026, 3, 12, 9, tzinfo=UTC)  # the clock of tests/tui/conftest.py
LEAD = 5
Settle = Callable[[CrmApp], Awaitable[None]]


async def act(app: CrmApp, pilot: Pilot[Any], settle: Settle, *keys: str) -> None:
    """Press keys, then wait for the API calls they started and the repaint."""
    await pilot.press(*keys)
    await settle(app)
    await pilot.pause()


def ids(app: CrmApp, table_id: str) -> list[int]:
    table = app.screen.query_one(table_id, DataTable)
    return [int(str(table.get_row_at(i)[0]).lstrip("✓ ")) for i in range(table.row_count)]


def notices(app: CrmApp) -> list[str]:
    return [n.message for n in app._notifications]


def head(app: CrmApp) -> str:
    return str(app.screen.query_one("#record-head", Static).render())


async def records_list(app: CrmApp, pilot: Pilot[Any], settle: Settle) -> RecordsScreen:
    await settle(app)
    await act(app, pilot, settle, "2")
    screen = app.screen
    assert isinstance(screen, RecordsScreen)
    screen.query_one("#records", DataTable).focus()
    return screen


async def open_lead(app: CrmApp, pilot: Pilot[Any], settle: Settle) -> None:
    """From the records list, open lead #5 (the cursor moved to its row)."""
    await records_list(app, pilot, settle)
    table = app.screen.query_one("#records", DataTable)
    table.move_cursor(row=table.get_row_index(str(LEAD)))
    await act(app, pilot, settle, "enter")
    assert isinstance(app.screen, RecordScreen)


# -- a call or a task from a list row ----------------------------------------------------


async def test_a_call_and_a_task_from_a_records_row_without_opening_it(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await records_list(app, pilot, settle)
        table = app.screen.query_one("#records", DataTable)
        table.move_cursor(row=table.get_row_index(str(LEAD)))
        await act(app, pilot, settle, "a")
        assert isinstance(app.screen, LogActivityDialog) and app.screen.record_id == LEAD
        await act(app, pilot, settle, *"no answer", "enter")
        assert isinstance(app.screen, RecordsScreen)
        [call] = tui_crm.list_activities("alice", LEAD)
        assert (call.type, call.note) == ("call", "no answer")
        assert "Activity logged on #5" in notices(app)
        await act(app, pilot, settle, "t")
        assert isinstance(app.screen, AddTaskDialog)
        await act(app, pilot, settle, *"call again", "enter")
        [task] = [t for t in tui_crm.list_tasks("alice") if t.note == "call again"]
        assert task.record_id == LEAD and task.due_at == NOW + timedelta(days=1)


async def test_a_call_from_my_work_lands_on_the_highlighted_queue_record(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        queue = app.screen.query_one("#queue", DataTable)
        queue.focus()
        first = ids(app, "#queue")[0]
        await act(app, pilot, settle, "a", *"left a message", "enter")
        [call] = tui_crm.list_activities("alice", first)
        assert call.note == "left a message"


# -- next and previous record of the list ----------------------------------------------


async def test_brackets_step_through_the_list_the_record_came_from(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await records_list(app, pilot, settle)
        order = ids(app, "#records")
        await act(app, pilot, settle, "enter")
        assert head(app).startswith(f"#{order[0]} ")
        await act(app, pilot, settle, "right_square_bracket")
        assert head(app).startswith(f"#{order[1]} ")
        await act(app, pilot, settle, "right_square_bracket", "left_square_bracket")
        assert head(app).startswith(f"#{order[1]} ")
        await act(app, pilot, settle, "left_square_bracket", "left_square_bracket")
        assert head(app).startswith(f"#{order[0]} ")
        assert "This is the first record of the list." in notices(app)


async def test_a_record_opened_on_its_own_says_there_is_no_list(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        app.push_screen(RecordScreen(LEAD))
        await act(app, pilot, settle, "right_square_bracket")
        assert head(app).startswith("#5 ")
        assert "Opened on its own: there is no list to step through." in notices(app)


# -- snooze ------------------------------------------------------------------------------


async def _snooze(app: CrmApp, pilot: Pilot[Any], settle: Settle, *keys: str) -> int:
    """Open the snooze dialog on the first reminder, press ``keys``; the reminder's id."""
    await settle(app)
    reminders = app.screen.query_one("#reminders", DataTable)
    reminders.focus()
    reminders.move_cursor(row=0)
    task_id = int(str(reminders.coordinate_to_cell_key(reminders.cursor_coordinate).row_key.value))
    await act(app, pilot, settle, "z")
    assert isinstance(app.screen, SnoozeDialog)
    await act(app, pilot, settle, *keys)
    return task_id


def _due(crm: Crm, task_id: int) -> datetime:
    return next(t.due_at for t in crm.list_tasks("alice") if t.id == task_id)


async def test_snooze_for_an_hour_or_until_tomorrow_morning(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        task_id = await _snooze(app, pilot, settle, "1")
        assert _due(tui_crm, task_id) == NOW + timedelta(hours=1)
        assert any(n.startswith("Snoozed until") for n in notices(app))
        assert task_id not in [t.id for t in tui_crm.my_work("alice").tasks if t.due_at < NOW]
        task_id = await _snooze(app, pilot, settle, "2")
        assert _due(tui_crm, task_id) == datetime(2026, 3, 13, 9, tzinfo=UTC)
        rows = [j for j in tui_crm.journal("alice") if j.action == "snooze"]
        assert len(rows) == 2


def test_tomorrow_morning_is_nine_in_the_operators_zone() -> None:
    shanghai = datetime(2026, 3, 12, 23, 30, tzinfo=UTC)  # already the 13th in Shanghai
    from zoneinfo import ZoneInfo

    at = tomorrow_morning(shanghai, ZoneInfo("Asia/Shanghai"))
    assert at == datetime(2026, 3, 14, 1, tzinfo=UTC)  # 09:00 +08:00 on the 14th


async def test_snooze_to_a_typed_time_and_a_bad_one_is_refused_in_the_dialog(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        task_id = await _snooze(app, pilot, settle, "3")
        assert app.screen.focused is app.screen.query_one("#snooze-at", Input)
        before = _due(tui_crm, task_id)
        await act(app, pilot, settle, *"later", "enter")
        assert "'later' is not a due time" in str(
            app.screen.query_one("#picker-problem", Static).render()
        )
        assert _due(tui_crm, task_id) == before
        app.screen.query_one("#snooze-at", Input).value = "2026-03-11"  # before NOW
        await act(app, pilot, settle, "enter")
        assert "later time than now" in str(app.screen.query_one("#picker-problem").render())
        app.screen.query_one("#snooze-at", Input).value = "+3h"
        await act(app, pilot, settle, "enter")
        assert not isinstance(app.screen, SnoozeDialog)
        assert _due(tui_crm, task_id) == NOW + timedelta(hours=3)


# -- copy --------------------------------------------------------------------------------


async def test_y_copies_the_only_phone_at_once(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_lead(app, pilot, settle)
        await act(app, pilot, settle, "y")
        assert app.clipboard == "13912340004"
        assert "Copied 13912340004" in notices(app)


async def test_y_offers_the_record_and_its_contacts_numbers_and_copies_the_one_picked(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    tui_crm.add_contact("alice", LEAD, "李娜", phone="13900000000", email="li@example.com")
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_lead(app, pilot, settle)
        await act(app, pilot, settle, "y")
        assert isinstance(app.screen, CopyDialog)
        listed = app.screen.query_one("#picker-options", OptionList)
        shown = [str(listed.get_option_at_index(i).prompt) for i in range(listed.option_count)]
        assert shown == ["1  13912340004  (Phone)", "2  13900000000  (李娜 · Phone)",
                         "3  li@example.com  (李娜 · E-mail)"]  # fmt: skip
        await act(app, pilot, settle, "3")
        assert isinstance(app.screen, RecordScreen)
        assert app.clipboard == "li@example.com"


# -- saved filters -----------------------------------------------------------------------


async def test_a_filter_is_saved_by_name_and_recalled_by_its_number(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    tui_crm.save_filter("alice", "a first one", {"kind": "lead", "sort": "title"})
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await records_list(app, pilot, settle)
        screen.query_one("#stage", Select).value = "contacted"
        await pilot.pause()
        await settle(app)
        contacted = ids(app, "#records")
        assert contacted and len(contacted) < 10
        screen.query_one("#records", DataTable).focus()
        await act(app, pilot, settle, "f")
        assert isinstance(app.screen, SavedFiltersDialog)
        await act(app, pilot, settle, "tab", *"called back", "enter")
        assert isinstance(app.screen, RecordsScreen)
        saved = {f.name: f.filters for f in tui_crm.list_filters("alice")}
        assert saved["called back"] == {"kind": "lead", "stage": "contacted", "sort": "newest"}
        await act(app, pilot, settle, "escape")  # clears the filters
        assert len(ids(app, "#records")) > len(contacted)
        await act(app, pilot, settle, "f")
        await act(app, pilot, settle, "2")  # by name: "a first one", then "called back"
        assert isinstance(app.screen, RecordsScreen)
        assert screen.query_one("#stage", Select).value == "contacted"
        assert ids(app, "#records") == contacted
        await act(app, pilot, settle, "f", "1")
        assert screen.query_one("#stage", Select).is_blank()
        assert screen.query_one("#sort", Select).value == "title"


async def test_a_saved_filter_is_deleted_with_d_and_a_nameless_save_is_refused(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    tui_crm.save_filter("alice", "old", {"kind": "lead"})
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await records_list(app, pilot, settle)
        await act(app, pilot, settle, "f", "d")
        assert isinstance(app.screen, SavedFiltersDialog)
        assert app.screen.query_one("#picker-options", OptionList).option_count == 0
        assert tui_crm.list_filters("alice") == []
        await act(app, pilot, settle, "tab", "enter")
        problem = str(app.screen.query_one("#picker-problem", Static).render())
        assert problem == "a saved filter needs a name"
        await act(app, pilot, settle, "escape")
        assert isinstance(app.screen, RecordsScreen)


# -- undo --------------------------------------------------------------------------------


async def test_u_undoes_the_last_edit_as_a_change_of_its_own(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_lead(app, pilot, settle)
        await act(app, pilot, settle, "u")
        assert "Nothing to undo on this record in this session." in notices(app)
        await act(app, pilot, settle, "e")
        assert isinstance(app.screen, EditFieldsDialog)
        budget = app.screen.query_one("#field-budget", Input)
        budget.value = "52000"
        budget.focus()
        await act(app, pilot, settle, "enter")
        assert tui_crm.get_record("alice", LEAD).fields["budget"] == 52000
        await act(app, pilot, settle, "u")
        record = tui_crm.get_record("alice", LEAD)
        assert (record.fields["budget"], record.version) == (40000, 3)
        assert "Undone: the edit of #5" in notices(app)
        actions = [j.action for j in tui_crm.journal("alice", record_id=LEAD)]
        assert actions[:2] == ["undo", "update"]
        await act(app, pilot, settle, "u")
        assert tui_crm.get_record("alice", LEAD).version == 3  # one step, undone once


async def test_u_twice_undoes_two_edits_newest_first(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_lead(app, pilot, settle)
        for field_id, typed in (("#field-budget", "52000"), ("#field-region", "north")):
            await act(app, pilot, settle, "e")
            box = app.screen.query_one(field_id, Input)
            box.value = typed
            box.focus()
            await act(app, pilot, settle, "enter")
        record = tui_crm.get_record("alice", LEAD)
        assert (record.fields["budget"], record.fields["region"]) == (52000, "north")
        await act(app, pilot, settle, "u")
        record = tui_crm.get_record("alice", LEAD)
        assert (record.fields["budget"], record.fields["region"]) == (52000, "west")
        await act(app, pilot, settle, "u")
        record = tui_crm.get_record("alice", LEAD)
        assert (record.fields["budget"], record.fields["region"]) == (40000, "west")
        assert app.undo_steps == []


async def _move(app: CrmApp, pilot: Pilot[Any], settle: Settle, stage: str) -> None:
    await act(app, pilot, settle, "m")
    app.screen.query_one("#stage", Select).value = stage
    await act(app, pilot, settle, "ctrl+s")
    assert isinstance(app.screen, RecordScreen)


async def test_u_undoes_a_stage_move_but_not_after_someone_else_changed_the_record(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_lead(app, pilot, settle)
        await _move(app, pilot, settle, "contacted")
        await act(app, pilot, settle, "u")
        assert tui_crm.get_record("alice", LEAD).stage == "new"
        assert "Undone: the stage move of #5" in notices(app)
        await _move(app, pilot, settle, "contacted")
        tui_crm.update_record("mia", LEAD, {"region": "east"})
        await act(app, pilot, settle, "u")
        record = tui_crm.get_record("alice", LEAD)
        assert (record.stage, record.fields["region"]) == ("contacted", "east")
        assert any("someone else edited it" in n for n in notices(app))


# -- the team: several records at once ---------------------------------------------------


async def _alices_records(app: CrmApp, pilot: Pilot[Any], settle: Settle) -> list[int]:
    await settle(app)
    await act(app, pilot, settle, "5")
    queues = app.screen.query_one("#team-queues", DataTable)
    queues.move_cursor(row=queues.get_row_index("alice"))
    await settle(app)
    await act(app, pilot, settle, "enter")
    return ids(app, "#team-records")


async def test_a_manager_selects_records_and_gives_them_with_their_open_tasks(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("mia")
    async with app.run_test(size=SIZE) as pilot:
        shown = await _alices_records(app, pilot, settle)
        chosen = [r for r in shown if r in (2, 5)]
        table = app.screen.query_one("#team-records", DataTable)
        for record_id in chosen:
            table.move_cursor(row=table.get_row_index(str(record_id)))
            await act(app, pilot, settle, "space")
        assert [str(table.get_row_at(table.get_row_index(str(r)))[0]) for r in chosen] == [
            f"✓ {r}" for r in chosen
        ]
        assert "2 selected" in str(app.screen.query_one("#team-status", Static).render())
        await act(app, pilot, settle, "g")
        assert isinstance(app.screen, ReassignDialog)
        await act(app, pilot, settle, "enter")  # bob, the first offered
        assert [tui_crm.get_record("admin", r).owner for r in chosen] == ["bob", "bob"]
        tasks = [t for t in tui_crm.list_tasks("admin") if t.record_id in chosen]
        assert tasks and {t.assignee for t in tasks} == {"bob"}
        status = str(app.screen.query_one("#team-status", Static).render())
        assert "Done for 2" in status and f"{len(tasks)} open task(s) moved" in status
        assert not set(chosen) & set(ids(app, "#team-records"))


async def test_a_manager_releases_the_selected_records_with_one_reason(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("mia")
    async with app.run_test(size=SIZE) as pilot:
        shown = await _alices_records(app, pilot, settle)
        await act(app, pilot, settle, "space", "space", "x")
        assert isinstance(app.screen, BulkReleaseDialog)
        await act(app, pilot, settle, "enter")
        assert "Say why" in str(app.screen.query_one("#release-problem", Static).render())
        await act(app, pilot, settle, *"wrong numbers", "enter")
        assert not isinstance(app.screen, BulkReleaseDialog)
        for record_id in shown[:2]:
            record = tui_crm.get_record("admin", record_id)
            assert (record.owner, record.pool) == (None, "public")
        assert shown[2] in ids(app, "#team-records")


# -- talking points ----------------------------------------------------------------------


async def test_i_shows_the_talking_points_of_the_records_stage(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice", lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await open_lead(app, pilot, settle)
        panel = app.screen.query_one("#talking-points", Static)
        assert not panel.display
        await act(app, pilot, settle, "i")
        assert panel.display
        text = str(panel.render())
        assert "通话要点 · 新线索" in text and "1. 说明你是谁、为什么来电" in text
        tui_crm.move_record("alice", LEAD, "contacted")
        await act(app, pilot, settle, "f5")
        assert "1. 了解预算和购买时间" in str(panel.render())
        await act(app, pilot, settle, "i")
        assert not panel.display


# -- how the talking points look, small and large, in both languages ------------------


@pytest.mark.parametrize(("lang", "size"), [("en", (80, 24)), ("zh", (160, 45))])
def test_snapshot_talking_points(
    make_app: Callable[..., CrmApp],
    settle: Settle,
    snap_compare: Any,
    lang: str,
    size: tuple[int, int],
) -> None:
    async def open_points(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, CrmApp)
        await settle(app)
        app.clear_notifications()
        app.push_screen(RecordScreen(LEAD))
        await pilot.pause()
        await act(app, pilot, settle, "i")
        await pilot.pause()

    assert snap_compare(make_app("alice", lang), terminal_size=size, run_before=open_points)
