"""The TUI's tables: Textual's ``DataTable`` with plain text cells drawn without Rich.

Every list in the TUI holds short texts in columns of fixed width. Textual's
table renders each visible cell through Rich's console (markup parsing,
padding, wrapping) and, whenever rows are added, measures every new cell for
column widths. At 30 rows × 9 columns that is most of the time between ``n``
and the next page on the screen. A text cell of one line needs none of it:
it is the text cut or padded to the column's width, in the cell's style.

Cell values are literal text, never Rich markup: a record titled ``[b]x`` or
``[/]`` shows those characters (``DataTable`` would style or refuse them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets._data_table import RowKey

# Any control character (a newline, a tab) would move the terminal's cursor.
_CONTROLS = {code: " " for code in [*range(32), 127]}


def one_line(text: str) -> str:
    """``text`` as it can stand in one cell: the first line, control characters as spaces."""
    first = text.split("\n", 1)[0]
    return first if first.isprintable() else first.translate(_CONTROLS)


class CrmTable(DataTable[Any]):
    """A ``DataTable`` whose text cells are one line of literal text.

    Cells of other types (Rich renderables, numbers) and rows taller than one
    line are drawn by ``DataTable`` as before.
    """

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """One text cell as one segment: the text fitted to ``width`` in the cell's style.

        The style is the one ``DataTable`` gives the cell (header or row, zebra
        stripe, cursor, hover, and the row and column a mouse click reports).
        Nothing is cached: building the segment costs less than the cache's
        bookkeeping, and a new page would miss it anyway.
        """
        text = self._plain_text(row_index, column_index)
        if text is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        header = row_index == -1
        component_style, post_style = self._get_styles_to_render_cell(
            header,
            False,
            not header and (row_index < self.fixed_rows or column_index < self.fixed_columns),
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        style = (
            base_style
            + Style.from_meta({"row": row_index, "column": column_index})
            + component_style
            + post_style
        )
        padding = " " * self.cell_padding
        inner = max(width - 2 * self.cell_padding, 0)
        return [[Segment(padding + set_cell_size(one_line(text), inner) + padding, style)]]

    def _plain_text(self, row_index: int, column_index: int) -> str | None:
        """The text of a one-line cell (a header or a ``str`` value); None for any other."""
        column_key = self._column_locations.get_key(column_index)
        if column_key is None:  # row labels have no column
            return None
        if row_index == -1:
            label = self.columns[column_key].label
            plain = self.header_height == 1 and not label.spans and not label.style
            return label.plain if plain else None
        row_key = self._row_locations.get_key(row_index)
        row = self.rows.get(row_key) if row_key is not None else None
        if row_key is None or row is None or row.height != 1:
            return None
        datum = self._data.get(row_key, {}).get(column_key)
        return datum if isinstance(datum, str) else None

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Size the table without measuring a cell when no column or row sizes to content.

        ``DataTable`` measures every new cell for the widths of automatic
        columns, which the TUI does not use.
        """
        rows = list(new_rows)
        if any(column.auto_width for column in self.columns.values()) or any(
            (row := self.rows.get(key)) is not None and (row.auto_height or row.label is not None)
            for key in rows
        ):
            super()._update_dimensions(rows)
            return
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            width + self._row_label_column_width, self._total_row_height + header
        )
