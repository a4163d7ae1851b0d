"""The import figure: N lead rows from a CSV file through ``crm.import_records``.

The file is realistic: Chinese names, unique mobile numbers in random order
(one in five written with spaces, dashes or ``+86``), e-mail addresses for
seven leads in ten, a source and a region. The import runs on a fresh
database (people and workflow made through the API, no records). The
baseline takes the same rows through SQLModel ORM objects, one
:func:`crm_core.records.create` per row in transactions of the same size, on
a twin of that fresh database; it handles a sample and is scaled to N.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

from sqlalchemy import text

from crm_core import records
from crm_core.api import Crm
from crm_core.bench import data
from crm_core.bench.data import ADMIN, GIVEN, KIND, REGIONS, SOURCES, SURNAMES, Setup, open_crm
from crm_core.bench.report import Check, Figure
from crm_core.db import make_engine, transaction
from crm_core.errors import Duplicate
from crm_core.records import WriteContext
from crm_core.transfer.importer import DEFAULT_BATCH
from crm_core.transfer.report import ImportReport

ORM_SAMPLE = 5_000  # rows the ORM baseline takes (a tenth of smaller files)
MAX_RATIO = 0.1  # at least 10x the rows per second of the ORM path
# The import may spend at most this much more than SQLite storing its finished rows (issue
# 16; it replaced the 100,000 rows/s target, which this schema's floor alone cannot reach).
MAX_FLOOR_RATIO = 1.25
# On PostgreSQL the floor is COPY, which writes far faster than row inserts: issue 18 asks for
# 1.5x of it there, and for the import to be at least as fast as SQLite's (MAX_SQLITE_RATIO).
MAX_COPY_FLOOR_RATIO = 1.5
MAX_SQLITE_RATIO = 1.0
PRIME = 999_999_937  # phones are 13000000000 + (i * MULTIPLIER mod PRIME): unique, shuffled
MULTIPLIER = 2_654_435_761
PINYIN = ["wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou"]
DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "example.cn"]
HEADER = ["name", "phone", "email", "source", "region"]
FLOOR_ROWS = (  # each table's imported rows of one batch (record ids ? to ?), in write order
    ("record", "id BETWEEN ? AND ? ORDER BY id"),
    ("dedupe_key", "record_id BETWEEN ? AND ? ORDER BY kind, field, value"),
    (
        "journal",
        "entity = 'record' AND action = 'create' AND record_id BETWEEN ? AND ? ORDER BY id",
    ),
)


def sample_size(rows: int) -> int:
    """How many rows the ORM baseline takes: 5,000, or a tenth of a small file."""
    return min(ORM_SAMPLE, max(rows // 10, 1))


def lead_row(i: int) -> list[str]:
    """Row ``i`` of the file (deterministic: the choices are hashes of ``i``)."""
    h = i * MULTIPLIER % PRIME
    digits = str(13_000_000_000 + h)
    shape = h % 10
    if shape == 0:
        phone = f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}"
    elif shape == 1:
        phone = f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    else:
        phone = digits
    name = SURNAMES[h % len(SURNAMES)] + GIVEN[h // 100 % len(GIVEN)]
    email = f"{PINYIN[h // 7 % len(PINYIN)]}.{i}@{DOMAINS[h // 11 % len(DOMAINS)]}"
    return [
        name,
        phone,
        email if h // 13 % 10 < 7 else "",
        SOURCES[h // 17 % len(SOURCES)],
        REGIONS[h // 19 % len(REGIONS)],
    ]


def write_csv(path: Path, rows: int) -> int:
    """Write ``rows`` leads to ``path``; return how many have an e-mail address."""
    emails = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(1, rows + 1):
            row = lead_row(i)
            emails += bool(row[2])
            writer.writerow(row)
    return emails


def measure(
    setup: Setup, twin: str, floor: str, csv_path: Path, rows: int, emails: int
) -> tuple[list[Figure], list[Check]]:
    """Time ``crm.import_records`` of the file on ``setup``'s fresh database against the ORM path.

    ``twin`` and ``floor`` are copies of the fresh database, for the baseline
    and for the storage floor (:func:`storage_floor`, :func:`copy_floor` on
    PostgreSQL).
    """
    crm = open_crm(setup.url)
    try:
        report, seconds, cpu = _timed_import(crm, csv_path)
        with crm.engine.connect() as conn:
            stored = int(conn.execute(text("SELECT count(*) FROM record")).scalar_one())
            keys = int(conn.execute(text("SELECT count(*) FROM dedupe_key")).scalar_one())
            created = conn.execute(
                text("SELECT count(*) FROM journal WHERE entity = 'record' AND action = 'create'")
            ).scalar_one()
            first = conn.execute(text("SELECT title, stage, data FROM record ORDER BY id LIMIT 1"))
            imported_first = tuple(first.one())
    finally:
        crm.close()
    sample = sample_size(rows)
    orm_seconds, orm_done, orm_first = _orm_path(setup, twin, csv_path, sample)
    baseline = orm_seconds / sample * rows
    rate = rows / seconds
    figure = Figure(
        f"import {rows:,} leads from CSV ({rate:,.0f} rows/s)",
        seconds,
        baseline,
        max_ratio=MAX_RATIO,
        note=f"crm.import_records on a fresh database, batches of {DEFAULT_BATCH:,}, validation "
        f"and dedupe included; baseline: {sample:,} rows one records.create (ORM objects) each, "
        f"in transactions of {DEFAULT_BATCH:,}, took {orm_seconds:.2f} s "
        f"({sample / orm_seconds:,.0f} rows/s), scaled to {rows:,}; "
        f"speedup {baseline / seconds:.1f}x",
    )
    checks = [
        Check("import created every row", rows, report.created),
        Check("import rejected and skipped nothing", 0, report.rejected + report.skipped),
        Check("records stored = rows", rows, stored),
        Check("dedupe keys stored = phones + e-mails", rows + emails, keys),
        Check("create journal rows = rows", rows, created),
        Check("the ORM baseline created its sample", sample, orm_done),
        Check("the first lead is stored alike by both paths", orm_first, imported_first),
    ]
    if setup.on_postgresql:
        floor_seconds, floor_cpu, floor_records = copy_floor(floor, setup.url, rows)
        store, how = "PostgreSQL", "one COPY a table"
    else:
        floor_seconds, floor_cpu, floor_records = storage_floor(
            Path(floor.removeprefix("sqlite:///")), setup.path, rows
        )
        store, how = "SQLite", "one executemany a table (keys in index order)"
    floor_figure = Figure(
        f"import floor: the import against {store} storing the same rows again "
        f"({rows / floor_seconds:,.0f} rows/s)",
        seconds,
        floor_seconds,
        max_ratio=MAX_COPY_FLOOR_RATIO if setup.on_postgresql else MAX_FLOOR_RATIO,
        note="the imported records, dedupe keys and journal rows written again, as finished "
        f"tuples, into a copy of the fresh database: batches of {DEFAULT_BATCH:,}, {how} "
        "and a commit each, reading not timed: "
        "the schema's indexes, keys, journal and commits alone, which no import can beat; "
        f"CPU time of this process: the import {cpu:.2f} s, the floor {floor_cpu:.2f} s, "
        f"import / floor {cpu / max(floor_cpu, 1e-9):.3f}",
    )
    checks.append(Check("the floor stored every record", rows, floor_records))
    return [figure, floor_figure], checks


def _timed_import(crm: Crm, csv_path: Path) -> tuple[ImportReport, float, float]:
    """``crm.import_records`` of the file as the admin: its report, seconds and CPU seconds
    (the schema check before it is not timed)."""
    crm.list_workflows(ADMIN)
    start, cpu = perf_counter(), process_time()
    report = crm.import_records(ADMIN, KIND, csv_path)
    return report, perf_counter() - start, process_time() - cpu


def against_sqlite(
    imported: Figure, db: Path, workflow_file: Path, operators: int, csv_path: Path, rows: int
) -> tuple[Figure, Check]:
    """The PostgreSQL import (``imported``) against ``crm.import_records`` of the same file into
    a fresh SQLite database at ``db``, made as the PostgreSQL one was, in the same run."""
    setup = data.create(db, workflow_file, operators, rows, 0)
    crm = open_crm(setup.url)
    try:
        report, seconds, _cpu = _timed_import(crm, csv_path)
    finally:
        crm.close()
    figure = Figure(
        f"import {rows:,} leads: PostgreSQL against SQLite ({rows / seconds:,.0f} rows/s)",
        imported.seconds,
        seconds,
        max_ratio=MAX_SQLITE_RATIO,
        note="the import figure above against crm.import_records of the same file into a fresh "
        "SQLite database (same people and workflow), measured just after it",
    )
    return figure, Check("the SQLite import created every row", rows, report.created)


def copy_floor(floor: str, imported: str, rows: int) -> tuple[float, float, int]:
    """Time for PostgreSQL to store ``imported``'s ``rows`` leads again in ``floor`` by COPY.

    As :func:`storage_floor` does on SQLite: each batch's rows of each table
    read first (``COPY … TO STDOUT``, not timed), then written with one ``COPY
    … FROM STDIN`` a table and a commit. Returns the seconds, the CPU seconds
    of this process and the records stored.
    """
    seconds = cpu = 0.0
    with pg_cursors(imported, floor) as (reader, writer, target):
        for first in range(1, rows + 1, DEFAULT_BATCH):
            span = (first, first + DEFAULT_BATCH - 1)
            batch = []
            for table, where in FLOOR_ROWS:
                query = f"SELECT * FROM {table} WHERE {where.replace('?', '{}')}"
                batch.append((table, copy_out(reader, query.format(*span))))
            start, began = perf_counter(), process_time()
            for table, block in batch:
                copy_in(writer, table, block)
            target.commit()
            seconds += perf_counter() - start
            cpu += process_time() - began
        writer.execute("SELECT count(*) FROM record")
        (stored,) = writer.fetchone() or (0,)
    return seconds, cpu, int(stored)


@contextmanager
def pg_cursors(source: str, target: str) -> Iterator[tuple[Any, Any, Any]]:
    """psycopg cursors on the PostgreSQL databases ``source`` and ``target``, and the target's
    connection (to commit), for a baseline that copies rows from one to the other."""
    source_engine, target_engine = make_engine(source), make_engine(target)
    try:
        with (
            closing(source_engine.raw_connection()) as reading,
            closing(target_engine.raw_connection()) as writing,
        ):
            yield reading.cursor(), writing.cursor(), writing
    finally:
        source_engine.dispose()
        target_engine.dispose()


def copy_out(cursor: Any, query: str) -> bytes:
    """The rows of ``query`` in COPY's text format."""
    with cursor.copy(f"COPY ({query}) TO STDOUT") as out:
        return b"".join(bytes(chunk) for chunk in out)


def copy_in(cursor: Any, table: str, block: bytes) -> None:
    """Write rows in COPY's text format (:func:`copy_out`'s) into ``table``."""
    with cursor.copy(f"COPY {table} FROM STDIN") as into:
        into.write(block)


def storage_floor(path: Path, imported: Path, rows: int) -> tuple[float, float, int]:
    """Time for SQLite to store ``imported``'s ``rows`` leads again in ``path``.

    Returns the seconds, the CPU seconds of this process (the figure to compare
    when other work on the machine stretches the waits for the disk and the
    CPU) and the records stored.

    What no import code can beat on this schema: the same rows in the same
    batches and transactions, each batch read from ``imported`` first (not
    timed), then written with one ``executemany`` a table and a commit, with
    none of the reading, checking or building of the import. ``path`` is a
    copy of the fresh database the import ran on; its connection comes from an
    engine made like the CRM's, so it has the same pragmas.
    """
    seconds = cpu = 0.0
    engine = make_engine(f"sqlite:///{path}")
    try:
        with closing(sqlite3.connect(imported)) as source, closing(engine.raw_connection()) as conn:
            cursor = conn.cursor()
            for first in range(1, rows + 1, DEFAULT_BATCH):
                span = (first, first + DEFAULT_BATCH - 1)
                batch = [
                    (table, source.execute(f"SELECT * FROM {table} WHERE {where}", span).fetchall())
                    for table, where in FLOOR_ROWS
                ]
                start, began = perf_counter(), process_time()
                cursor.execute("BEGIN IMMEDIATE")
                for table, values in batch:
                    if values:
                        marks = ", ".join("?" * len(values[0]))
                        cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
                cursor.execute("COMMIT")
                seconds += perf_counter() - start
                cpu += process_time() - began
            stored = int(cursor.execute("SELECT count(*) FROM record").fetchone()[0])
    finally:
        engine.dispose()
    return seconds, cpu, stored


def _orm_path(
    setup: Setup, db: str, csv_path: Path, sample: int
) -> tuple[float, int, tuple[object, ...]]:
    """The first ``sample`` rows one ORM ``records.create`` each; seconds, created, first row."""
    crm = open_crm(db)
    try:
        crm.list_workflows(ADMIN)
        done = 0
        start = perf_counter()
        with csv_path.open(encoding="utf-8", newline="") as source:
            reader = csv.DictReader(source)
            while done < sample:
                with transaction(crm.engine) as session:
                    ctx = WriteContext(session, crm.registry, crm.host, None, "bench:orm",
                                       crm.clock())  # fmt: skip
                    for _ in range(min(DEFAULT_BATCH, sample - done)):
                        values = crm.registry.coerce(KIND, next(reader))
                        try:
                            records.create(ctx, KIND, values, title=None, owner_id=None,
                                           stage=setup.stage)  # fmt: skip
                        except Duplicate:
                            continue
                        done += 1
        seconds = perf_counter() - start
        with crm.engine.connect() as conn:
            first = conn.execute(text("SELECT title, stage, data FROM record ORDER BY id LIMIT 1"))
            row = tuple(first.one())
    finally:
        crm.close()
    return seconds, done, row
