"""The pool screen (公海): the operator's pools, why each record came back, claims within caps."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Header, Select, Static

from crm_core.tui.base import CrmScreen
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.widgets.cells import ago, when
from crm_core.tui.widgets.footer import CrmFooter
from crm_core.tui.widgets.table import CrmTable
from crm_core.views import PoolEntry, PoolPage, PoolView, RecordView, WorkflowView


class PoolScreen(CrmScreen):
    """Records waiting in the operator's pools, newest first, a page at a time.

    Operators see the pools they belong to; managers and admins see every
    pool. Records the operator may not claim yet are marked with the moment
    they may (in the operator's time zone), and the cursor starts on one they
    may claim. Claiming goes through :meth:`crm_core.api.Crm.claim`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "claim_and_open", "Claim and open"),
        Binding("c", "claim", "Claim"),
        Binding("o", "open", "Open"),
        Binding("n,pagedown", "next_page", "Next page"),
        Binding("p,pageup", "previous_page", "Previous page"),
        Binding("f5", "refresh", "Refresh"),
    ]
    page_size = 50

    def __init__(self) -> None:
        super().__init__()
        self.pools: list[PoolView] = []
        self.stage_labels: dict[str, dict[str, dict[str, str]]] = {}  # kind -> stage -> label
        self.page: PoolPage | None = None
        # Keyset cursors: the ``before_id`` of each page shown so far (None: the first page).
        self._cursors: list[int | None] = [None]

    def compose(self) -> ComposeResult:
        """The pool chooser with the caps, the pool's records, and where the page is."""
        yield Header()
        with Horizontal(id="pool-bar"):
            yield Select[str]([], prompt=self.tr("Pool"), id="pool-choice")
            yield Static("", id="pool-allowance")
        table = CrmTable(id="pool-entries", cursor_type="row")
        table.show_enter(self.tr("Claim and open"))
        # Fixed widths: the table never reflows as pages of other lengths arrive.
        # (label, width, least): at 80 columns Title and Why keep the most.
        table.add_fixed_columns(("#", 6), (self.tr("Title"), 20, 12), (self.tr("Stage"), 12, 8),
                                (self.tr("May claim"), 11, 8),
                                (self.tr("In pool for"), 11, 6), (self.tr("Came back"), 21, 8),
                                (self.tr("Why it came back"), 30, 16))  # fmt: skip
        yield table
        yield Static("", id="pool-status", classes="hint")
        yield CrmFooter()

    def on_mount(self) -> None:
        """Find the operator's pools; the first one opens."""
        self.query_one("#pool-entries", DataTable).focus()
        crm, actor = self.crm, self.actor
        self.call_api(
            lambda: (crm.list_pools(actor, usable=True), crm.list_workflows(actor)),
            self._show_pools,
            group="pools",
        )

    @property
    def pool(self) -> str | None:
        """The name of the pool shown, if any."""
        value = self.query_one("#pool-choice", Select).value
        return value if isinstance(value, str) else None

    def _show_pools(self, found: tuple[list[PoolView], list[WorkflowView]]) -> None:
        pools, workflows = found
        self.stage_labels = {w.kind: w.stage_labels for w in workflows}
        self.pools = pools
        choice: Select[str] = self.query_one("#pool-choice", Select)
        choice.set_options((p.name, p.name) for p in self.pools)
        if not self.pools:
            choice.disabled = True
            self.query_one("#pool-status", Static).update(
                self.tr("You belong to no pool: an admin adds you in the workflow's pools.")
            )
            return
        # Setting the value posts Select.Changed, which loads the first page.
        choice.value = self.pools[0].name

    def on_screen_resume(self) -> None:
        """Back from a record or another screen: what changed there shows here."""
        self.action_refresh()

    def on_select_changed(self, event: Select.Changed) -> None:
        """Another pool chosen: start at its newest records."""
        event.stop()
        self._cursors = [None]
        self.action_refresh()

    def action_refresh(self) -> None:
        """Read the current page (and the caps) again."""
        pool, before = self.pool, self._cursors[-1]
        if pool is None:
            return
        self.call_api(
            lambda: self.crm.pool_page(self.actor, pool, limit=self.page_size, before_id=before),
            self._show_page,
            group="pool-page",
        )

    def _show_page(self, page: PoolPage) -> None:
        if not page.entries and len(self._cursors) > 1:
            # Everything on this page was claimed meanwhile: step back a page.
            self._cursors.pop()
            self.action_refresh()
            return
        self.page = page
        table = self.query_one("#pool-entries", DataTable)
        row = table.cursor_row
        table.clear()
        now = self.crm.clock()
        for e in page.entries:
            why = self.tr(e.reason or e.cause or "")
            table.add_row(str(e.record_id), e.title, self._stage(e), self._claimable(e, now),
                          ago(e.since, now), self._how(e), why,
                          key=str(e.record_id))  # fmt: skip
        if page.entries:
            table.move_cursor(row=self._landing(page.entries, row, now))
        self.query_one("#pool-allowance", Static).update(self._allowance(page.allowance))
        self._show_status()

    @staticmethod
    def _may_claim(entry: PoolEntry, now: datetime) -> bool:
        """The page says the operator may claim ``entry`` now (or its wait is over since)."""
        if entry.not_claimable_because is None:
            return True
        return entry.claimable_from is not None and entry.claimable_from <= now

    def _landing(self, entries: list[PoolEntry], row: int, now: datetime) -> int:
        """Where the cursor goes: the first row from ``row`` on the operator may claim, else
        the first such row of the page, else where it was."""
        row = min(max(row, 0), len(entries) - 1)
        mays = [i for i, e in enumerate(entries) if self._may_claim(e, now)]
        return next((i for i in mays if i >= row), mays[0] if mays else row)

    def _claimable(self, entry: PoolEntry, now: datetime) -> str:
        """The May claim cell: now, from when (the operator's local time), or not by itself."""
        if self._may_claim(entry, now):
            return "✓ " + self.tr("now")
        if entry.claimable_from is None:
            return "✗ " + self.tr("not now")
        return when(entry.claimable_from, now, self.crm_app.tz)

    def _why_not(self, entry: PoolEntry, now: datetime) -> str:
        """Why the operator may not claim ``entry`` yet, and from when, in the TUI's words."""
        left = self.page.allowance if self.page else {}
        if entry.claimable_from is None:
            return self.tr("You hold the most records this pool allows: "
                           "close or release one to claim more.")  # fmt: skip
        at = when(entry.claimable_from, now, self.crm_app.tz)
        cap = left.get("max_per_day")
        if cap is not None and left.get("claimed_today", 0) >= cap:
            return self.tr("You have made today's {n} claims: you may claim again from {at}.",
                           n=cap, at=at)  # fmt: skip
        return self.tr("You held #{id} before: you may claim it again from {at}.",
                       id=entry.record_id, at=at)  # fmt: skip

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Say why the highlighted record may not be claimed yet, if it may not."""
        event.stop()
        self._show_status()

    def _show_status(self) -> None:
        if self.page is not None:
            self.query_one("#pool-status", Static).update(self._status(self.page))

    def _stage(self, entry: PoolEntry) -> str:
        """The entry's stage as its workflow names it in the operator's language."""
        if entry.stage is None:
            return ""
        label = self.stage_labels.get(entry.kind, {}).get(entry.stage, {})
        return self.tr.label(label, entry.stage)

    def _how(self, entry: PoolEntry) -> str:
        """How a record came to the pool, from the journal row that put it there."""
        how = {
            "release": self.tr("released by its owner"),
            "return": self.tr("returned by a rule"),
            "create": self.tr("created in the pool"),
            "update": self.tr("moved here"),
        }
        return how.get(entry.how or "", entry.how or "")

    def _allowance(self, left: dict[str, Any]) -> str:
        """The caps in words: "3 of 10 claims left today · holding 12 of 250"."""
        parts = []
        if left["max_per_day"] is not None:
            n = max(left["max_per_day"] - left["claimed_today"], 0)
            parts.append(self.tr("{n} of {m} claims left today", n=n, m=left["max_per_day"]))
        else:
            parts.append(self.tr("{n} claimed today", n=left["claimed_today"]))
        if left["held"] is not None and left["max_held"] is not None:
            parts.append(self.tr("holding {n} of {m}", n=left["held"], m=left["max_held"]))
        elif left["held"] is not None:
            parts.append(self.tr("holding {n}", n=left["held"]))
        if left["reclaim_after_days"]:
            days = left["reclaim_after_days"]
            parts.append(self.tr("reclaim yours after {n} days", n=days))
        return " · ".join(parts)

    def _status(self, page: PoolPage) -> str:
        where = self.tr("Page {n}", n=len(self._cursors))
        total = self.tr("{n} in the pool", n=page.total)
        if not page.entries:
            return f"{total} · {self.tr('Nothing waits in this pool.')}"
        now = self.crm.clock()
        entry = self._highlighted()
        if entry is not None and not self._may_claim(entry, now):
            return f"{where} · {total} · #{entry.record_id}: {self._why_not(entry, now)}"
        keys = self.tr("enter claims and opens · c claims · o opens · n/p pages")
        return f"{where} · {total} · {keys}"

    def _has_next(self) -> bool:
        page = self.page
        if page is None or len(page.entries) < self.page_size:
            return False
        return (len(self._cursors) - 1) * self.page_size + len(page.entries) < page.total

    def action_next_page(self) -> None:
        """Older records of the pool."""
        if self.page is None or not self._has_next():
            self.notify(self.tr("This is the last page."))
            return
        self._cursors.append(self.page.entries[-1].record_id)
        self.action_refresh()

    def action_previous_page(self) -> None:
        """Newer records of the pool."""
        if len(self._cursors) == 1:
            self.notify(self.tr("This is the first page."))
            return
        self._cursors.pop()
        self.action_refresh()

    def _highlighted(self) -> PoolEntry | None:
        table = self.query_one("#pool-entries", DataTable)
        if self.page is None or not self.page.entries or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((e for e in self.page.entries if str(e.record_id) == key), None)

    def action_claim(self) -> None:
        """Claim the highlighted record and stay on the list: it leaves the pool, it is yours."""
        self._claim(open_it=False)

    def action_claim_and_open(self) -> None:
        """Claim the highlighted record and open it (the record claimed, whatever the list does)."""
        self._claim(open_it=True)

    def _claim(self, *, open_it: bool) -> None:
        entry = self._highlighted()
        if entry is None:
            return
        now = self.crm.clock()
        if not self._may_claim(entry, now):
            # The page says so already; the API would say it with a UTC time.
            self.notify(f"#{entry.record_id}: {self._why_not(entry, now)}", severity="warning")
            return
        record_id = entry.record_id

        def claimed(record: RecordView) -> None:
            self.notify(self.tr("Claimed #{id} {title}: it is yours now.", id=record.id,
                                title=record.title))  # fmt: skip
            if open_it:
                self.app.push_screen(RecordScreen(record.id))
            else:
                self.action_refresh()

        self.call_api(lambda: self.crm.claim(self.actor, record_id), claimed, group="claim")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row claims it and opens it."""
        event.stop()
        self.action_claim_and_open()

    def action_open(self) -> None:
        """Open the highlighted record's detail without claiming it."""
        entry = self._highlighted()
        if entry is not None:
            self.app.push_screen(RecordScreen(entry.record_id))

    def palette_commands(self) -> Iterable[SystemCommand]:
        """This screen's actions for the command palette, and a switch to each pool."""
        yield SystemCommand(self.tr("Claim and open"), "enter", self.action_claim_and_open)
        yield SystemCommand(self.tr("Claim"), "c", self.action_claim)
        yield SystemCommand(self.tr("Open"), "o", self.action_open)
        yield SystemCommand(self.tr("Next page"), "n", self.action_next_page)
        yield SystemCommand(self.tr("Previous page"), "p", self.action_previous_page)
        yield SystemCommand(self.tr("Refresh"), "f5", self.action_refresh)
        for pool in self.pools:
            yield SystemCommand(
                self.tr("Pool: {name}", name=pool.name),
                self.tr("Show the records waiting in {name}", name=pool.name),
                lambda name=pool.name: self._choose(name),
            )

    def _choose(self, name: str) -> None:
        self.query_one("#pool-choice", Select).value = name
