"""The figures: each API call timed against a baseline measured in the same run.

A write figure and its baseline start from twin files (the database copied
while no connection is open), so both do the same work on the same rows; the
checks that come with each figure prove they did.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from datetime import timedelta
from functools import partial
from math import ceil
from pathlib import Path
from time import perf_counter
from typing import Any, TypeVar

from sqlalchemy import func, select, text
from sqlmodel import col

from crm_core import records
from crm_core.api import Crm
from crm_core.assign.strategies import SmoothWeighted
from crm_core.bench.data import ADMIN, KIND, NOW, POOL, RETURN_DAYS, STAMP, Setup, open_crm
from crm_core.bench.report import Check, Figure
from crm_core.db import make_engine, transaction
from crm_core.models import Record
from crm_core.plugins import ENTRY_POINT_GROUP
from crm_core.records import WriteContext

T = TypeVar("T")

SWEEP_MAX_RATIO = 2.0
ASSIGN_MAX_SECONDS = 3.0
ASSIGN_MAX_RATIO = 0.1  # at least 10x faster than one ORM object and one commit at a time
LATENCY_MAX_SECONDS = 0.1
LATENCY_CALLS = 30
WARMUP_CALLS = 3
PAGE = 50

_SWEEP = """
UPDATE record SET owner_id = NULL, pool_id = {pool}, assigned_at = NULL, rotations = 0,
                  updated_at = {now}, version = version + 1
WHERE kind = {kind} AND owner_id IS NOT NULL AND archived_at IS NULL
  AND COALESCE(last_activity_at, created_at) < {threshold}
"""
SWEEP_SQL = {
    "sqlite": _SWEEP.format(pool=":pool", now=":now", kind=":kind", threshold=":threshold"),
    "postgresql": _SWEEP.format(
        pool="%(pool)s", now="%(now)s", kind="%(kind)s", threshold="%(threshold)s"
    ),
}
"""The sweep's returns as one hand-written UPDATE, in each driver's parameter style."""
CLI = "from crm_core.cli.main import run; run()"  # what the `crm` console script runs


def timed(call: Callable[[], T]) -> tuple[float, T]:
    """Run ``call`` once; return the wall-clock seconds it took and its result."""
    start = perf_counter()
    result = call()
    return perf_counter() - start, result


def sample(call: Callable[[], object], calls: int) -> list[float]:
    """The seconds of ``calls`` runs of ``call``, after a few untimed ones that warm caches."""
    for _ in range(WARMUP_CALLS):
        call()
    return [timed(call)[0] for _ in range(calls)]


def percentile(values: list[float], pct: int) -> float:
    """The nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, ceil(pct / 100 * len(ordered)) - 1)]


def _opened(db: Path | str) -> Crm:
    """The CRM on ``db``, its schema already checked: that first-call cost is not timed."""
    crm = open_crm(db)
    crm.list_workflows(ADMIN)
    return crm


def sweep(setup: Setup, twin: str, idle: int) -> tuple[Figure, list[Check]]:
    """``crm.sweep`` against the same returns written as one ``UPDATE`` on ``twin``."""
    baseline, changed = _update_baseline(twin, setup.pool_id)
    crm = _opened(setup.url)
    try:
        seconds, results = timed(lambda: crm.sweep(None))
    finally:
        crm.close()
    returned = sum(r.returned for r in results)
    figure = Figure(
        f"sweep: return {returned:,} idle leads to the pool",
        seconds,
        baseline,
        max_ratio=SWEEP_MAX_RATIO,
        note="baseline: one UPDATE … WHERE COALESCE(last_activity_at, created_at) < ? through "
        "the driver on a twin database; the sweep also journals each return and records who "
        "held it",
    )
    checks = [
        Check("sweep returned = rows the UPDATE baseline changed", changed, returned),
        Check("sweep returned = idle leads generated", idle, returned),
    ]
    return figure, checks


def _update_baseline(url: str, pool_id: int) -> tuple[float, int]:
    """Time the returns as one hand-written ``UPDATE``; return the seconds and rows changed.

    The connection is the driver's own, from an engine made like the CRM's so
    that it has the same settings (on SQLite: WAL, synchronous, foreign keys).
    """
    threshold = NOW - timedelta(days=RETURN_DAYS)
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    # SQLite compares the stored text; PostgreSQL compares timestamps.
    params = {"pool": pool_id, "now": NOW.strftime(STAMP) if sqlite else NOW, "kind": KIND,
              "threshold": threshold.strftime(STAMP) if sqlite else threshold}  # fmt: skip
    try:
        with closing(engine.raw_connection()) as conn:
            cursor = conn.cursor()
            start = perf_counter()
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(SWEEP_SQL[engine.dialect.name], params)
            changed = cursor.rowcount
            if sqlite:
                cursor.execute("COMMIT")
            else:
                conn.commit()
            return perf_counter() - start, changed
    finally:
        engine.dispose()


def assign(setup: Setup, twin: str, new: range, sample_size: int) -> tuple[Figure, list[Check]]:
    """``crm.assign`` of the ``new`` leads against assigning them one by one on ``twin``.

    The one-by-one baseline assigns the first ``sample_size`` leads and is
    scaled to all of them.
    """
    crm = _opened(setup.url)
    try:
        seconds, results = timed(lambda: crm.assign(None))
    finally:
        crm.close()
    assigned = sum(r.assigned for r in results)
    some = new[:sample_size]
    naive, done = _naive_assign(setup, twin, some)
    baseline = naive / len(some) * len(new)
    figure = Figure(
        f"assign {len(new):,} new leads (weighted, caps)",
        seconds,
        baseline,
        max_seconds=ASSIGN_MAX_SECONDS,
        max_ratio=ASSIGN_MAX_RATIO,
        note=f"baseline: {len(some):,} leads one ORM object and one commit at a time "
        f"(records.change) took {naive:.2f} s, scaled to {len(new):,}; "
        f"speedup {baseline / seconds:.1f}x",
    )
    checks = [
        Check("assign gave every new lead an owner", len(new), assigned),
        Check("the one-by-one baseline gave its sample owners", len(some), done),
    ]
    return figure, checks


def _naive_assign(setup: Setup, db: str, ids: range) -> tuple[float, int]:
    """Assign ``ids`` as a naive loop would; return the seconds and how many got an owner.

    Each lead: a transaction, the ORM object loaded, an owner picked by the
    same smooth weighted strategy, :func:`crm_core.records.change`, a commit.
    """
    crm = _opened(db)
    strategy = SmoothWeighted(setup.members, {})
    try:
        start = perf_counter()
        for record_id in ids:
            with transaction(crm.engine) as session:
                ctx = WriteContext(session, crm.registry, crm.host, None, "bench:one-by-one",
                                   crm.clock())  # fmt: skip
                record = session.get(Record, record_id)
                member = strategy.pick(setup.members, {})
                assert record is not None and member is not None
                record.assigned_at = ctx.now
                records.change(ctx, record, "assign", owner_id=member.user_id)
        seconds = perf_counter() - start
        owned = select(func.count()).where(
            col(Record.id).between(ids[0], ids[-1]), col(Record.owner_id).is_not(None)
        )
        with crm.engine.connect() as conn:
            done = int(conn.execute(owned).scalar_one())
    finally:
        crm.close()
    return seconds, done


def latency(setup: Setup, record_id: int, pooled: int) -> tuple[list[Figure], list[Check]]:
    """Warm ``why`` and ``pool_page`` calls, p50 and p95, against a ``SELECT 1`` round trip."""
    crm = _opened(setup.url)

    def ping() -> None:
        with crm.engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()

    try:
        base = sample(ping, LATENCY_CALLS)
        why = sample(lambda: crm.why(ADMIN, record_id), LATENCY_CALLS)
        page = sample(lambda: crm.pool_page(ADMIN, POOL, limit=PAGE), LATENCY_CALLS)
        view = crm.why(ADMIN, record_id)
        first = crm.pool_page(ADMIN, POOL, limit=PAGE)
    finally:
        crm.close()
    calls = [(f"why #{record_id}", why), (f"pool_page '{POOL}', first {PAGE}", page)]
    figures = [
        Figure(f"{name} p{pct}", percentile(times, pct), percentile(base, pct),
               max_seconds=LATENCY_MAX_SECONDS)
        for name, times in calls
        for pct in (50, 95)
    ]  # fmt: skip
    figures[0].note = (
        f"{LATENCY_CALLS} warm calls each; baseline: SELECT 1 through the same engine, "
        "connection checkout included"
    )
    checks = [
        Check("why names an owner", True, view.owner is not None),
        Check("pool_page total = leads returned", pooled, first.total),
        Check("pool_page first page is full", min(PAGE, pooled), len(first.entries)),
    ]
    return figures, checks


def cold_cli(setup: Setup, record_id: int) -> tuple[Figure, Check]:
    """One ``crm record why`` in a new process, against starting Python and importing the CLI."""
    imports = [sys.executable, "-c", "import crm_core.cli.main"]
    baseline, _ = timed(lambda: subprocess.run(imports, capture_output=True, check=False))
    argv = [sys.executable, "-c", CLI, "--db", setup.url, "--as", ADMIN,
            "record", "why", str(record_id)]  # fmt: skip
    # The bench's database has the leads plugin's schema only; other installed plugins sit out.
    others = {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    env = {**os.environ, "CRM_DISABLED_PLUGINS": ",".join(sorted(others - {"leads"}))}
    seconds, done = timed(lambda: subprocess.run(argv, capture_output=True, check=False, env=env))
    figure = Figure(
        f"why #{record_id}, cold: `crm record why` in a new process",
        seconds,
        baseline,
        note="report only, Python start-up included; "
        "baseline: python -c 'import crm_core.cli.main'",
    )
    return figure, Check("`crm record why` exit code", 0, done.returncode)


REPORT_MAX_SECONDS = 1.0
REPORTS = [
    ("funnel", None),
    ("win_rate_by_owner", None),
    ("conversion_by_field", "source"),
    ("follow_up_compliance", None),
    ("customer_growth", None),
]


def reports(setup: Setup, leads: int, returned: int) -> tuple[list[Figure], list[Check]]:
    """Five core reports over every lead, each run once, against ``SELECT count(*)``.

    Run after the sweep, so a third of the leads are in the pool (``returned``).
    """
    crm = _opened(setup.url)

    def count() -> int:
        with crm.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM record")).scalar_one())

    def run(name: str, by: str | None) -> Any:
        return crm.run_report(ADMIN, name, kind=KIND, by=by)

    try:
        count()  # reads the table once, so that neither side pays for a cold cache
        baseline, _ = timed(count)
        runs = {name: (by, *timed(partial(run, name, by))) for name, by in REPORTS}
    finally:
        crm.close()
    figures = [
        Figure(f"report {name}" + (f" --by {by}" if by else ""), seconds, baseline,
               max_seconds=REPORT_MAX_SECONDS)
        for name, (by, seconds, _result) in runs.items()
    ]  # fmt: skip
    figures[0].note = "each run once through crm.run_report as the admin; "
    figures[0].note += "baseline: SELECT count(*) FROM record through the same engine"
    total = {name: _column_sum(runs[name][2], "records")
             for name in ("funnel", "win_rate_by_owner", "conversion_by_field")}  # fmt: skip
    growth = runs["customer_growth"][2].rows
    follow_up = runs["follow_up_compliance"][2]
    checks = [
        Check("funnel counts every lead", leads, total["funnel"]),
        Check("win_rate_by_owner counts every lead", leads, total["win_rate_by_owner"]),
        Check("conversion_by_field counts every lead", leads, total["conversion_by_field"]),
        Check("customer_growth's running total = leads", leads, growth[-1][-1] if growth else 0),
        Check("follow_up_compliance open = leads not returned", leads - returned,
              _column_sum(follow_up, "open")),
    ]  # fmt: skip
    return figures, checks


def _column_sum(result: Any, column: str) -> int:
    """The sum of a report's column (None counted as 0)."""
    at = result.columns.index(column)
    return sum(row[at] or 0 for row in result.rows)
