"""With ``--lang zh`` the core's and the plugins' words are Chinese too, not only the labels.

Refusals of the API, reminder notes the scheduler wrote, the plugins' panels
and Textual's palette key all speak the operator's language; leaving the app
gives the process its language back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from test_detail import LEAD, open_record, text_of
from test_pool import SIZE, _notices, _open_pool
from textual.command import CommandPalette
from textual.widgets import DataTable, Input
from textual.widgets._footer import FooterKey

from crm_core.api import Crm, CrmError, active_language
from crm_core.tui.app import CrmApp

Settle = Callable[[CrmApp], Awaitable[None]]


async def test_a_refused_claim_is_said_in_chinese(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    with pytest.raises(CrmError) as refused:
        tui_crm.claim("alice", 14)  # she let #14 go less than seven days ago
    chinese = refused.value.render("zh")
    assert chinese.startswith("alice 曾持有 #14 至") and "起才能再次领取" in chinese
    app = make_app("alice", lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await _open_pool(app, pilot, settle)
        await pilot.press("c")
        await settle(app)
        await pilot.pause()
        # The Pool refuses it itself, before the API would, with the time in local time.
        assert any("#14" in n and "起才能再次领取" in n for n in _notices(app)), _notices(app)
        assert active_language() == "zh"
    assert active_language() == "en"  # the app gave the language back
    assert str(refused.value).startswith("alice held #14 until")


async def test_reminders_the_scheduler_wrote_are_shown_in_chinese(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    tui_crm.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    tui_crm.sweep("admin")  # warns: "#2 … returns to pool public within 2 day(s), by …"
    notes = [t.note for t in tui_crm.list_tasks("alice") if "returns to pool" in t.note]
    assert notes  # the data has leads about to go back
    app = make_app("alice", lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.pause()
        shown = _notices(app)
        assert not any("returns to pool" in n for n in shown)
        # One notice counts them; the reminders list says each in Chinese.
        assert any(f"{len(notes)} " in n for n in shown), shown
        table = app.screen.query_one("#reminders", DataTable)
        cells = [str(c) for row in range(table.row_count) for c in table.get_row_at(row)]
        warnings = [c for c in cells if "天内" in c and "退回 公海" in c and "除非你跟进" in c]
        assert len(warnings) == len(notes), cells


async def test_a_plugin_panel_speaks_chinese(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("alice", lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await open_record(app, pilot, settle, LEAD)
        panel = text_of(app, "#panel-qualification-body")
        assert panel.startswith("评分 ") and "评估条件：" in panel
    english = make_app("alice", lang="en")
    async with english.run_test(size=SIZE) as pilot:
        await open_record(english, pilot, settle, LEAD)
        assert text_of(english, "#panel-qualification-body").startswith("Score ")


async def test_the_palette_key_and_prompt_are_chinese(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("alice", lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.pause()
        key = app.screen.query_one("FooterKey.-command-palette", FooterKey)
        assert key.description == "命令" and key.tooltip == "打开命令面板"
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        assert app.screen.query_one(Input).placeholder == "搜索命令…"


def test_the_translator_says_the_core_s_messages_and_stored_english() -> None:
    from crm_core.api import _
    from crm_core.tui.i18n import Translator

    zh, en = Translator("zh"), Translator("en")
    refusal = _("record #{id} is not in a pool", id=4)
    assert zh(refusal) == "客户 #4 不在公海中" and en(refusal) == "record #4 is not in a pool"
    assert zh("rule idle of pool public") == "公海 public 的规则 idle"  # a reason the sweep wrote
    assert zh("wrong number") == "wrong number"  # what an operator typed stays
    assert zh("My work") == "我的工作"  # the TUI's own words come first
