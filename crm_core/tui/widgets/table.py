"""The TUI's tables: Textual's ``DataTable`` with plain text cells drawn without Rich.

Every list in the TUI holds short texts in columns of fixed width. Textual's
table renders each visible cell through Rich's console (markup parsing,
padding, wrapping), reads the row's CSS styles again for every line, and,
whenever rows are added, measures every new cell for column widths. At 30
rows × 9 columns that was most of the time between ``n`` and the next page
on the screen. A text cell of one line needs none of it: it is the text cut
or padded to the column's width, in the cell's style.

Columns have the widths the screen gives them on a wide terminal; on a
narrow one (80 columns) the wider columns give up cells, down to their
least width, so every column stays on the screen; a text cut short ends
with "…".

Cell values are literal text, never Rich markup: a record titled ``[b]x`` or
``[/]`` shows those characters (``DataTable`` would style or refuse them).
A table with another cursor than a row cursor is drawn by ``DataTable``,
markup and all: the TUI has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets._data_table import ColumnKey, RowKey

# Any control character (a newline, a tab) would move the terminal's cursor.
_CONTROLS = {code: " " for code in [*range(32), 127]}
# A column narrower than this never shrinks; a wider one keeps at least this much by default.
KEEPS = 8


def one_line(text: str) -> str:
    """``text`` as it can stand in one cell: the first line, control characters as spaces."""
    first = text.split("\n", 1)[0]
    return first if first.isprintable() else first.translate(_CONTROLS)


def fit(text: str, width: int) -> str:
    """``text`` padded to ``width`` cells, or cut to it with "…" as its last cell."""
    if cell_len(text) <= width or width < 2:
        return set_cell_size(text, width)
    # A wide character cut in half leaves a space: the "…" goes right after the text.
    return set_cell_size(set_cell_size(text, width - 1).rstrip() + "…", width)


def shrink(widths: list[tuple[int, int]], room: int) -> list[int]:
    """Column widths for ``room`` cells: each ``(width, least)`` gives up cells by its slack.

    A column gives up a share of what must go in proportion to how much it
    could (``width - least``); no column goes below its least width, so when
    even that does not fit the table scrolls sideways.
    """
    total = sum(w for w, _ in widths)
    if total <= room:
        return [w for w, _ in widths]
    slack = [w - least for w, least in widths]
    spare = sum(slack)
    excess = min(total - room, spare)
    if excess <= 0:
        return [w for w, _ in widths]
    cuts = [excess * s // spare for s in slack]
    # What rounding down left: one more cell from the columns with the most slack left.
    by_slack = sorted(range(len(widths)), key=lambda i: slack[i] - cuts[i], reverse=True)
    for i in by_slack[: excess - sum(cuts)]:
        cuts[i] += 1
    return [w - cut for (w, _), cut in zip(widths, cuts, strict=True)]


class CrmTable(DataTable[Any]):
    """A ``DataTable`` whose text cells are one line of literal text.

    Tables with a row cursor (every table of the TUI) draw their ``str``
    cells and headers themselves, in the styles ``DataTable`` would give
    them. Other cells (Rich renderables, numbers), rows taller than one
    line, fixed columns, row labels and other cursors are drawn by
    ``DataTable`` as before.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # CSS styles every row of a page shares, by component; see _shared_style.
        self._shared: dict[str, Style] = {}
        self._shared_for: tuple[object, int] | None = None
        # Each fixed column's width on a wide terminal and the least it shrinks to.
        self._declared: dict[ColumnKey, tuple[int, int]] = {}

    def add_fixed_columns(self, *columns: tuple[str, int] | tuple[str, int, int]) -> None:
        """Add a column of each ``(label, width)`` or ``(label, width, least)``.

        Every TUI table has fixed widths: automatic ones are sized only when the
        app idles, so a busy machine would paint them half-sized first, and
        fixed ones spare the measuring of each new cell (``_update_dimensions``).
        On a narrow terminal a column shrinks to ``least`` cells at most
        (by default :data:`KEEPS`, or its width when that is less).
        """
        for label, width, *least in columns:
            key = self.add_column(label, width=width)
            if least:
                self._declared[key] = (width, min(least[0], width))
        self._fit_columns()  # again, with the least widths given here

    def add_column(self, label: Any, *, width: int | None = None, key: str | None = None,
                   default: Any = None) -> ColumnKey:  # fmt: skip
        """Add a column; a fixed-width one shrinks on a narrow terminal (see :func:`shrink`)."""
        column_key = super().add_column(label, width=width, key=key, default=default)
        if width is not None:
            self._declared[column_key] = (width, min(width, KEEPS))
            self._fit_columns()
        return column_key

    def on_resize(self, event: events.Resize) -> None:
        """Another width: the columns take what the table has."""
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Give the fixed columns their declared widths, shrunk to the table's width if need be."""
        if not self.size.width:
            return  # not laid out yet: on_resize will fit them
        keys = [key for key in self.columns if key in self._declared]
        padding = 2 * self.cell_padding
        # The vertical scrollbar's cells are kept free, so it showing up reflows nothing.
        room = self.size.width - self.styles.scrollbar_size_vertical - self._row_label_column_width
        room -= padding * len(self.columns)
        room -= sum(c.get_render_width(self) - padding
                    for k, c in self.columns.items() if k not in self._declared)  # fmt: skip
        widths = shrink([self._declared[key] for key in keys], room)
        changed = False
        for key, width in zip(keys, widths, strict=True):
            column = self.columns[key]
            if column.width != width:
                column.width, changed = width, True
        if changed:
            self._clear_caches()
            self._update_dimensions([])
            self.refresh()

    def show_enter(self, description: str) -> None:
        """Show enter in the footer as what it does on this table's rows (a row selected).

        ``DataTable`` binds enter without showing it, and, as the focused
        widget's, that binding hides the screen's from the footer.
        """
        self._bindings.key_to_bindings["enter"] = [Binding("enter", "select_cursor", description)]

    def notify_style_update(self) -> None:
        """A new stylesheet or theme: forget the styles read from the old one."""
        self._shared.clear()
        super().notify_style_update()

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[list[list[Segment]], list[list[Segment]]]:
        """A line of a row (or of the header), drawn as ``DataTable`` would draw it."""
        cursor_type = self.cursor_type
        if cursor_type != "row" or self.fixed_columns or self._should_render_row_labels:
            return super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )
        show_cursor, show_hover = self.show_cursor, self._show_hover_cursor
        update_count, pseudo = self._update_count, self._pseudo_class_state
        cache_key = (row_key, line_no, base_style, cursor_location, hover_location,
                     cursor_type, show_cursor, show_hover, update_count, pseudo)  # fmt: skip
        cached = self._row_render_cache.get(cache_key)
        if cached is not None:
            return cached
        found = self._row_locations.get(row_key)
        row_index = -1 if found is None else found  # the header row has no location
        row_style = self._shared_style(row_index, base_style)
        # With a row cursor, every cell of a row is highlighted alike.
        cursor = row_index == cursor_location.row
        hover = self._should_highlight(hover_location, Coordinate(row_index, 0), cursor_type)
        component, post = self._get_styles_to_render_cell(
            row_index == -1,
            False,
            0 <= row_index < self.fixed_rows,
            hover,
            cursor,
            show_cursor,
            show_hover,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        texts = self._plain_texts(row_key, row_index)
        padding = " " * self.cell_padding
        cells: list[list[Segment]] = []
        width = self._row_label_column_width
        for column_index, (column, text) in enumerate(
            zip(self.ordered_columns, texts, strict=True)
        ):
            cell_width = column.get_render_width(self)
            width += cell_width
            if text is None:
                lines = self._render_cell(row_index, column_index, row_style, cell_width,
                                          cursor=cursor, hover=hover)  # fmt: skip
                cells.append(lines[line_no])
                continue
            meta = Style.from_meta({"row": row_index, "column": column_index})
            inner = max(cell_width - 2 * len(padding), 0)
            shown = padding + fit(one_line(text), inner) + padding
            cells.append([Segment(shown, row_style + meta + component + post)])
        # The row's colour runs on to the table's right edge, as DataTable's does.
        extend, _ = self._get_styles_to_render_cell(
            row_index == -1, False, False, hover, cursor, show_cursor, show_hover, False, False
        )
        meta = Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        rest = max(0, self.size.width - width)
        cells.append([Segment(" " * rest, row_style + extend + meta)])
        pair: tuple[list[list[Segment]], list[list[Segment]]] = ([], cells)
        self._row_render_cache[cache_key] = pair
        return pair

    def _plain_texts(self, row_key: RowKey, row_index: int) -> list[str | None]:
        """Each column's text in this row (-1: the header) if it is one line of plain text."""
        columns = self.ordered_columns
        if row_index == -1:
            if self.header_height != 1:
                return [None] * len(columns)
            return [c.label.plain if not (c.label.spans or c.label.style) else None
                    for c in columns]  # fmt: skip
        row = self.rows.get(row_key)
        if row is None or row.height != 1:
            return [None] * len(columns)
        data = self._data.get(row_key, {})
        return [d if isinstance(d := data.get(c.key), str) else None for c in columns]

    def _shared_style(self, row_index: int, base_style: Style) -> Style:
        """The style of the row at ``row_index`` (-1: the header), as ``_get_row_style`` gives it.

        Kept for the page and focus state it was read in: a new page, focus
        or hover reads it again.
        """
        if row_index == -1:
            name = "datatable--header"
        elif row_index < self.fixed_rows:
            name = "datatable--fixed"
        elif self.zebra_stripes:
            name = "datatable--odd-row" if row_index % 2 else "datatable--even-row"
        else:
            return base_style
        state = (self._pseudo_class_state, self._update_count)
        if state != self._shared_for:
            self._shared.clear()
            self._shared_for = state
        style = self._shared.get(name)
        if style is None:
            style = self._shared[name] = self.get_component_styles(name).rich_style
        return style

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
