"""The pool (公海): what waits there, claiming within the caps, refusals, and paging."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Select, Static

from crm_core.api import Crm, CrmError
from crm_core.tui.app import CrmApp
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.screens.pool import PoolScreen

SIZE = (120, 40)
ROOT = Path(__file__).resolve().parents[2]
Settle = Callable[[CrmApp], Awaitable[None]]


def _ids(app: CrmApp) -> list[int]:
    table = app.screen.query_one("#pool-entries", DataTable)
    return [int(table.get_row_at(i)[0]) for i in range(table.row_count)]


def _text(app: CrmApp, widget_id: str) -> str:
    return str(app.screen.query_one(widget_id, Static).content)


def _notices(app: CrmApp) -> list[str]:
    return [n.message for n in app._notifications]


def _refusal(crm: Crm, actor: str, record_id: int) -> str:
    """What the API says when ``actor`` claims ``record_id`` (the claim must be refused)."""
    with pytest.raises(CrmError) as refused:
        crm.claim(actor, record_id)
    return str(refused.value)


async def _open_pool(app: CrmApp, pilot: Pilot[None], settle: Settle) -> None:
    await settle(app)
    await pilot.press("3")
    await settle(app)
    await pilot.pause()
    assert isinstance(app.screen, PoolScreen)


async def test_an_operator_sees_the_records_waiting_and_her_caps(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _open_pool(app, pilot, settle)
        assert app.screen.query_one("#pool-choice", Select).value == "public"
        assert _ids(app) == [14, 11]
        row = app.screen.query_one("#pool-entries", DataTable).get_row_at(0)
        (leads,) = tui_crm.list_workflows("alice")
        new = leads.stage_labels["new"]["en"]
        page = tui_crm.pool_page("alice", "public")
        assert page.entries[0].claimable_from == datetime(2026, 3, 13, 11, 0, tzinfo=UTC)
        # she let #14 go less than seven days ago: marked, with when she may claim it again
        assert list(row[2:]) == [new, "03-13 11:00", "5d", "released by its owner",
                                 "not reachable"]  # fmt: skip
        left = page.allowance
        assert _text(app, "#pool-allowance") == (
            f"{left['max_per_day'] - left['claimed_today']} of {left['max_per_day']} claims left"
            f" today · holding {left['held']} of {left['max_held']} · reclaim yours after"
            f" {left['reclaim_after_days']} days"
        )
        assert _text(app, "#pool-status") == (
            "Page 1 · 2 in the pool · #14: You held #14 before: you may claim it again from"
            " 03-13 11:00."
        )


async def test_the_cursor_starts_on_a_record_she_may_claim_and_enter_opens_that_record(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    tui_crm.release("bob", 4, "wrong region")  # bob's: alice may claim it
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _open_pool(app, pilot, settle)
        assert _ids(app) == [14, 11, 4]
        table = app.screen.query_one("#pool-entries", DataTable)
        assert table.cursor_row == 2 and table.get_row_at(2)[3] == "✓ now"
        assert "enter claims and opens" in _text(app, "#pool-status")
        await pilot.press("enter")
        await settle(app)
        await pilot.pause()
        assert isinstance(app.screen, RecordScreen) and app.screen.record_id == 4
        assert tui_crm.get_record("alice", 4).owner == "alice"


async def test_c_claims_and_stays_enter_claims_and_opens_the_claimed_record(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("bob")
    async with app.run_test(size=SIZE) as pilot:
        await _open_pool(app, pilot, settle)
        assert _text(app, "#pool-allowance").startswith("10 of 10 claims left today")
        await pilot.press("c")  # the highlighted first row: #14
        await settle(app)
        await pilot.pause()
        assert isinstance(app.screen, PoolScreen)
        assert _ids(app) == [11]
        mine = tui_crm.get_record("bob", 14)
        assert (mine.owner, mine.pool) == ("bob", None)
        assert any("Claimed #14" in n for n in _notices(app))
        assert _text(app, "#pool-allowance").startswith("9 of 10 claims left today")
        await pilot.press("enter")  # claims #11 and opens it, not whatever row comes next
        await settle(app)
        await pilot.pause()
        assert isinstance(app.screen, RecordScreen) and app.screen.record_id == 11
        assert tui_crm.get_record("bob", 11).owner == "bob"
        await pilot.press("escape")
        await settle(app)
        await pilot.pause()
        assert _ids(app) == []
        assert "Nothing waits in this pool." in _text(app, "#pool-status")


async def test_reclaiming_too_soon_is_refused_in_local_time_without_a_call(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    refusal = _refusal(tui_crm, "alice", 14)  # she let #14 go less than seven days ago
    assert "may claim it again from 2026-03-13T11:00+00:00" in refusal
    app = make_app("alice")
    app.tz = ZoneInfo("Asia/Shanghai")
    async with app.run_test(size=SIZE) as pilot:
        await _open_pool(app, pilot, settle)
        assert app.screen.query_one("#pool-entries", DataTable).get_row_at(0)[3] == "03-13 19:00"
        await pilot.press("c")
        await settle(app)
        await pilot.pause()
        assert "#14: You held #14 before: you may claim it again from 03-13 19:00." in (
            _notices(app)
        )
        assert _ids(app) == [14, 11]
        assert tui_crm.get_record("admin", 14).owner is None


async def test_claims_beyond_the_daily_cap_are_refused(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle, tmp_path: Path
) -> None:
    text = (ROOT / "workflows" / "leads.yaml").read_text(encoding="utf-8")
    assert "max_per_day: 10" in text and "version: 1" in text
    strict = tmp_path / "leads.yaml"
    strict.write_text(text.replace("max_per_day: 10", "max_per_day: 1").replace(
        "version: 1", "version: 2"), encoding="utf-8")  # fmt: skip
    tui_crm.apply_workflow("admin", strict)
    app = make_app("bob")
    async with app.run_test(size=SIZE) as pilot:
        await _open_pool(app, pilot, settle)
        assert _text(app, "#pool-allowance").startswith("1 of 1 claims left today")
        await pilot.press("c")
        await settle(app)
        await pilot.pause()
        assert _ids(app) == [11]
        assert _text(app, "#pool-allowance").startswith("0 of 1 claims left today")
        assert "the most pool 'public' allows" in _refusal(tui_crm, "bob", 11)
        await pilot.press("c")
        await settle(app)
        await pilot.pause()
        assert (
            "#11: You have made today's 1 claims: you may claim again from 03-13 00:00."
            in _notices(app)
        )
        assert _ids(app) == [11]
        assert tui_crm.get_record("admin", 11).owner is None


async def test_an_operator_outside_every_pool_sees_none_and_claims_nothing(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("carol")
    async with app.run_test(size=SIZE) as pilot:
        await _open_pool(app, pilot, settle)
        choice = app.screen.query_one("#pool-choice", Select)
        assert choice.disabled and choice.is_blank()
        assert "You belong to no pool" in _text(app, "#pool-status")
        assert _ids(app) == []
        await pilot.press("c")
        await settle(app)
        assert [tui_crm.get_record("admin", i).owner for i in (11, 14)] == [None, None]
        assert "carol may not use it" in _refusal(tui_crm, "carol", 11)


async def test_an_admin_sees_every_pool_without_being_a_member(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    assert "admin" not in tui_crm.list_pools("admin")[0].members
    app = make_app("admin")
    async with app.run_test(size=SIZE) as pilot:
        await _open_pool(app, pilot, settle)
        assert app.screen.query_one("#pool-choice", Select).value == "public"
        assert _ids(app) == [14, 11]


async def test_n_and_p_page_through_the_pool_newest_first(
    make_app: Callable[..., CrmApp],
    tui_crm: Crm,
    settle: Settle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(PoolScreen, "page_size", 5)
    for record in tui_crm.list_records("alice", owner="alice")[:6]:
        tui_crm.release("alice", record.id, "went quiet")
    first = tui_crm.pool_page("alice", "public", limit=5)
    second = tui_crm.pool_page("alice", "public", limit=5, before_id=first.entries[-1].record_id)
    assert first.total == 8 and len(second.entries) == 3
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _open_pool(app, pilot, settle)
        assert _ids(app) == [e.record_id for e in first.entries]
        await pilot.press("n")
        await settle(app)
        await pilot.pause()
        assert _ids(app) == [e.record_id for e in second.entries]
        assert "Page 2" in _text(app, "#pool-status")
        await pilot.press("n")
        await pilot.pause()
        assert "This is the last page." in _notices(app)
        await pilot.press("p")
        await settle(app)
        await pilot.pause()
        assert _ids(app) == [e.record_id for e in first.entries]
        await pilot.press("p")
        await pilot.pause()
        assert "This is the first page." in _notices(app)


async def test_coming_back_to_the_pool_shows_what_arrived_meanwhile(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _open_pool(app, pilot, settle)
        await pilot.press("1")
        await settle(app)
        mine = tui_crm.list_records("alice", owner="alice")[0]
        tui_crm.release("alice", mine.id, "wrong number")
        await pilot.press("3")
        await settle(app)
        await pilot.pause()
        assert _ids(app) == [e.record_id for e in tui_crm.pool_page("alice", "public").entries]
        assert mine.id in _ids(app)
        table = app.screen.query_one("#pool-entries", DataTable)
        assert table.get_row(str(mine.id))[-1] == "wrong number"


async def test_o_opens_the_highlighted_record(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("bob")
    async with app.run_test(size=SIZE) as pilot:
        await _open_pool(app, pilot, settle)
        await pilot.press("down", "o")
        await pilot.pause()
        assert isinstance(app.screen, RecordScreen)
        assert app.screen.record_id == 11


async def test_every_pool_action_is_in_the_palette(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("alice", lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await _open_pool(app, pilot, settle)
        screen = app.screen
        assert isinstance(screen, PoolScreen)
        titles = [c.title for c in screen.palette_commands()]
        assert titles == ["领取并打开", "领取", "打开", "下一页", "上一页", "刷新", "公海：public"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pool_snapshot(
    snap_compare: Callable[..., bool],
    make_app: Callable[..., CrmApp],
    settle: Settle,
    lang: str,
) -> None:
    async def open_pool(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, CrmApp)
        await settle(app)
        await pilot.press("3")
        await settle(app)
        await pilot.pause(0.1)  # the table sizes its columns when idle
        app.clear_notifications()
        await pilot.pause()  # the cleared notice leaves no edge behind

    assert snap_compare(make_app("alice", lang=lang), terminal_size=SIZE, run_before=open_pool)
