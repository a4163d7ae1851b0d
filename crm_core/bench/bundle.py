"""The bundle figure: ``crm import bundle.yaml`` of 5 teams, 50 users, 100 accounts and
10,000 deals (each with a won, lost or open stage and a stage history) on a fresh database.

The accounts are leads (the bench runs with the leads plugin only). The
baseline stores the same finished rows again (teams, users, records, their
dedupe keys, deals and every journal row the import wrote) into a copy of
the fresh database with plain ``executemany``, one statement a table and one
commit: what SQLite needs to hold the result, without reading, linking or
checking anything. On PostgreSQL the baseline writes them with one ``COPY`` a table.
"""

from __future__ import annotations

import csv
import sqlite3
from contextlib import closing
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import text

from crm_core.bench.data import ADMIN, KIND, open_crm
from crm_core.bench.importing import copy_in, copy_out, pg_cursors
from crm_core.bench.report import Check, Figure
from crm_core.db import make_engine

if TYPE_CHECKING:
    from crm_core.bench.runner import Workspace

TEAMS = 5
USERS = 50
ACCOUNTS = 100
DEALS = 10_000
MAX_SECONDS = 10.0
TABLES = ("team", "crm_user", "record", "dedupe_key", "deal", "journal")


def deal_count(records: int) -> int:
    """Deals in the bundle: 10,000, fewer in a run of fewer records."""
    return min(DEALS, records)


def write_bundle(folder: Path, prefix: str, deals: int) -> Path:
    """The bundle's CSV files and spec in ``folder`` (names start with ``prefix``)."""

    def write(name: str, header: list[str], rows: list[list[Any]]) -> str:
        with (folder / f"{prefix}{name}").open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(rows)
        return f"{prefix}{name}"

    teams = write("teams.csv", ["name", "region"], [[f"team-{i}", f"R{i}"] for i in range(TEAMS)])
    users = write("users.csv", ["name", "email", "team"],
                  [[f"agent-{i:02d}", f"agent{i}@example.com", f"team-{i % TEAMS}"]
                   for i in range(USERS)])  # fmt: skip
    accounts = write("accounts.csv", ["external_id", "name", "phone", "owner"],
                     [[f"A{i}", f"Account {i}", f"1390000{i:04d}", f"agent-{i % USERS:02d}"]
                      for i in range(ACCOUNTS)])  # fmt: skip
    stages = ["Won", "Lost", "Engaging", "Prospecting"]
    rows = []
    for i in range(deals):
        stage = stages[i * 7 % 4]
        month = 1 + i % 12
        closed = f"{month:02d}/28/2025" if stage in ("Won", "Lost") else ""
        value = f"{1000 + i % 997}.{i % 100:02d}" if stage == "Won" else ""
        rows.append([f"D{i}", f"A{i * 31 % ACCOUNTS}", f"agent-{i * 13 % USERS:02d}", stage,
                     f"2025-{month:02d}-01", f"2025-{month:02d}-10", closed, value])  # fmt: skip
    pipeline = write("pipeline.csv", ["opportunity_id", "account", "agent", "deal_stage",
                                      "created", "engage_date", "close_date", "close_value"],
                     rows)  # fmt: skip
    spec = {"version": 1, "defaults": {"currency": "USD"}, "files": [
        {"path": teams, "entity": "team"},
        {"path": users, "entity": "user", "links": {"team": {"by": "name"}}},
        {"path": accounts, "entity": "record", "kind": KIND},
        {"path": pipeline, "entity": "deal",
         "columns": {"external_id": "opportunity_id", "record": "account", "owner": "agent",
                     "stage": "deal_stage", "created_at": "created", "closed_at": "close_date",
                     "amount": "close_value"},
         "values": {"stage": {"Won": "won", "Lost": "lost", "Engaging": "open",
                              "Prospecting": "open"}},
         "dates": {"closed_at": "%m/%d/%Y"}, "stages": {"engage_date": "open"}},
    ]}  # fmt: skip
    path = folder / f"{prefix}bundle.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def measure(ws: Workspace, records: int) -> tuple[list[Figure], list[Check]]:
    """Time the bundle import on a fresh database of the run, against storing its rows again."""
    deals = deal_count(records)
    fresh = ws.database(".bundle")
    crm = open_crm(fresh)
    try:
        crm.init(admin=ADMIN)
    finally:
        crm.close()
    twin = ws.copy_of(fresh, ".bundle-floor")  # nobody is connected to ``fresh`` now
    folder, prefix = ws.main.parent, ws.main.name + ".bundle-"
    spec = write_bundle(folder, prefix, deals)
    crm = open_crm(fresh)
    try:
        crm.list_users(ADMIN)  # the schema check is not timed
        start = perf_counter()
        report = crm.import_bundle(ADMIN, spec)
        seconds = perf_counter() - start
        verify = crm.verify_journal(ADMIN)
    finally:
        crm.close()
    for name in ("teams.csv", "users.csv", "accounts.csv", "pipeline.csv", "bundle.yaml"):
        (folder / f"{prefix}{name}").unlink()
    on_server = fresh.startswith("postgresql")
    floor, stored = (_copy_again if on_server else _store_again)(fresh, twin)
    how = "one COPY a table" if on_server else "plain executemany, one statement a table"
    figure = Figure(
        f"import bundle: {deals:,} deals, {ACCOUNTS} accounts, {USERS} users",
        seconds,
        floor,
        max_seconds=MAX_SECONDS,
        note="crm.import_bundle of 4 CSV files on a fresh database: links by name and external "
        "id, value maps, dates, stage history journaled; baseline: the same finished rows "
        f"({stored:,} in {', '.join(TABLES)}) stored again with {how}",
    )
    created = [f.created for f in report.files]
    checks = [
        Check("bundle created every row", [TEAMS, USERS, ACCOUNTS, deals], created),
        Check("bundle rejected nothing", 0, report.rejected),
        Check("the journal replays after the bundle", [], verify.differences),
    ]
    return [figure], checks


def _id_column(table: str) -> str:
    # A dedupe key has no id of its own; the import's keys belong to the records it added.
    return "record_id" if table == "dedupe_key" else "id"


def _added_rows(fresh: str) -> dict[str, str]:
    """Per table of :data:`TABLES`, the query of the rows an import added to a copy of the
    database at ``fresh``: those above its highest id."""
    engine = make_engine(fresh)
    try:
        with engine.connect() as conn:
            queries = {}
            for table in TABLES:
                column = _id_column(table)
                last = conn.execute(text(f"SELECT coalesce(max({column}), 0) FROM {table}"))
                queries[table] = f"SELECT * FROM {table} WHERE {column} > {last.scalar_one()}"
            return queries
    finally:
        engine.dispose()


def _store_again(imported: str, fresh: str) -> tuple[float, int]:
    """Store the rows the import added to ``imported`` into ``fresh`` (a copy of it before),
    on SQLite: one ``executemany`` a table and a commit.

    Returns the seconds the inserts and the commit took, and how many rows.
    """
    queries = _added_rows(fresh)
    batches = []
    with closing(sqlite3.connect(imported.removeprefix("sqlite:///"))) as after:
        for table, query in queries.items():
            cursor = after.execute(query)
            columns = [c[0] for c in cursor.description]
            rows = cursor.fetchall()
            marks = ", ".join("?" for _ in columns)
            batches.append((f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows))
    with closing(sqlite3.connect(fresh.removeprefix("sqlite:///"))) as conn:
        start = perf_counter()
        for statement, rows in batches:
            conn.executemany(statement, rows)
        conn.commit()
        seconds = perf_counter() - start
    return seconds, sum(len(rows) for _, rows in batches)


def _copy_again(imported: str, fresh: str) -> tuple[float, int]:
    """As :func:`_store_again` on PostgreSQL: each table's added rows read with ``COPY … TO
    STDOUT`` (not timed), then written with one ``COPY … FROM STDIN`` a table and a commit."""
    queries = _added_rows(fresh)
    with pg_cursors(imported, fresh) as (reader, writer, target):
        blocks = [(table, copy_out(reader, query)) for table, query in queries.items()]
        start = perf_counter()
        for table, block in blocks:
            copy_in(writer, table, block)
        target.commit()
        seconds = perf_counter() - start
    # COPY's text format is one line a row (a newline in a value is written as \n).
    return seconds, sum(block.count(b"\n") for _, block in blocks)
