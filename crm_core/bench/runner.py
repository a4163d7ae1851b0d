"""One ``crm bench`` run: the files it works on and the order of its steps."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from crm_core.bench import bundle, data, figures, importing, screens, startup
from crm_core.bench.report import Check, Figure, Report
from crm_core.db import create_database, drop_database, make_engine, server_engine
from crm_core.errors import InvalidInput
from crm_core.i18n import _

NAIVE_SAMPLE = 2_000  # leads the one-by-one assignment baseline handles before scaling
GENERATE_MAX_SECONDS = 60.0


@dataclass(frozen=True)
class Params:
    """The sizes of a run and where its database goes."""

    records: int = 1_000_000
    operators: int = 50
    new: int = 100_000
    db: Path | None = None
    keep: bool = False
    import_rows: int | None = None  # lead rows of the import figure; None: as many as records
    server: str | None = None  # a PostgreSQL server's URL: the run makes its databases there


class Workspace:
    """The files of one run: the database, its twins for the baselines, the workflow file."""

    def __init__(self, db: Path | None) -> None:
        self.temp: Path | None = None
        if db is None:
            self.temp = Path(tempfile.mkdtemp(prefix="crm-bench-"))
            db = self.temp / "crm.db"
        elif db.exists():
            raise InvalidInput(
                _("{db} exists: crm bench builds a fresh database; pick a new path", db=db)
            )
        self.main = db
        self.files = [db]

    def path(self, suffix: str) -> Path:
        """A file next to the database, removed with it."""
        path = self.main.with_name(self.main.name + suffix)
        self.files.append(path)
        return path

    @property
    def url(self) -> str:
        """The database's URL."""
        return f"sqlite:///{self.main}"

    def database(self, suffix: str) -> str:
        """The URL of another database of the run (a new file, created on first connection)."""
        return f"sqlite:///{self.path(suffix + '.db')}"

    def copy_of(self, url: str, suffix: str) -> str:
        """The URL of a copy of the database at ``url`` as it is now (nobody may be connected)."""
        source, target = Path(url.removeprefix("sqlite:///")), self.path(suffix + ".db")
        for side in ("", "-wal"):
            if Path(f"{source}{side}").exists():
                shutil.copyfile(f"{source}{side}", f"{target}{side}")
        return f"sqlite:///{target}"

    def twin(self, suffix: str) -> str:
        """The URL of a copy of the main database as it is now."""
        return self.copy_of(self.url, suffix)

    def remove(self) -> None:
        """Delete every file of the run (and the temporary directory it made)."""
        for path in self.files:
            for side in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{side}").unlink(missing_ok=True)
        if self.temp is not None:
            self.temp.rmdir()


class ServerWorkspace(Workspace):
    """A run on a PostgreSQL server: databases of its own there (twins are copies made with
    ``CREATE DATABASE … TEMPLATE``), its other files in a temporary directory."""

    def __init__(self, server_url: str) -> None:
        self.server = server_engine(server_url)
        self.name = f"crm_bench_{uuid.uuid4().hex[:12]}"
        try:
            self._url = create_database(self.server, self.name)
        except InvalidInput:
            self.server.dispose()
            raise
        self.databases = [self.name]
        super().__init__(None)  # the temporary directory of the run's other files

    @property
    def url(self) -> str:
        """The database's URL."""
        return self._url

    def database(self, suffix: str) -> str:
        """The URL of another, empty, database of the run on the server."""
        name = self._named(suffix)
        return create_database(self.server, name)

    def copy_of(self, url: str, suffix: str) -> str:
        """The URL of a copy of the database at ``url`` as it is now (nobody may be connected)."""
        template = make_url(url).database
        return create_database(self.server, self._named(suffix), template=template)

    def _named(self, suffix: str) -> str:
        name = self.name + suffix.replace(".", "_").replace("-", "_")
        self.databases.append(name)
        return name

    def remove(self) -> None:
        """Drop every database of the run, then delete its files."""
        for name in self.databases:
            drop_database(self.server, name)
        self.server.dispose()
        super().remove()

    def kept(self) -> list[str]:
        """What ``--keep`` leaves: the databases, by URL without the password."""
        return [self.server.url.set(database=n).render_as_string() for n in self.databases]


def environment() -> dict[str, Any]:
    """The machine and versions, and how busy the machine already is."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "load_average": ", ".join(f"{n:.2f}" for n in os.getloadavg()),
    }


def run(params: Params, log: Callable[[str], None]) -> Report:
    """Build the database, measure every figure against its baseline, and report.

    ``log`` hears about each step as it starts. The files are removed at the
    end unless ``params.keep``. With ``params.server`` the databases are new
    ones on that PostgreSQL server.
    """
    env = environment()
    workspace = ServerWorkspace(params.server) if params.server else Workspace(params.db)
    try:
        found, checks = _measure(workspace, params, log)
        imported, import_checks = _import(workspace, params, log)
        found, checks = [*found, *imported], [*checks, *import_checks]
        if params.server:
            env["postgresql"] = _server_version(workspace.url)
        deals = bundle.deal_count(params.records)
        log(f"import bundle: {deals:,} deals on a fresh database, then its rows stored again")
        moved, moved_checks = bundle.measure(workspace, params.records)
        found, checks = [*found, *moved], [*checks, *moved_checks]
    finally:
        if params.keep:
            kept = workspace.kept() if isinstance(workspace, ServerWorkspace) else []
            log("kept " + ", ".join([*kept, *(str(p) for p in workspace.files)]))
        else:
            workspace.remove()
    sizes = {"records": params.records, "operators": params.operators, "new": params.new}
    return Report(sizes, env, found, checks)


def _server_version(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


def _measure(
    ws: Workspace, params: Params, log: Callable[[str], None]
) -> tuple[list[Figure], list[Check]]:
    """The steps in order: each write figure gets a twin of the database as it is just before."""
    where = ws.url.split("@")[-1]  # no user or password in the log
    log(f"creating {where}: admin, {params.operators} operators, pool, workflow (API)")
    main: Path | str = ws.url if isinstance(ws, ServerWorkspace) else ws.main
    setup = data.create(
        main, ws.path(".workflow.yaml"), params.operators, params.records, params.new
    )
    log(f"generating {params.records:,} owned leads")
    base_seconds, base = figures.timed(lambda: data.add_records(setup, params.records, owned=True))
    log(f"sweep: {base.idle:,} idle leads; the UPDATE baseline on a twin, then crm.sweep")
    sweep, checks = figures.sweep(setup, ws.twin(".sweep-twin"), base.idle)
    upkeep = [_maintenance(setup, "the sweep", log)]
    log("reports: funnel, win rate, conversion by source, follow-up, growth")
    reports, report_checks = figures.reports(setup, params.records, base.idle)
    log(f"adding {params.new:,} unowned leads")
    new_seconds, fresh = figures.timed(lambda: data.add_records(setup, params.new, owned=False))
    log("assign: crm.assign, then the one-by-one baseline on a twin")
    sample = min(NAIVE_SAMPLE, params.new)
    assign, assign_checks = figures.assign(setup, ws.twin(".assign-twin"), fresh.ids, sample)
    upkeep.append(_maintenance(setup, "the assignment", log))
    log("latency: why and pool_page, warm, then one cold `crm record why`")
    latency, latency_checks = figures.latency(setup, fresh.ids[0], base.idle)
    cold, cold_check = figures.cold_cli(setup, fresh.ids[0])
    log("start-up: `crm --help` and `crm record show` against `python -c pass`")
    starts, start_checks = startup.measure(setup, fresh.ids[0])
    log("tui: start-up to My work painted, then key n through pages of the lead list")
    tui, tui_checks = screens.measure(setup, params.records + params.new)
    generate = _generation(params, base_seconds + new_seconds)
    found = [generate, sweep, assign, *latency, cold, *starts, *tui, *reports]
    found += [f for f in upkeep if f is not None]
    checks = [*checks, *assign_checks, *latency_checks, cold_check, *start_checks, *tui_checks]
    checks += report_checks
    return found, checks


def _import(
    ws: Workspace, params: Params, log: Callable[[str], None]
) -> tuple[list[Figure], list[Check]]:
    """The import figures, on a fresh database of its own (people and workflow, no leads)."""
    rows = params.import_rows or params.records
    log(f"import: a fresh database, {rows:,} lead rows written to CSV")
    fresh = ws.database(".import")
    setup = data.create(fresh, ws.path(".import.workflow.yaml"), params.operators, rows, 0)
    # Both baselines start from the fresh database, as the import does.
    twin, floor = ws.copy_of(fresh, ".import-orm"), ws.copy_of(fresh, ".import-floor")
    csv_path = ws.path(".import.csv")
    emails = importing.write_csv(csv_path, rows)
    log(
        f"import: crm.import_records, then {importing.sample_size(rows):,} rows via the ORM, "
        "then the storage floor"
    )
    found, checks = importing.measure(setup, twin, floor, csv_path, rows, emails)
    if isinstance(ws, ServerWorkspace):
        log(f"import: the same {rows:,} rows into a fresh SQLite database, for comparison")
        compared, check = importing.against_sqlite(
            found[0], ws.path(".sqlite-import.db"), ws.path(".sqlite-import.workflow.yaml"),
            params.operators, csv_path, rows,
        )  # fmt: skip
        found, checks = [*found, compared], [*checks, check]
    return found, checks


def _maintenance(setup: data.Setup, after: str, log: Callable[[str], None]) -> Figure | None:
    """On PostgreSQL, what ``crm worker`` does after a tick when autovacuum is off
    (:meth:`Crm.maintain`), timed, so that the figures after it see the tables as operators
    would; None on SQLite, where there is nothing to do."""
    if not setup.on_postgresql:
        return None
    log(f"maintenance after {after}: what the worker does when autovacuum is off")
    crm = data.open_crm(setup.url)
    try:
        seconds, report = figures.timed(crm.maintain)
    finally:
        crm.close()
    return Figure(
        f"maintenance after {after}",
        seconds,
        None,
        note=f"crm.maintain() as the worker runs it after a tick: {report.summary()}",
    )


def _generation(params: Params, seconds: float) -> Figure:
    """The data generation figure: no baseline, a time target."""
    return Figure(
        f"generate {params.records:,} + {params.new:,} leads",
        seconds,
        None,
        max_seconds=GENERATE_MAX_SECONDS,
        note="INSERT … SELECT from recursive CTEs: records, their phones' dedupe keys, their "
        "create journal rows; people and workflow (API) not counted",
    )
