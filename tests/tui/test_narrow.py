"""80×24, a terminal over SSH: the footer, the tables' columns and the dialogs' buttons.

The footer shows F1 first, then the screen's own keys, every key whole. A
screen with more keys than 80 columns hold shows the first of them (its
most used, by the order of its bindings); the rest are in F1 and the palette.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Button, DataTable, Input
from textual.widgets._footer import FooterKey

from crm_core.tui.app import CrmApp
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.widgets.footer import CrmFooter, rank
from crm_core.tui.widgets.forms import EditFieldsDialog

Settle = Callable[[CrmApp], Awaitable[None]]
NARROW = (80, 24)
# screen -> (user, key that opens it, or None for the record screen)
SCREENS = {
    "my_work": ("alice", None),
    "records": ("alice", "2"),
    "pool": ("alice", "3"),
    "dashboard": ("alice", "4"),
    "team": ("mia", "5"),
    "record": ("alice", ""),
}


def own_keys(screen: Screen[Any]) -> list[str]:
    """The actions the screen itself binds and shows (and no focused widget hides), in order."""
    actions: list[str] = []
    for node, binding, _enabled, _tooltip in screen.active_bindings.values():
        if node is screen and binding.show and binding.action not in actions:
            actions.append(binding.action)
    return actions


def shown_keys(screen: Screen[Any]) -> tuple[list[FooterKey], FooterKey]:
    """The footer's keys left to right, and the palette's key at its right edge."""
    footer = screen.query_one(CrmFooter)
    keys = [k for k in footer.query(FooterKey) if not k.has_class("-command-palette")]
    palette = footer.query_one(".-command-palette", FooterKey)
    return sorted(keys, key=lambda k: k.region.x), palette


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", SCREENS)
async def test_footer_at_80_columns_shows_help_and_the_screens_keys_whole(
    make_app: Callable[..., CrmApp], settle: Settle, name: str, lang: str
) -> None:
    user, key = SCREENS[name]
    app = make_app(user, lang=lang)
    async with app.run_test(size=NARROW) as pilot:
        await settle(app)
        if key == "":
            app.push_screen(RecordScreen(5))
        elif key is not None:
            await pilot.press(key)
        await settle(app)
        await pilot.pause()
        await pilot.pause()
        keys, palette = shown_keys(app.screen)
        assert keys and keys[0].action == "help" and keys[0].key == "f1"
        # A list's own enter ("Open", the table's select_cursor) comes right after F1.
        keys = [keys[0], *(k for k in keys[1:] if k.action != "select_cursor")]
        for shown in keys:  # each key whole, none under the palette's key or past the edge
            assert shown.region.right <= palette.region.x <= NARROW[0], shown.description
        actions = [k.action for k in keys]
        own = own_keys(app.screen)
        mine = [a for a in actions if a in own]
        # The screen's keys in its order, as many as fit (at least three), right after F1;
        # what does not fit is in the help and the palette.
        assert actions[1 : 1 + len(mine)] == mine == own[: len(mine)], (own, actions)
        assert len(mine) >= min(len(own), 3)
        if len(mine) < len(own):
            assert actions == ["help", *mine]  # nothing less useful shown in their place
        ranks = [rank(Binding(k.key, k.action)) for k in keys]
        assert ranks == sorted(ranks)  # help, the screen's keys, quit, then screen switches


async def test_footer_shows_every_key_when_the_terminal_is_wide(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=(200, 45)) as pilot:
        await settle(app)
        await pilot.pause()
        keys, _palette = shown_keys(app.screen)
        actions = [k.action for k in keys]
        assert actions[0] == "help" and actions[-5:] == [
            f"switch_mode('{mode}')" for mode in ("work", "records", "pool", "dashboard", "team")
        ]


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_pool_at_80_columns_keeps_every_column_why_included(
    make_app: Callable[..., CrmApp], settle: Settle, lang: str
) -> None:
    app = make_app("alice", lang=lang)
    async with app.run_test(size=NARROW) as pilot:
        await settle(app)
        await pilot.press("3")
        await settle(app)
        await pilot.pause()
        table = app.screen.query_one("#pool-entries", DataTable)
        widths = [c.get_render_width(table) for c in table.ordered_columns]
        # #, Title, Stage, May claim, In pool for, Came back, Why it came back
        assert len(widths) == 7 and sum(widths) <= table.scrollable_content_region.width
        assert table.ordered_columns[-1].width >= 16  # why it came back: cut, never gone
        assert table.virtual_size.width <= table.size.width  # no sideways scrolling


@pytest.mark.parametrize("size", [NARROW, (80, 14)], ids=["80x24", "80x14"])
@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_edit_dialog_scrolls_its_fields_and_keeps_save_in_sight(
    make_app: Callable[..., CrmApp], settle: Settle, lang: str, size: tuple[int, int]
) -> None:
    app = make_app("alice", lang=lang)
    async with app.run_test(size=size) as pilot:
        await settle(app)
        app.push_screen(RecordScreen(5))
        await pilot.pause()
        await settle(app)
        await app.screen.run_action("edit")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EditFieldsDialog)
        screen = dialog.region
        for button in dialog.query(Button):
            assert screen.contains_region(button.region), button.id
        body = dialog.query_one(".form-body")
        # 14 lines cannot hold the lead's eleven fields: they scroll, the buttons stay.
        assert (body.max_scroll_y > 0) == (size[1] < NARROW[1])
        last = list(body.query(Input).results(Input))[-1]
        last.focus()
        # Focus scrolls the field into view on a later refresh: on a loaded machine one
        # pause was not always enough, so wait for it (a field never scrolled still fails).
        for _ in range(60):
            await pilot.pause(0.05)
            if body.region.contains_region(last.region):
                break
        assert body.region.contains_region(last.region)  # scrolled into view
        for button in dialog.query(Button):
            assert screen.contains_region(button.region), button.id
