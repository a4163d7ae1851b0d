"""The record screen: its tabs, each action's dialog, refusals, permissions and plugin panels.

Alice's lead #5 (刘洋) starts in ``new`` with a budget of 40000 in region
west and no call; carol owns #8, which alice may not see.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label, Select, Static, Tab

from crm_core import hookimpl
from crm_core.api import Crm
from crm_core.tui.app import CrmApp
from crm_core.tui.screens.detail import RecordScreen, change_summary
from crm_core.tui.widgets.forms import (
    AddTaskDialog,
    ConvertDialog,
    EditFieldsDialog,
    FormDialog,
    LogActivityDialog,
    MoveStageDialog,
    ReleaseDialog,
)

SIZE = (120, 40)
LEAD = 5
Settle = Callable[[CrmApp], Awaitable[None]]


async def open_record(app: CrmApp, pilot: Pilot[Any], settle: Settle, record_id: int) -> None:
    """Push the record screen over My work and wait until it shows the record."""
    await settle(app)
    app.push_screen(RecordScreen(record_id))
    await pilot.pause()
    await settle(app)
    # Tables size their columns once idle after the rows arrive.
    await pilot.pause()
    await pilot.pause()


async def act(app: CrmApp, pilot: Pilot[Any], settle: Settle, *keys: str) -> None:
    """Press keys, then wait for the API calls they started and the repaint."""
    await pilot.press(*keys)
    await settle(app)
    await pilot.pause()


def rows(app: CrmApp, table_id: str) -> list[list[str]]:
    table = app.screen.query_one(f"#{table_id}", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def text_of(app: CrmApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def problem(app: CrmApp, problem_id: str) -> str:
    """The text of a dialog's problem line, empty when the line is hidden."""
    line = app.screen.query_one(f"#{problem_id}", Static)
    return str(line.render()) if line.has_class("-shown") else ""


def fill(app: CrmApp, selector: str, text: str) -> None:
    """Type into a dialog's input (replacing what is there) and leave the focus on it."""
    field = app.screen.query_one(selector, Input)
    field.value = text
    field.focus()


def notices(app: CrmApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_the_tabs_show_fields_people_deals_history_and_why(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    tui_crm.add_contact("alice", LEAD, "李娜", phone="13900000000", position="buyer")
    tui_crm.add_deal("alice", LEAD, "Pilot order", amount="1200.50")
    tui_crm.log_activity("alice", LEAD, "call", note="asked for a quote")
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        head = text_of(app, "#record-head")
        assert "#5 刘洋" in head and "Lead" in head and "Stage: New" in head
        assert "Owner: alice" in head and "version 1" in head
        assert ["Budget", "40000"] in rows(app, "fields")
        assert ["E-mail", ""] in rows(app, "fields")
        assert rows(app, "contacts") == [["李娜", "13900000000", "", "buyer"]]
        assert rows(app, "deals") == [["Pilot order", "1200.50 CNY", "open", ""]]
        assert rows(app, "activities")[0][1:] == ["Call", "alice", "asked for a quote"]
        journal = rows(app, "journal")
        assert [r[2] for r in journal] == [
            "activity create", "deal create", "contact create", "task create", "create",
        ]  # fmt: skip
        assert journal[-1][1] == "admin" and "stage: new" in journal[-1][3]
        why = text_of(app, "#why")
        assert "Workflow: leads" in why and "returns to pool public" in why
        titles = [c.title for c in app.screen.palette_commands()]  # type: ignore[attr-defined]
        assert titles == ["Edit fields", "Log activity", "Add task", "Move stage", "Release",
                          "Convert", "Refresh", "Next record", "Previous record", "Undo",
                          "Copy phone/e-mail", "Talking points", "Back"]  # fmt: skip
        await act(app, pilot, settle, "escape")
        assert not isinstance(app.screen, RecordScreen)


async def test_a_bad_value_shows_beside_its_field_and_changes_nothing(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, "e")
        assert isinstance(app.screen, EditFieldsDialog)
        fill(app, "#field-budget", "abc")
        await act(app, pilot, settle, "enter")
        assert "'abc' is not a number" in problem(app, "problem-budget")
        assert problem(app, "problem-source") == ""
        fill(app, "#field-budget", "50000")
        fill(app, "#field-source", "tv")
        await act(app, pilot, settle, "enter")
        assert problem(app, "problem-budget") == ""
        assert "'tv' is not one of" in problem(app, "problem-source")
        assert isinstance(app.screen, EditFieldsDialog)
        record = tui_crm.get_record("alice", LEAD)
        assert record.version == 1
        assert (record.fields["budget"], record.fields["source"]) == (40000, "market_survey")
        await act(app, pilot, settle, "escape")
        assert isinstance(app.screen, RecordScreen)


async def test_a_good_edit_saves_the_changed_fields_and_an_empty_input_clears(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, "e")
        fill(app, "#field-region", "")
        fill(app, "#field-budget", "52000")
        await act(app, pilot, settle, "enter")
        assert isinstance(app.screen, RecordScreen)
        record = tui_crm.get_record("alice", LEAD)
        assert record.fields["budget"] == 52000 and "region" not in record.fields
        assert record.fields["phone"] == "13912340004" and record.version == 2
        assert "Saved #5" in notices(app)
        assert ["Budget", "52000"]  # money: no float artefact in rows(app, "fields")
        assert "version 2" in text_of(app, "#record-head")


async def test_an_edit_of_a_record_someone_changed_meanwhile_is_refused(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, "e")
        tui_crm.update_record("mia", LEAD, {"region": "east"})
        fill(app, "#field-budget", "1")
        await act(app, pilot, settle, "enter")
        assert "someone changed it" in problem(app, "form-error")
        assert tui_crm.get_record("alice", LEAD).fields["budget"] == 40000


async def test_a_call_is_logged_in_a_few_keys(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, "a")
        assert isinstance(app.screen, LogActivityDialog)
        await act(app, pilot, settle, *"quote", "enter")
        [call] = tui_crm.list_activities("alice", LEAD)
        assert (call.type, call.note, call.actor) == ("call", "quote", "alice")
        assert rows(app, "activities")[0][1:] == ["Call", "alice", "quote"]
        assert "Activity logged" in notices(app)


async def test_a_task_is_added_with_a_due_shortcut(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        before = len(tui_crm.list_tasks("alice"))
        await act(app, pilot, settle, "t")
        assert isinstance(app.screen, AddTaskDialog)
        await pilot.press(*"visit")
        fill(app, "#due", "someday")
        await act(app, pilot, settle, "enter")
        assert "'someday' is not a due time" in problem(app, "problem-due")
        assert len(tui_crm.list_tasks("alice")) == before
        fill(app, "#due", "+2d")
        await act(app, pilot, settle, "enter")
        assert isinstance(app.screen, RecordScreen)
        [task] = [t for t in tui_crm.list_tasks("alice") if t.note == "visit"]
        assert task.record_id == LEAD and task.due_at == tui_crm.clock() + timedelta(days=2)


async def test_a_move_offers_only_what_the_workflow_allows_and_says_why_not_the_rest(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    tui_crm.move_record("alice", LEAD, "contacted")
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, "m")
        dialog = app.screen
        assert isinstance(dialog, MoveStageDialog)
        assert dialog.allowed == ["lost"]  # qualified's guard fails: no call logged yet
        stage = dialog.query_one("#stage", Select)
        assert stage.value == "lost" and dialog.focused is stage
        not_offered = text_of(app, "#not-offered")
        assert "Qualified: guard of contacted → qualified is not met" in not_offered
        assert "New: cannot move from contacted to new" in not_offered
        await act(app, pilot, settle, "ctrl+s")  # lost without one of its reasons
        error = problem(app, "form-error")
        assert error.startswith("Moving to lost needs a reason: type one of no_budget,")
        assert isinstance(app.screen, MoveStageDialog)
        assert tui_crm.get_record("alice", LEAD).stage == "contacted"
        fill(app, "#reason", "competitor")
        await act(app, pilot, settle, "enter")
        assert tui_crm.get_record("alice", LEAD).stage == "lost"


async def test_a_final_stage_offers_no_move(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    tui_crm.move_record("alice", LEAD, "lost", reason="competitor")
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, "m")
        assert isinstance(app.screen, RecordScreen)
        assert any(n.startswith("No move is allowed from Lost now.") for n in notices(app))


async def test_a_record_moves_to_the_next_stage(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, "m")
        assert app.screen.query_one("#stage", Select).value == "contacted"
        await act(app, pilot, settle, "ctrl+s")
        assert tui_crm.get_record("alice", LEAD).stage == "contacted"
        assert "Stage: Contacted" in text_of(app, "#record-head")
        assert "Moved to Contacted" in notices(app)
        assert rows(app, "journal")[0][2:4] == ["move", "stage: new→contacted"]


async def test_a_release_needs_a_reason_then_the_record_goes_to_the_pool(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, "x")
        assert isinstance(app.screen, ReleaseDialog)
        assert app.screen.focused is app.screen.query_one("#reason")  # the first field
        await act(app, pilot, settle, "enter")
        assert problem(app, "problem-reason") == "Type the reason for the release."
        assert tui_crm.get_record("alice", LEAD).owner == "alice"
        assert "--" not in problem(app, "form-error")
        assert tui_crm.get_record("alice", LEAD).owner == "alice"
        await act(app, pilot, settle, *"moved", "enter")
        record = tui_crm.get_record("alice", LEAD)
        assert (record.owner, record.pool) == (None, "public")
        assert "Pool: public" in text_of(app, "#record-head")
        assert "Reason: moved" in text_of(app, "#why")


async def test_the_release_dialog_lets_the_operator_choose_the_pool(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    tui_crm.add_pool("admin", "recycle", ["alice"], [])
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, "x")
        assert isinstance(app.screen, ReleaseDialog)
        assert app.screen.pools == ["public", "recycle"]  # hers, by name
        pool = app.screen.query_one("#pool", Select)
        assert pool.is_blank()  # blank: the workflow's own pool
        pool.value = "recycle"
        fill(app, "#reason", "wrong region")
        await act(app, pilot, settle, "enter")
        assert tui_crm.get_record("admin", LEAD).pool == "recycle"
        assert "Released to pool recycle" in notices(app)


async def test_a_qualified_lead_converts_and_the_new_record_opens(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    tui_crm.move_record("alice", LEAD, "contacted")
    tui_crm.log_activity("alice", LEAD, "call")
    tui_crm.move_record("alice", LEAD, "qualified")
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, "c")
        assert isinstance(app.screen, ConvertDialog)
        app.screen.query_one("#kind", Select).value = "member"
        fill(app, "#fields", "vip=yes; visits=2")
        fill(app, "#deal-amount", "1200.50")
        await act(app, pilot, settle, "enter")
        assert "needs a deal title" in problem(app, "problem-deal-title")
        fill(app, "#deal-title", "First order")
        await act(app, pilot, settle, "enter")
        source = tui_crm.get_record("alice", LEAD)
        new_id = source.fields["converted_to"]
        assert source.stage == "won"
        assert isinstance(app.screen, RecordScreen) and app.screen.record_id == new_id
        member = tui_crm.get_record("alice", new_id)
        assert member.kind == "member" and member.fields["name"] == "刘洋"
        assert member.fields["vip"] is True and member.fields["visits"] == 2
        assert rows(app, "deals") == [["First order", "1200.50 CNY", "open", ""]]
        assert f"Converted to #{new_id}" in notices(app)


async def test_a_conversion_the_workflow_refuses_shows_why_in_the_dialog(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, "c")
        app.screen.query_one("#kind", Select).value = "member"
        await act(app, pilot, settle, "ctrl+s")
        assert "cannot move from new to won" in problem(app, "form-error")
        assert "converted_to" not in tui_crm.get_record("alice", LEAD).fields


async def test_a_record_the_operator_may_not_see_is_refused_and_the_screen_closes(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, 8)
        assert not isinstance(app.screen, RecordScreen)
        [refusal] = [n for n in app._notifications if n.severity == "error"]
        assert "#8" in refusal.message


class Panels:
    """A plugin with one working and one failing panel on leads."""

    @hookimpl
    def crm_register_detail_panels(self, register: Callable[..., None]) -> None:
        register("lead", "budget", lambda crm, actor, r: f"[b]{r.fields['budget']}[/b] to spend",
                 label={"en": "Money", "zh": "钱"})  # fmt: skip
        register("lead", "broken", lambda crm, actor, r: 1 / 0, label="Broken")


async def test_plugin_panels_get_a_tab_and_a_failing_one_shows_its_error(
    tui_crm: Crm, settle: Settle
) -> None:
    crm = Crm.open(str(tui_crm.engine.url), extra_plugins=[("panels", Panels())],
                   clock=tui_crm.clock)  # fmt: skip
    alice = next(u for u in crm.list_users("admin") if u.name == "alice")
    app = CrmApp(crm, alice, lang="zh", tz=UTC)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_record(app, pilot, settle, LEAD)
            assert text_of(app, "#panel-budget-body") == "40000 to spend"
            broken = text_of(app, "#panel-broken-body")
            assert "插件“panels”在" in broken and "ZeroDivisionError" in broken
            tabs = [str(t.label) for t in app.screen.query(Tab)]
            assert tabs[0] == "字段" and tabs[-2:] == ["钱", "Broken"]
            await act(app, pilot, settle, "f5")
            assert len(app.screen.query("#panel-budget")) == 1
    finally:
        crm.close()


def test_a_journal_change_reads_as_before_and_after_in_one_short_line() -> None:
    created = {
        "stage": "new",
        "owner_id": 2,
        "pool_id": None,
        "fields": {"name": "王芳", "budget": 20000},
    }
    assert change_summary(None, created) == "stage: new, owner_id: 2, name: 王芳, budget: 20000"
    before, after = {"stage": "new", "fields": {"budget": 1}}, {"stage": "won", "fields": {}}
    moved = change_summary(before, after)
    assert moved == "stage: new→won, budget: 1→"
    assert change_summary({"a": 1}, {"a": 1}) == ""
    assert len(change_summary(None, {"note": "x" * 200})) == 70


def _open_lead(settle: Settle) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app: CrmApp = pilot.app  # type: ignore[assignment]
        await open_record(app, pilot, settle, LEAD)
        app.clear_notifications()
        await pilot.pause()

    return run_before


def test_snapshot_record_screen_in_english(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle, snap_compare: Any
) -> None:
    tui_crm.log_activity("alice", LEAD, "call", note="asked for a quote")
    app = make_app("alice", "en")
    assert snap_compare(app, terminal_size=SIZE, run_before=_open_lead(settle))


def test_snapshot_record_screen_in_chinese(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle, snap_compare: Any
) -> None:
    tui_crm.log_activity("alice", LEAD, "call", note="问了报价")
    app = make_app("alice", "zh")
    assert snap_compare(app, terminal_size=SIZE, run_before=_open_lead(settle))


@pytest.mark.parametrize("key", ["e", "a", "t", "m", "x", "c"])
async def test_every_dialog_opens_with_its_first_field_focused_and_shows_it(
    make_app: Callable[..., CrmApp], settle: Settle, key: str
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, key)
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        first = next(w for w in dialog.query(".form-row > *") if w.focusable)
        assert dialog.focused is first and isinstance(first, Input | Select)
        labels = list(dialog.query(".form-label").results(Label))
        # the focused row's label stands out from the others
        assert labels[0].styles.color != labels[1].styles.color
        assert labels[0].styles.text_style.bold and not labels[1].styles.text_style.bold


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_snapshot_move_dialog_offers_the_allowed_stages_and_says_why_not_the_rest(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle, snap_compare: Any, lang: str
) -> None:
    tui_crm.move_record("alice", LEAD, "contacted")

    async def run_before(pilot: Pilot[Any]) -> None:
        app: CrmApp = pilot.app  # type: ignore[assignment]
        await open_record(app, pilot, settle, LEAD)
        await act(app, pilot, settle, "m")
        await pilot.pause()  # no notice left over the dialog: opening it cleared them

    app = make_app("alice", lang)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
