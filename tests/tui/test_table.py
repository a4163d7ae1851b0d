"""CrmTable draws text cells itself: exactly as DataTable would, but literal and faster."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.widgets import DataTable

from crm_core.tui.widgets.table import CrmTable, fit, one_line, shrink

ROWS = [
    ("1", "Acme Ltd", "new", "5m"),
    ("22", "张伟的非常长的公司名称有限责任公司", "contacted", "3h"),  # wide, cut mid-character
    ("333", "A name far too long for its column", "won", ""),
    ("4", "", "lost", "12d"),
    ("5", "Zoë", "qualified", "—"),
]


COLUMNS = (("#", 4), ("Title", 12), ("Stage", 9), ("Idle", 4))


class _Both(App[None]):
    """A DataTable and a CrmTable with the same columns and rows, one above the other.

    With a row cursor the DataTable gets each text as CrmTable shows it, cut
    with "…" (DataTable just cuts); with another cursor DataTable draws both.
    """

    def compose(self) -> ComposeResult:
        for table in (DataTable(id="plain", **self.options), CrmTable(id="fast", **self.options)):
            table.styles.height = len(ROWS) + 1
            for label, width in COLUMNS:
                table.add_column(label, width=width)
            for row in ROWS:
                as_is = isinstance(table, CrmTable) or self.options["cursor_type"] != "row"
                cells = row if as_is else [
                    fit(text, width) for text, (_label, width) in zip(row, COLUMNS, strict=True)
                ]  # fmt: skip
                table.add_row(*cells, key=row[0])
            yield table

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.options = options


def _lines(table: DataTable[Any]) -> list[list[tuple[str, Any]]]:
    """Each painted line as (text, style) runs, styles as the terminal gets them."""
    out = []
    for y in range(table.size.height):
        strip: Strip = table.render_line(y).simplify()
        out.append([(seg.text, seg.style) for seg in strip])
    return out


@pytest.mark.parametrize(
    "options",
    [
        {"cursor_type": "row"},
        {"cursor_type": "row", "zebra_stripes": True},
        {"cursor_type": "row", "show_header": False},
        {"cursor_type": "cell"},  # drawn by DataTable itself
    ],
    ids=["rows", "zebra-rows", "no-header", "cells"],
)
async def test_fast_cells_paint_exactly_what_datatable_paints(options: dict[str, Any]) -> None:
    app = _Both(**options)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        painted = []
        for table_id in ("#plain", "#fast"):  # each drawn with the focus, as an operator sees it
            table = app.query_one(table_id, DataTable)
            table.focus()
            table.move_cursor(row=1, column=1)
            await pilot.hover(table_id, offset=(3, 4))  # the mouse over another row
            await pilot.pause()
            painted.append(_lines(table))
        plain, fast = painted
        assert fast == plain
        assert app.query_one("#fast", CrmTable).virtual_size == app.query_one("#plain").virtual_size
        assert any("张伟" in run[0] for line in fast for run in line)
        cut = "张伟的非常…" if options["cursor_type"] == "row" else "张伟的非常长"
        assert any(cut in run[0] for line in fast for run in line)


async def test_a_click_on_a_fast_cell_selects_its_row() -> None:
    selected: list[str | None] = []

    class _Clicked(_Both):
        def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
            selected.append(event.row_key.value)

    app = _Clicked(cursor_type="row")
    async with app.run_test(size=(60, 20)) as pilot:
        fast = app.query_one("#fast", CrmTable)
        fast.focus()
        await pilot.pause()
        # The cell's segment carries its row: a click moves the cursor there, a second selects.
        await pilot.click("#fast", offset=(6, 3))  # line 0 is the header: the third row
        await pilot.click("#fast", offset=(6, 3))
        await pilot.pause()
        assert fast.cursor_row == 2
        assert selected == ["333"]


async def test_text_is_shown_as_typed_never_as_markup() -> None:
    class _Markup(App[None]):
        def compose(self) -> ComposeResult:
            table = CrmTable(cursor_type="row")
            table.add_column("Title", width=20)
            table.add_row("[b]bold?[/b]")
            table.add_row("[/] closes nothing")
            table.add_row(Text("styled on purpose", style="red"))
            yield table

    app = _Markup()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        table = app.query_one(CrmTable)
        lines = [table.render_line(y).text for y in range(4)]
        assert lines[1].strip() == "[b]bold?[/b]"
        assert lines[2].strip() == "[/] closes nothing"
        assert lines[3].strip() == "styled on purpose"  # Rich text still goes through Rich


def test_one_line_keeps_the_first_line_and_no_control_characters() -> None:
    assert one_line("first\nsecond") == "first"
    assert one_line("a\tb\x1b[31m") == "a b [31m"
    assert one_line("普通") == "普通"


def test_fit_pads_or_cuts_with_an_ellipsis_in_cells_not_characters() -> None:
    assert fit("Acme", 6) == "Acme  "
    assert fit("A name far too long", 8) == "A name… "
    assert fit("Released by its owner", 9) == "Released…"
    assert fit("张伟的公司", 6) == "张伟… "  # a wide character is never cut in half
    assert fit("张伟", 4) == "张伟"
    assert fit("abc", 1) == "a"


def test_shrink_takes_from_each_column_by_how_much_it_can_give() -> None:
    pool = [(6, 6), (22, 14), (12, 8), (11, 6), (22, 8), (32, 16)]
    assert shrink(pool, 200) == [6, 22, 12, 11, 22, 32]  # room enough: as declared
    narrow = shrink(pool, 66)
    assert sum(narrow) == 66
    assert all(least <= w <= width for w, (width, least) in zip(narrow, pool, strict=True))
    assert narrow[0] == 6 and narrow[5] >= 16  # the id never shrinks; Why keeps the most
    assert shrink(pool, 10) == [least for _w, least in pool]  # the least, then it scrolls
