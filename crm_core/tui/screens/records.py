"""Lists of records per kind: incremental search, filters, sorts and keyset pages."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import DataTable, Header, Input, Select, Static

from crm_core.api import ListColumn
from crm_core.errors import CrmError, InvalidInput
from crm_core.tui.base import CrmScreen
from crm_core.tui.messages import said
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.screens.row_actions import RowActions
from crm_core.tui.widgets.cells import ago, value
from crm_core.tui.widgets.footer import CrmFooter
from crm_core.tui.widgets.pickers import SavedFiltersDialog
from crm_core.tui.widgets.table import CrmTable
from crm_core.views import PoolView, RecordPage, SavedFilterView, UserView, WorkflowView

SORTS = ("newest", "oldest", "updated", "title", "idle")
PAGE_SIZE = 50
DEFAULT_WIDTH = 14  # of a plugin's column that names no width
UNOWNED = "-"
# Wait this long after the last key of a search before asking the database.
SEARCH_DELAY = 0.25
# A page read ahead is shown at once when asked for within this time; an older
# one is read again, so the list is never staler than a page just read.
AHEAD_SECONDS = 30.0


@dataclass
class Paging:
    """Where the list is: the cursor each shown page started from, and the next one's."""

    starts: list[str | None] = field(default_factory=lambda: [None])
    next: str | None = None

    @property
    def number(self) -> int:
        """The page shown, from 1."""
        return len(self.starts)


@dataclass
class ReadAhead:
    """The page after the shown one, read while the operator reads this one.

    ``query`` names the filters and sort it was read with and ``after`` the
    cursor it starts from: it stands in for a read of exactly those.
    """

    query: str
    after: str
    page: RecordPage
    read_at: float = field(default_factory=time.monotonic)

    def answers(self, query: str, after: str | None) -> bool:
        """True when this page is what reading ``after`` with ``query`` would give now."""
        fresh = time.monotonic() - self.read_at < AHEAD_SECONDS
        return fresh and (query, after) == (self.query, self.after)


class RecordsScreen(RowActions, CrmScreen):
    """Every record the operator may see, one kind at a time."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search"),
        Binding("n,pagedown", "next_page", "Next page"),
        Binding("p,pageup", "previous_page", "Previous page"),
        Binding("s", "sort", "Sort"),
        Binding("escape", "clear", "Clear filters"),
        Binding("a", "log_activity", "Log activity"),
        Binding("t", "add_task", "Add task"),
        Binding("f", "saved_filters", "Saved filters"),
        Binding("o", "open", "Open", show=False),  # the footer shows enter, its table's
        Binding("f5", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.paging = Paging()
        self.ahead: ReadAhead | None = None
        self.columns: list[ListColumn] = []
        self._search_timer: Timer | None = None
        self._workflows: list[WorkflowView] = []
        self._ready = False  # filters fire Changed while they are filled: ignore those

    def compose(self) -> ComposeResult:
        """Filters on top, the table, the page line."""
        yield Header()
        kinds = [(self.tr.label(k.label, k.name), k.name) for k in self.crm.kinds()]
        with Horizontal(classes="filters"):
            yield Select(kinds, id="kind", allow_blank=False, prompt=self.tr("Kind"))
            yield Input(placeholder=self.tr("Search title, phone, e-mail or #id"), id="search")
            yield Select([(self.tr(s), s) for s in SORTS], id="sort", allow_blank=False,
                         value="newest")  # fmt: skip
        with Horizontal(classes="filters"):
            yield Select([], id="stage", prompt=self.tr("Stage"))
            yield Select([], id="owner", prompt=self.tr("Owner"))
            yield Select([], id="pool", prompt=self.tr("Pool"))
            yield Input(placeholder=self.tr("Field filter (FIELD=VALUE)"), id="where")
        table = CrmTable(id="records", cursor_type="row", zebra_stripes=True)
        table.show_enter(self.tr("Open"))
        yield table
        yield Static("", id="page-status", classes="hint")
        yield CrmFooter()

    def on_mount(self) -> None:
        """Fill the filter choices, then show the first page of the first kind."""

        def choices() -> tuple[list[WorkflowView], list[UserView], list[PoolView]]:
            crm, actor = self.crm, self.actor
            return (
                crm.list_workflows(actor),
                crm.list_users(actor),
                crm.list_pools(actor, usable=True),
            )

        self.call_api(choices, self._fill_choices, group="choices")

    def on_screen_resume(self) -> None:
        """Back from a record or another screen: read the shown page again, as it is now."""
        self.action_refresh()

    def action_refresh(self) -> None:
        """Read the shown page again, as it is now."""
        if self._ready:
            self.ahead = None
            self.reload(self.paging.starts[-1])

    def _fill_choices(
        self, found: tuple[list[WorkflowView], list[UserView], list[PoolView]]
    ) -> None:
        self._workflows, users, pools = found
        self.crm_app.remember_workflows(self._workflows)
        owners = [(self.tr("Unowned"), UNOWNED)] + [(u.name, u.name) for u in users if u.active]
        self.query_one("#owner", Select).set_options(owners)
        self.query_one("#pool", Select).set_options([(p.name, p.name) for p in pools])
        # Start on a kind a workflow runs, the one most of My work is about if any.
        kind = self.crm_app.pick_kind([w.kind for w in self._workflows])
        if kind is not None:
            with self.prevent(Select.Changed):
                self.query_one("#kind", Select).value = kind
        self._fill_stages()
        self._reset_columns()
        self._ready = True
        self.reload()
        self.query_one("#records", DataTable).focus()

    def _fill_stages(self) -> None:
        kind = self._value("kind")
        stages = next((w.stages for w in self._workflows if w.kind == kind), [])
        label = self.crm_app.stage_label
        self.query_one("#stage", Select).set_options([(label(kind, s), s) for s in stages])

    def _value(self, widget_id: str) -> Any:
        select: Select[Any] = self.query_one(f"#{widget_id}", Select)
        return None if select.is_blank() else select.value

    def _reset_columns(self) -> None:
        kind = self._value("kind")
        self.columns = self.crm.list_columns(kind) if kind else []
        table = self.query_one("#records", DataTable)
        table.clear(columns=True)
        # Fixed widths: auto widths are sized only when the app idles, so a busy
        # machine would paint them half-sized first.
        table.add_column("#", key="id", width=7)
        table.add_column(self.tr("Title"), key="title", width=20)
        table.add_column(self.tr("Stage"), key="stage", width=12)
        table.add_column(self.tr("Owner"), key="owner", width=10)
        for column in self.columns:
            table.add_column(self.tr.label(column.label, column.field), key=column.field,
                             width=column.width or DEFAULT_WIDTH)  # fmt: skip
        table.add_column(self.tr("Last activity"), key="last", width=8)

    def _where(self) -> dict[str, Any] | None:
        text = self.query_one("#where", Input).value.strip()
        if not text:
            return None
        name, sep, raw = text.partition("=")
        if not sep:
            raise InvalidInput(self.tr("Field filter (FIELD=VALUE)"))
        kind = self._value("kind")
        return dict(self.crm.coerce_fields(kind, {name.strip(): raw.strip()}))

    def reload(self, after: str | None = None) -> None:
        """Ask for the page starting after ``after`` (None: the first page)."""
        try:
            where = self._where()
        except CrmError as exc:
            self.notify(said(exc, self.tr), severity="error")
            return
        crm, actor = self.crm, self.actor
        options = {
            "kind": self._value("kind"),
            "search": self.query_one("#search", Input).value or None,
            "stage": self._value("stage"),
            "owner": self._value("owner"),
            "pool": self._value("pool"),
            "where": where,
            "sort": self._value("sort") or "newest",
        }

        query = json.dumps(options, sort_keys=True, default=str)

        def show(page: RecordPage) -> None:
            self._show(page)
            # After the paint: a read running beside it would slow the paint down.
            self.call_after_refresh(self._read_ahead, query, options, page.next)

        ahead, self.ahead = self.ahead, None
        if ahead is not None and ahead.answers(query, after):
            show(ahead.page)
            return

        def read() -> RecordPage:
            return crm.record_page(actor, after=after, limit=PAGE_SIZE, **options)

        self.call_api(read, show, group="page")

    def _read_ahead(self, query: str, options: dict[str, Any], after: str | None) -> None:
        """Read the page after ``after`` now, so that ``n`` shows it without waiting."""
        if after is None:
            return
        crm, actor = self.crm, self.actor

        def read() -> ReadAhead:
            page = crm.record_page(actor, after=after, limit=PAGE_SIZE, **options)
            return ReadAhead(query, after, page)

        def keep(ahead: ReadAhead) -> None:
            self.ahead = ahead

        self.call_api(read, keep, group="ahead")

    def _show(self, page: RecordPage) -> None:
        now = self.crm.clock()
        table = self.query_one("#records", DataTable)
        # The same page read again (back from a record, after a call) keeps the cursor's record.
        kept = self.row_record()
        table.clear()
        for r in page.records:
            holder = r.owner or (f"⟲ {r.pool}" if r.pool else "")
            extra = [value(r.fields.get(c.field)) for c in self.columns]
            stage = self.crm_app.stage_label(r.kind, r.stage)
            table.add_row(str(r.id), r.title, stage, holder, *extra,
                          ago(r.last_activity_at, now), key=str(r.id))  # fmt: skip
        if kept is not None and str(kept) in table.rows:
            table.move_cursor(row=table.get_row_index(str(kept)))
        self.paging.next = page.next
        first = (self.paging.number - 1) * PAGE_SIZE + 1
        shown = f"{first}–{first + len(page.records) - 1}" if page.records else "0"
        more = self.tr("more") + " (n)" if page.next else self.tr("end")
        status = self.tr("Page") + f" {self.paging.number} · {shown} · {more}"
        if not page.records:
            status = self.tr("No records.")
        # Its size is fixed: no layout of the whole screen for a new page line.
        self.query_one("#page-status", Static).update(status, layout=False)

    def _restart(self) -> None:
        self.paging = Paging()
        self.reload()

    def on_select_changed(self, event: Select.Changed) -> None:
        """A new kind changes the columns and stages; any filter starts from page 1."""
        if not self._ready:
            return
        if event.select.id == "kind":
            self._reset_columns()
            self._fill_stages()
        self._restart()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Search as the operator types, once they pause."""
        if event.input.id != "search":
            return
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY, self._restart)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the search or field filter applies it at once and goes to the list."""
        if self._search_timer is not None:
            self._search_timer.stop()
        self._restart()
        self.query_one("#records", DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row opens the record."""
        event.stop()
        if event.row_key.value:
            self._open(int(event.row_key.value))

    def action_open(self) -> None:
        """Open the highlighted record."""
        record_id = self.row_record()
        if record_id is not None:
            self._open(record_id)

    def _open(self, record_id: int) -> None:
        """Open a record; ``]`` and ``[`` there step through this page in its order."""
        table = self.query_one("#records", DataTable)
        ids = [int(str(row.key.value)) for row in table.ordered_rows if row.key.value]
        self.app.push_screen(RecordScreen(record_id, list_ids=ids))

    def row_record(self) -> int | None:
        """The id of the highlighted record."""
        table = self.query_one("#records", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key else None

    def after_row_action(self) -> None:
        """Read the shown page again, as it is now."""
        self.ahead = None
        self.reload(self.paging.starts[-1])

    # -- saved filters -------------------------------------------------------------

    def current_filter(self) -> dict[str, str]:
        """What the list filters on now, as a saved filter holds it."""
        out = {
            "kind": self._value("kind"),
            "search": self.query_one("#search", Input).value.strip(),
            "stage": self._value("stage"),
            "owner": self._value("owner"),
            "pool": self._value("pool"),
            "where": self.query_one("#where", Input).value.strip(),
            "sort": self._value("sort"),
        }
        return {k: str(v) for k, v in out.items() if v}

    def action_saved_filters(self) -> None:
        """List the operator's saved filters: recall one by its number, or save this one."""
        crm, actor = self.crm, self.actor

        def pick(filters: list[SavedFilterView]) -> None:
            self.crm_app.open_dialog(
                SavedFiltersDialog(filters, self.current_filter()), self.recall
            )

        self.call_api(lambda: crm.list_filters(actor), pick, group="filters")

    def recall(self, saved: SavedFilterView | None) -> None:
        """Set the list's filters to ``saved``'s and show its first page."""
        if saved is None:
            return
        wanted = saved.filters
        kinds: Select[Any] = self.query_one("#kind", Select)
        if wanted.get("kind") not in kinds._legal_values:
            self.notify(self.tr("Not offered here any more: {what}", what=wanted.get("kind")),
                        severity="warning")  # fmt: skip
            return
        if wanted.get("kind") != self._value("kind"):
            with self.prevent(Select.Changed):
                kinds.value = wanted["kind"]
            self._reset_columns()
            self._fill_stages()
        missing = []
        with self.prevent(Select.Changed, Input.Changed):
            for name in ("stage", "owner", "pool", "sort"):
                select: Select[Any] = self.query_one(f"#{name}", Select)
                choice = wanted.get(name)
                if choice is None:
                    if name != "sort":
                        select.clear()
                    continue
                if choice in select._legal_values:
                    select.value = choice
                else:
                    missing.append(f"{name}={choice}")
            self.query_one("#search", Input).value = wanted.get("search", "")
            self.query_one("#where", Input).value = wanted.get("where", "")
        if missing:
            self.notify(self.tr("Not offered here any more: {what}", what=", ".join(missing)),
                        severity="warning")  # fmt: skip
        self._restart()
        self.query_one("#records", DataTable).focus()

    def action_search(self) -> None:
        """Put the cursor in the search box."""
        self.query_one("#search", Input).focus()

    def action_next_page(self) -> None:
        """The page after this one, if there is one."""
        if self.paging.next is None:
            return
        self.paging.starts.append(self.paging.next)
        self.reload(self.paging.next)

    def action_previous_page(self) -> None:
        """The page before this one."""
        if self.paging.number == 1:
            return
        self.paging.starts.pop()
        self.reload(self.paging.starts[-1])

    def action_sort(self) -> None:
        """The next sort order."""
        select = self.query_one("#sort", Select)
        current = SORTS.index(str(select.value)) if select.value in SORTS else 0
        select.value = SORTS[(current + 1) % len(SORTS)]

    def action_clear(self) -> None:
        """Drop the search and every filter but the kind."""
        self.query_one("#search", Input).value = ""
        self.query_one("#where", Input).value = ""
        for name in ("stage", "owner", "pool"):
            self.query_one(f"#{name}", Select).clear()
        self._restart()
        self.query_one("#records", DataTable).focus()

    def palette_commands(self) -> Iterable[SystemCommand]:
        """This screen's actions for the command palette."""
        yield SystemCommand(self.tr("Search"), "/", self.action_search)
        yield SystemCommand(self.tr("Next page"), "n", self.action_next_page)
        yield SystemCommand(self.tr("Previous page"), "p", self.action_previous_page)
        yield SystemCommand(self.tr("Sort"), "s", self.action_sort)
        yield SystemCommand(self.tr("Clear filters"), "escape", self.action_clear)
        yield SystemCommand(self.tr("Log activity"), "a", self.action_log_activity)
        yield SystemCommand(self.tr("Add task"), "t", self.action_add_task)
        yield SystemCommand(self.tr("Saved filters"), "f", self.action_saved_filters)
        yield SystemCommand(self.tr("Open"), "enter, o", self.action_open)
        yield SystemCommand(self.tr("Refresh"), "f5", self.action_refresh)
