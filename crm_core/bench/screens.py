"""The TUI's figures: start-up to the first painted list, and a key press to the next page.

Both run the real :class:`~crm_core.tui.app.CrmApp` headless (Textual's test
driver), so layout and painting are counted; only the terminal's own drawing
is not.
"""

from __future__ import annotations

import asyncio
from datetime import UTC
from time import perf_counter
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header

from crm_core.bench.data import ADMIN, Setup, open_crm
from crm_core.bench.figures import percentile
from crm_core.bench.report import Check, Figure

SIZE = (120, 40)
START_MAX_SECONDS = 0.3
PAGE_MAX_SECONDS = 0.05
PAGE_PRESSES = 20


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


async def _bare_start() -> float:
    start = perf_counter()
    app = _Bare()
    async with app.run_test(size=SIZE) as pilot:
        await pilot._wait_for_screen()
        return perf_counter() - start


def _rows(app: App[Any], table_id: str) -> int:
    return int(app.screen.query_one(table_id, DataTable).row_count)


async def _tui(setup: Setup, operator: str) -> dict[str, Any]:
    """Start the TUI as ``operator``, then page the admin's million records with ``n``."""
    from crm_core.tui.app import CrmApp  # Textual screens load only for this figure

    out: dict[str, Any] = {}
    start = perf_counter()
    crm = open_crm(setup.path)
    try:
        me = next(u for u in crm.list_users(operator) if u.name == operator)
        app = CrmApp(crm, me, tz=UTC, poll_seconds=3600)
        async with app.run_test(size=SIZE) as pilot:
            while _rows(app, "#queue") == 0:
                await asyncio.sleep(0.0005)
            await pilot._wait_for_screen()
            out["start"] = perf_counter() - start
            out["queue_rows"] = _rows(app, "#queue")
        admin = next(u for u in crm.list_users(ADMIN) if u.name == ADMIN)
        app = CrmApp(crm, admin, tz=UTC, poll_seconds=3600)
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
            for i in range(2 * PAGE_PRESSES):
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
                while table.row_count == 0 or table.get_row_at(0)[0] == shown:
                    await asyncio.sleep(0.0005)
                await pilot._wait_for_screen()  # the repaint the new rows asked for
                (presses if ahead else cold).append(perf_counter() - began)
                await app.settled()  # the next page read ahead, as while the operator reads
                await pilot.pause()
                began = perf_counter()
                page = crm.record_page(ADMIN, kind="lead", after=cursor, limit=50)
                api.append(perf_counter() - began)
                shown_ids = [table.get_row_at(row)[0] for row in range(table.row_count)]
                mismatches += shown_ids != [str(r.id) for r in page.records]
            out["presses"], out["cold"], out["api"] = presses, cold, api
            out["mismatches"] = mismatches
            out["page"] = app.screen.paging.number  # type: ignore[attr-defined]
    finally:
        crm.close()
    return out


def measure(setup: Setup, records: int) -> tuple[list[Figure], list[Check]]:
    """Start-up to the first list (against a bare Textual app) and ``n`` to the next page
    (against the same page read through the API alone), on ``records`` leads."""
    bare = asyncio.run(_bare_start())
    operator = setup.members[0].name
    found = asyncio.run(_tui(setup, operator))
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
                note=f"{PAGE_PRESSES} presses as admin, each page read ahead while the "
                "one before was shown; baseline: record_page alone",
            )
            for pct in (50, 95)
        ),
        *(
            Figure(
                f"tui key n, page not read ahead, p{pct}",
                percentile(cold, pct),
                percentile(api, pct),
                note=f"{PAGE_PRESSES} presses as admin, each reading its page after the key",
            )
            for pct in (50, 95)
        ),
    ]
    checks = [
        Check("tui queue shows the operator's records", True, found["queue_rows"] > 0),
        Check("tui paged forward", 2 * PAGE_PRESSES + 1, found["page"]),
        Check("tui pages that differ from record_page's", 0, found["mismatches"]),
    ]
    return figures, checks
