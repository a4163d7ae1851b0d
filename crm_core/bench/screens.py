"""The TUI's figures: start-up to the first painted list, and a key press to the next page.

Both run the real :class:`~crm_core.tui.app.CrmApp` headless (Textual's test
driver), so layout and painting are counted; only the terminal's own drawing
is not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from time import perf_counter
from typing import TYPE_CHECKING, Any

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header

from crm_core.bench.data import ADMIN, Setup, open_crm
from crm_core.bench.figures import percentile
from crm_core.bench.report import Check, Figure

if TYPE_CHECKING:
    from crm_core.tui.app import CrmApp

SIZE = (120, 40)
START_MAX_SECONDS = 0.3
PAGE_MAX_SECONDS = 0.05
PAGE_PRESSES = 20
WAIT_SECONDS = 60.0  # for a paint that should take milliseconds


class _Bare(App[None]):
    """The baseline: a Textual app with one table of 50 rows and nothing behind it."""

    def compose(self) -> ComposeResult:
        yield Header()
        table: DataTable[str] = DataTable()
        table.add_columns("#", "title", "stage", "owner")
        for i in range(50):
            table.add_row(str(i), f"title {i}", "new", "op")
        yield table
        yield Footer()


class _Paints:
    """When each screen update reached the (headless) terminal, and what it showed.

    ``Pilot`` can wait for messages to be handled, but a screen is drawn by a
    timer after that; only the compositor's refresh says the rows are on the
    terminal.
    """

    def __init__(self) -> None:
        self.seen: list[tuple[float, Any]] = []
        self.probe: Callable[[App[Any]], Any] = lambda app: None

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Log every screen's refreshes while the block runs."""
        original = Screen._compositor_refresh
        log = self

        def refresh(screen: Screen[Any]) -> None:
            original(screen)
            log.seen.append((perf_counter(), log.probe(screen.app)))

        Screen._compositor_refresh = refresh  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            Screen._compositor_refresh = original  # type: ignore[method-assign]

    async def first(self, after: float, shows: Callable[[Any], bool], what: str) -> float:
        """The time of the first refresh since ``after`` whose probe ``shows`` accepts."""
        while perf_counter() - after < WAIT_SECONDS:
            for at, shown in self.seen:
                if at > after and shows(shown):
                    return at
            await asyncio.sleep(0.0005)
        raise RuntimeError(f"the TUI never painted {what} in {WAIT_SECONDS:.0f} s")


async def _bare_start() -> float:
    paints = _Paints()
    paints.probe = lambda app: len(app.screen.query(DataTable))
    start = perf_counter()
    with paints.watching():
        app = _Bare()
        async with app.run_test(size=SIZE):
            return await paints.first(start, bool, "the bare table") - start


def _rows(app: App[Any], table_id: str) -> int:
    return int(app.screen.query_one(table_id, DataTable).row_count)


def _first_id(app: App[Any]) -> Any:
    """The first record id the records list shows, if that is the screen."""
    tables = app.screen.query("#records")
    table = tables.first(DataTable) if tables else None
    return table.get_row_at(0)[0] if table is not None and table.row_count else None


async def _tui(setup: Setup, operator: str, presses: int) -> dict[str, Any]:
    """Start the TUI as ``operator``, then press ``n`` ``presses`` times on the admin's leads."""
    from crm_core.tui.app import CrmApp  # Textual screens load only for this figure

    out: dict[str, Any] = {}
    paints = _Paints()
    paints.probe = lambda app: app.screen.query("#queue") and _rows(app, "#queue")
    start = perf_counter()
    crm = open_crm(setup.url)
    try:
        me = next(u for u in crm.list_users(operator) if u.name == operator)
        app = CrmApp(crm, me, tz=UTC, poll_seconds=3600)
        with paints.watching():
            async with app.run_test(size=SIZE):
                painted = await paints.first(start, bool, f"{operator}'s My work with records")
                out["start"] = painted - start
                out["queue_rows"] = _rows(app, "#queue")
        admin = next(u for u in crm.list_users(ADMIN) if u.name == ADMIN)
        paints.probe = _first_id
        with paints.watching():
            app = CrmApp(crm, admin, tz=UTC, poll_seconds=3600)
            out.update(await _page_through(app, paints, presses))
    finally:
        crm.close()
    return out


def _other_than(shown: Any) -> Callable[[Any], bool]:
    """Accepts a first row that is there and is not ``shown``."""
    return lambda first: first is not None and first != shown


async def _page_through(app: CrmApp, paints: _Paints, count: int) -> dict[str, Any]:
    """Press ``n`` on the admin's lead list, timing each press until its page is painted."""
    from crm_core.tui.screens.records import PAGE_SIZE

    crm = app.crm
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await app.settled()
        await pilot.pause()
        table = app.screen.query_one("#records", DataTable)
        table.focus()
        presses: list[float] = []
        cold: list[float] = []
        api: list[float] = []
        mismatches = 0
        for i in range(count):
            # Every other press finds its page not read ahead (as when keys come
            # faster than the database): that one waits for the read.
            ahead = i % 2 == 0
            if not ahead:
                app.screen.ahead = None  # type: ignore[attr-defined]
            cursor = app.screen.paging.next  # type: ignore[attr-defined]
            shown = table.get_row_at(0)[0]
            began = perf_counter()
            # Pilot.press would also wait for the CPU to idle (20 ms steps): time the key alone.
            app.simulate_key("n")
            painted = await paints.first(began, _other_than(shown), "the next page")
            (presses if ahead else cold).append(painted - began)
            await app.settled()  # the next page read ahead, as while the operator reads
            await pilot.pause()
            began = perf_counter()
            page = crm.record_page(ADMIN, kind="lead", after=cursor, limit=PAGE_SIZE)
            api.append(perf_counter() - began)
            shown_ids = [table.get_row_at(row)[0] for row in range(table.row_count)]
            mismatches += shown_ids != [str(r.id) for r in page.records]
        return {
            "presses": presses,
            "cold": cold,
            "api": api,
            "mismatches": mismatches,
            "page": app.screen.paging.number,  # type: ignore[attr-defined]
        }


def measure(setup: Setup, records: int) -> tuple[list[Figure], list[Check]]:
    """Start-up to the first list (against a bare Textual app) and ``n`` to the next page
    (against the same page read through the API alone), on ``records`` leads."""
    bare = asyncio.run(_bare_start())
    operator = setup.members[0].name
    from crm_core.tui.screens.records import PAGE_SIZE

    # Every press needs a page after the shown one.
    count = min(2 * PAGE_PRESSES, (records - 1) // PAGE_SIZE)
    found = asyncio.run(_tui(setup, operator, count))
    presses, cold, api = found["presses"], found["cold"], found["api"]
    figures = [
        Figure(
            f"tui start as {operator} to My work painted",
            found["start"],
            bare,
            max_seconds=START_MAX_SECONDS,
            note="CRM opened, first screen composed, reminders and queue read and painted "
            "(headless); baseline: a bare Textual app with a 50-row table",
        ),
        *(
            Figure(
                f"tui key n to the next page of {records:,} leads p{pct}",
                percentile(presses, pct),
                percentile(api, pct),
                max_seconds=PAGE_MAX_SECONDS,
                note=f"{len(presses)} presses as admin, each page read ahead while the "
                "one before was shown; baseline: record_page alone",
            )
            for pct in (50, 95)
            if presses
        ),
        *(
            Figure(
                f"tui key n, page not read ahead, p{pct}",
                percentile(cold, pct),
                percentile(api, pct),
                note=f"{len(cold)} presses as admin, each reading its page after the key",
            )
            for pct in (50, 95)
            if cold
        ),
    ]
    checks = [
        Check("tui queue shows the operator's records", True, found["queue_rows"] > 0),
        Check("tui paged forward", count + 1, found["page"]),
        Check("tui pages that differ from record_page's", 0, found["mismatches"]),
    ]
    return figures, checks
