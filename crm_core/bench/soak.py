"""``crm bench --soak SECONDS``: a mixed load on one PostgreSQL database, then the checks.

Operators (one process each) claim from the pool, update fields, log calls,
move stages, release and read their lists; a manager takes records over and
hands them back to the pool; an importer loads a file of new leads every few
seconds; a real ``crm worker`` ticks every two seconds and assigns them, and
half-way through its connections are terminated (``pg_terminate_backend``).
At the end: operations, errors by kind and p50/p95/p99 latency per
operation, and the checks: no error but documented conflicts (exit 5), the
journal replays to the tables, no operator holds more than the cap, a claim's
p95 under 50 ms, the worker alive and ticking after losing its connections.

A refusal that only says the record changed hands between an operator's read
and write (another process took it) is counted apart, as "changed hands":
the operator process asks, as the admin, who holds the record now.
"""

from __future__ import annotations

import csv
import multiprocessing
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm_core.bench.report import Check

ADMIN = "admin"
MANAGER = "boss"
POOL = "public"
CAP = 25
"""The most open leads an operator may hold: the workflow's ``max_open`` and ``max_held``."""
CLAIM_P95_MAX_S = 0.050
WORKER_INTERVAL_S = 2
STARTUP_TIMEOUT_S = 120
POOL_IDS = 1000
"""How many leads the pool starts with: they are the database's first records."""
IMPORT_EVERY_S = 5
IMPORT_ROWS = 100
IMPORT_FIRST = 10_000_000  # the pool's leads are numbered below, the imported ones from here
OPERATIONS = ("claim", "update", "activity", "move", "release", "read")
WEIGHTS = (30, 20, 20, 15, 5, 10)
STAGES_AFTER = {"new": "contacted", "contacted": "qualified", "qualified": "lost"}
CLI = "from crm_core.cli.main import run; run()"


@dataclass
class Params:
    """What one soak runs: how long, against which server, with how many operators."""

    seconds: float
    server_url: str
    operators: int = 6
    keep: bool = False


@dataclass
class Tally:
    """One process's operations: latencies (seconds) by operation, errors by kind."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    conflicts: Counter[str] = field(default_factory=Counter)
    changed_hands: Counter[str] = field(default_factory=Counter)

    def merge(self, other: Tally) -> None:
        """Add another process's tally to this one."""
        for name, values in other.latencies.items():
            self.latencies.setdefault(name, []).extend(values)
        self.errors.update(other.errors)
        self.conflicts.update(other.conflicts)
        self.changed_hands.update(other.changed_hands)


@dataclass
class SoakReport:
    """What the soak found: per operation counts and latencies, errors, and the checks."""

    params: dict[str, Any]
    tally: Tally
    worker: dict[str, int]
    checks: list[Check]

    def rows(self) -> list[dict[str, Any]]:
        """One row per operation: count, conflicts, changed hands, errors, p50/p95/p99 in ms."""
        out = []
        for name in sorted(self.tally.latencies):
            values = sorted(self.tally.latencies[name])
            out.append({
                "operation": name, "count": len(values),
                "conflicts": self.tally.conflicts[name],
                "changed_hands": self.tally.changed_hands[name],
                "errors": sum(n for (op, _kind), n in _split(self.tally.errors) if op == name),
                "p50_ms": _ms(_percentile(values, 50)), "p95_ms": _ms(_percentile(values, 95)),
                "p99_ms": _ms(_percentile(values, 99)),
            })  # fmt: skip
        return out

    def failures(self) -> list[str]:
        """One line per failed check."""
        return [f"FAIL check {c.name}: expected {c.expected!r}, got {c.got!r}"
                for c in self.checks if not c.passed]  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``crm bench --soak … --json``)."""
        return {
            "params": self.params,
            "operations": self.rows(),
            "errors": dict(self.tally.errors),
            "worker": self.worker,
            "checks": [c.to_dict() for c in self.checks],
            "passed": not self.failures(),
        }

    def lines(self) -> list[str]:
        """The report as text: the table, the errors, the worker, the checks, then FAIL lines."""
        p = self.params
        out = [f"crm bench --soak {p['seconds']:g} s: {p['operators']} operators, a manager, "
               f"an importer and a worker on PostgreSQL", ""]  # fmt: skip
        header = ["operation", "count", "conflicts", "changed_hands", "errors",
                  "p50_ms", "p95_ms", "p99_ms"]  # fmt: skip
        table = [header] + [[str(row[h]) for h in header] for row in self.rows()]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            cells = enumerate(zip(row, widths, strict=True))
            out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in cells))
        out += ["", "errors by kind:"]
        out += [f"  {key}: {n}" for key, n in sorted(self.tally.errors.items())] or ["  none"]
        out += ["", "worker: " + ", ".join(f"{k} {v}" for k, v in self.worker.items())]
        out += ["", "checks:"]
        out += [f"  {'ok  ' if c.passed else 'FAIL'}  {c.name}: {c.got!r}" for c in self.checks]
        failures = self.failures()
        out += ["", *failures] if failures else ["", "all checks passed"]
        return out


def run(params: Params, log: Callable[[str], None]) -> SoakReport:
    """Build a fresh database on the server, load it for ``params.seconds``, check it."""
    from crm_core.db import scratch_database

    with scratch_database(params.server_url, "crm_soak", keep=params.keep) as url:
        if params.keep:
            log(f"database: {url}")
        with tempfile.TemporaryDirectory(prefix="crm-soak-") as folder:
            operators = [f"op-{i:02d}" for i in range(1, params.operators + 1)]
            log(f"setting up: {len(operators)} operators, {POOL_IDS} pool records")
            _set_up(url, Path(folder), operators, POOL_IDS)
            log(f"running for {params.seconds:g} s")
            tally, worker = _load(url, Path(folder), operators, params.seconds)
            log("checking the journal and the caps")
            checks = _checks(url, operators, tally, worker)
    return SoakReport(
        {"seconds": params.seconds, "operators": params.operators,
         "pool_records": POOL_IDS, "cap": CAP},
        tally, worker, checks,
    )  # fmt: skip


# -- set-up ---------------------------------------------------------------------


def _workflow(operators: list[str]) -> str:
    users = "\n".join(f"  - {{name: {n}, role: operator, team: soak}}" for n in operators)
    return f"""workflow: soak
version: 1
kind: lead
label: {{en: Soak, zh: 压测}}
stages:
  - {{id: new, label: {{en: New, zh: 新线索}}}}
  - {{id: contacted, label: {{en: Contacted, zh: 已联系}}}}
  - {{id: qualified, label: {{en: Qualified, zh: 准客户}}}}
  - {{id: lost, label: {{en: Lost, zh: 流失}}, outcome: lost, lost_reasons: [not_a_fit]}}
transitions:
  - {{from: new, to: [contacted, lost]}}
  - {{from: contacted, to: [qualified, lost]}}
  - {{from: qualified, to: [lost]}}
assignment:
  strategy: round_robin
  members: [{", ".join(operators)}]
  caps: {{max_open: {CAP}}}
pools:
  - id: {POOL}
    label: {{en: Public pool, zh: 公海}}
    members: [{", ".join(operators)}]
    admins: [{MANAGER}]
    return:
      - {{id: idle, when: {{days_since: last_activity, gt: 30}}}}
    claim: {{max_held: {CAP}}}
users:
{users}
  - {{name: {MANAGER}, role: manager, team: soak}}
"""


def _set_up(url: str, folder: Path, operators: list[str], pool_records: int) -> None:
    from crm_core.api import Crm

    crm = Crm.open(url)
    try:
        crm.init(ADMIN)
        workflow = folder / "soak.yaml"
        workflow.write_text(_workflow(operators), encoding="utf-8")
        crm.apply_workflow(ADMIN, workflow, create_users=True)
        leads = folder / "pool.csv"
        _write_leads(leads, "pool", 0, pool_records, pool=POOL)
        spec = folder / "pool.yaml"
        spec.write_text(
            "version: 1\nfiles:\n  - path: pool.csv\n    entity: record\n    kind: lead\n"
            "    key: phone\n    columns: {name: name, phone: phone, pool: pool}\n",
            encoding="utf-8",
        )
        report = crm.import_bundle(ADMIN, spec)
        created = sum(f.created for f in report.files)
        if created != pool_records:
            raise RuntimeError(f"the soak's pool: {created} of {pool_records} leads imported")
    finally:
        crm.close()


def _write_leads(path: Path, prefix: str, first: int, rows: int, pool: str | None = None) -> None:
    """``rows`` leads numbered from ``first``: distinct mainland mobiles, so none is a duplicate."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "phone", *(["pool"] if pool else [])])
        for i in range(first, first + rows):
            writer.writerow([f"{prefix} lead {i}", f"+86139{i:08d}", *([pool] if pool else [])])


# -- the load ---------------------------------------------------------------------


def _load(
    url: str, folder: Path, operators: list[str], seconds: float
) -> tuple[Tally, dict[str, int]]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    roles: list[tuple[str, str]] = [("operator", name) for name in operators]
    roles += [("manager", MANAGER), ("importer", str(folder))]
    # Every process starts its clock once all have opened the CRM and the worker has
    # ticked: starting Python and the API takes seconds on a loaded machine.
    ready = context.Barrier(len(roles) + 1)
    processes = [
        context.Process(target=_role_main, args=(role, url, who, seconds, seed, ready, results))
        for seed, (role, who) in enumerate(roles)
    ]
    with _worker(url) as worker:
        for process in processes:
            process.start()
        _wait_for(lambda: worker["ticks"] > 0, STARTUP_TIMEOUT_S)
        ready.wait(timeout=STARTUP_TIMEOUT_S)
        # Half-way, cut the worker's connections: it must go on at its next tick.
        time.sleep(seconds / 2)
        worker["terminated"] = _terminate(url, "crm worker")
        worker["ticks_before_cut"] = worker["ticks"]
        tally = Tally()
        for _ in processes:
            tally.merge(results.get(timeout=seconds + STARTUP_TIMEOUT_S))
        for process in processes:
            process.join(timeout=60)
        # A tick after the load, to see the worker still ticks.
        _wait_for(lambda: worker["ticks"] > worker["ticks_before_cut"], WORKER_INTERVAL_S * 5)
    return tally, worker


def _wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)


@contextmanager
def _worker(url: str) -> Iterator[dict[str, int]]:
    """A ``crm worker`` process ticking every two seconds; counts its ticks and failures."""
    argv = [sys.executable, "-c", CLI, "--db", url, "--as", ADMIN, "worker",
            "--interval", str(WORKER_INTERVAL_S)]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    counts = {"ticks": 0, "failed_ticks": 0, "terminated": 0, "ticks_before_cut": 0, "alive": 1}

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            counts["failed_ticks" if "tick failed" in line else "ticks"] += 1

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield counts
    finally:
        counts["alive"] = int(process.poll() is None)
        process.terminate()
        _out, err = process.communicate(timeout=30)
        reader.join(timeout=5)
        counts["tracebacks"] = err.count("Traceback")


def _terminate(url: str, application: str) -> int:
    from sqlalchemy import text

    from crm_core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE application_name = :name AND datname = current_database()"),
                {"name": application},
            ).all()  # fmt: skip
        return sum(1 for row in rows if row[0])
    finally:
        engine.dispose()


def _role_main(
    role: str, url: str, who: str, seconds: float, seed: int, ready: Any, results: Any
) -> None:
    """One process of the load; puts its :class:`Tally` on ``results`` when the time is up."""
    from crm_core.api import Crm

    crm = Crm.open(url, process="tui")
    admin = Crm.open(url, process="cli")
    tally = Tally()
    rng = random.Random(seed)
    try:
        crm.count_records(ADMIN)  # connected, schema checked: ready
        ready.wait(timeout=STARTUP_TIMEOUT_S)
        deadline = time.time() + seconds
        act = {"operator": _operator_step, "manager": _manager_step,
               "importer": _importer_step}[role]  # fmt: skip
        step = 0
        while time.time() < deadline:
            act(crm, admin, who, rng, tally, step)
            step += 1
    finally:
        crm.close()
        admin.close()
        results.put(tally)


def _timed(
    tally: Tally, name: str, work: Callable[[], Any], owner_check: Callable[[], bool] | None = None
) -> Any:
    """Run one operation, recording its latency, or its refusal by kind."""
    from crm_core.api import Conflict, CrmError

    start = time.perf_counter()
    try:
        result = work()
    except Conflict:
        tally.conflicts[name] += 1
        return None
    except CrmError as error:
        if owner_check is not None and owner_check():
            tally.changed_hands[name] += 1
        else:
            tally.errors[f"{name}: {type(error).__name__}: {str(error)[:80]}"] += 1
        return None
    tally.latencies.setdefault(name, []).append(time.perf_counter() - start)
    return result


def _operator_step(
    crm: Any, admin: Any, me: str, rng: random.Random, tally: Tally, _step: int
) -> None:
    operation = rng.choices(OPERATIONS, WEIGHTS)[0]
    if operation == "claim":
        # A page at a random place of the pool (its first records have the first ids),
        # so that the operators do not all race for the newest.
        before = rng.randint(2, POOL_IDS)
        page = _timed(tally, "pool page", lambda: crm.pool_page(me, POOL, before_id=before))
        ready = (
            [e.record_id for e in page.entries if e.not_claimable_because is None] if page else []
        )
        if ready:
            record_id = rng.choice(ready)
            _timed(tally, "claim", lambda: crm.claim(me, record_id),
                   lambda: _not_in_pool(admin, record_id))  # fmt: skip
        return
    if operation == "read":
        _timed(tally, "read", lambda: (crm.list_records(me, limit=50), crm.my_work(me, limit=50)))
        return
    mine = [r for r in crm.list_records(me, owner=me, limit=50) if r.stage != "lost"]
    if not mine:
        return
    record = rng.choice(mine)
    moved_away = lambda: _owner(admin, record.id) != me  # noqa: E731
    if operation == "update":
        region = rng.choice(["east", "west", "north", "south"])
        _timed(tally, "update", lambda: crm.update_record(me, record.id, {"region": region}),
               moved_away)  # fmt: skip
    elif operation == "activity":
        _timed(tally, "activity", lambda: crm.log_activity(me, record.id, "call", note="soak"),
               moved_away)  # fmt: skip
    elif operation == "move":
        stage = STAGES_AFTER.get(record.stage or "new", "lost")
        reason = "not_a_fit" if stage == "lost" else None
        _timed(tally, "move", lambda: crm.move_record(me, record.id, stage, reason=reason),
               moved_away)  # fmt: skip
    elif operation == "release":
        _timed(tally, "release", lambda: crm.release(me, record.id, "soak", pool=POOL),
               moved_away)  # fmt: skip


def _manager_step(
    crm: Any, admin: Any, me: str, rng: random.Random, tally: Tally, step: int
) -> None:
    mine = crm.list_records(me, owner=me, limit=20)
    if step % 2 == 0 or not mine:
        member = f"op-{rng.randint(1, 2):02d}"
        theirs = _timed(tally, "team read", lambda: crm.list_records(me, owner=member, limit=20))
        if theirs:
            record = rng.choice(theirs)
            _timed(tally, "reassign", lambda: crm.update_record(me, record.id, owner=me),
                   lambda: _owner(admin, record.id) != member)  # fmt: skip
    else:
        record = rng.choice(mine)
        _timed(tally, "release", lambda: crm.release(me, record.id, "soak", pool=POOL))
    time.sleep(0.2)


def _importer_step(
    crm: Any, _admin: Any, folder: str, _rng: random.Random, tally: Tally, step: int
) -> None:
    path = Path(folder) / f"import-{step}.csv"
    _write_leads(path, "import", IMPORT_FIRST + step * IMPORT_ROWS, IMPORT_ROWS)
    _timed(tally, f"import {IMPORT_ROWS} rows", lambda: crm.import_records(ADMIN, "lead", path))
    time.sleep(IMPORT_EVERY_S)


def _owner(admin: Any, record_id: int) -> str | None:
    return admin.get_record(ADMIN, record_id).owner


def _not_in_pool(admin: Any, record_id: int) -> bool:
    return admin.get_record(ADMIN, record_id).pool is None


# -- the checks ---------------------------------------------------------------------


def _checks(url: str, operators: list[str], tally: Tally, worker: dict[str, int]) -> list[Check]:
    from crm_core.api import Crm

    crm = Crm.open(url)
    try:
        journal = crm.verify_journal(ADMIN)
        held = {
            name: sum(1 for r in crm.list_records(ADMIN, owner=name, limit=10_000)
                      if r.stage != "lost")
            for name in operators
        }  # fmt: skip
    finally:
        crm.close()
    claims = sorted(tally.latencies.get("claim", []))
    claim_p95 = _percentile(claims, 95)
    return [
        Check("errors other than conflicts (exit 5)", 0, sum(tally.errors.values())),
        Check("journal verify clean", True, journal.ok),
        Check(f"operators holding more than {CAP}", [], [n for n, h in held.items() if h > CAP]),
        Check("some claims succeeded", True, len(claims) > 0),
        Check(
            f"claim p95 under {CLAIM_P95_MAX_S * 1000:g} ms",
            True,
            claim_p95 is not None and claim_p95 < CLAIM_P95_MAX_S,
        ),
        Check("worker connections terminated", True, worker["terminated"] > 0),
        Check(
            "worker ticked after losing its connections",
            True,
            worker["ticks"] > worker["ticks_before_cut"],
        ),
        Check(
            "worker alive at the end, no traceback",
            (1, 0),
            (worker["alive"], worker.get("tracebacks", 0)),
        ),
    ]


def _percentile(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def _split(errors: Counter[str]) -> Iterator[tuple[tuple[str, str], int]]:
    for key, n in errors.items():
        op, _, kind = key.partition(": ")
        yield (op, kind), n
