"""The scheduler and the public pools under real concurrency.

Each thread opens its own ``Crm`` (its own engine and connections), as separate
``crm`` processes and workers would; a ``threading.Barrier`` lines them up so
their transactions overlap (the style of ``test_concurrency.py``). The
assertions hold whatever the interleaving: one owner per record, caps kept,
one journal row per move, and the journal replays to the records' state.

Runs on SQLite (writers queue on ``BEGIN IMMEDIATE``) and on PostgreSQL (row
locks, ``SKIP LOCKED`` and the scheduler's advisory lock do the work).

The last part holds the races these tests found, now fixed, as regression tests
on PostgreSQL: one thread is stopped before a chosen SQL statement, inside its
transaction, and the thread that used to race it must now wait for its lock (or,
where nothing should make it wait, must finish meanwhile). Choreography failures
raise ``RuntimeError``; what the code did fails an assertion.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import event, text

from crm_core import records
from crm_core.api import Conflict, Crm, Duplicate
from crm_core.assign import run as assign_run
from crm_core.clock import ManualClock
from crm_core.db import make_engine
from crm_core.errors import PermissionDenied
from crm_core.pools import ensure_pools
from crm_core.workflow import engine

OPERATORS = [f"op{i}" for i in range(8)]
IDLE_AFTER = timedelta(days=30)
"""Far enough ahead that every "idle" rule (14 days without activity) fires."""
CRM = Path(sys.executable).with_name("crm")


# -- helpers ---------------------------------------------------------------------


def race(
    db_url: str, clock: ManualClock, works: Sequence[Callable[[Crm], Any]], timeout: float = 60
) -> list[Any]:
    """Run each ``work(crm)`` in its own thread with its own ``Crm``, all released at once.

    Returns each result, or the exception it raised.
    """
    barrier = threading.Barrier(len(works), timeout=30)
    results: list[Any] = [None] * len(works)

    def run(i: int) -> None:
        crm = Crm.open(db_url, clock=clock)
        try:
            crm.count_records("admin")  # connect and check the schema before the start
            barrier.wait()
            results[i] = works[i](crm)
        except Exception as exc:  # collected and checked by the test
            results[i] = exc
        finally:
            crm.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    if any(t.is_alive() for t in threads):
        raise RuntimeError("a thread hung")
    if any(isinstance(r, threading.BrokenBarrierError) for r in results):
        raise RuntimeError(f"the threads did not start together: {results}")
    return results


def claimer(actor: str, ids: Sequence[int], seed: int) -> Callable[[Crm], dict[str, Any]]:
    """Work for ``race``: ``actor`` tries to claim every id once, in a shuffled order."""
    order = list(ids)
    random.Random(seed).shuffle(order)

    def work(crm: Crm) -> dict[str, Any]:
        won: list[int] = []
        refused: list[Exception] = []
        for rid in order:
            try:
                crm.claim(actor, rid)
            except Exception as exc:  # checked by the test: Conflict only
                refused.append(exc)
            else:
                won.append(rid)
        return {"actor": actor, "won": won, "refused": refused}

    return work


def only_conflicts(outcomes: list[dict[str, Any]]) -> None:
    """Every refused claim was a plain Conflict (exit 5), never a deadlock or a crash."""
    for out in outcomes:
        assert isinstance(out, dict), repr(out)  # the thread itself did not die
        for exc in out["refused"]:
            assert isinstance(exc, Conflict) and not isinstance(exc, Duplicate), repr(exc)
            assert exc.exit_code == 5


def write_workflow(tmp_path: Path, name: str, **sections: Any) -> Path:
    """A lead workflow (stages new, won) with ``sections`` (pools, assignment), as YAML."""
    data = {
        "workflow": "leads",
        "version": sections.pop("version", 1),
        "kind": "lead",
        "stages": [{"id": "new"}, {"id": "won", "outcome": "won"}],
        **sections,
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def public_pool(members: list[str], **extra: Any) -> dict[str, Any]:
    """Pool ``public``: idle leads (region "idle", 14 days without activity) come back."""
    idle = {"all": [{"field": "region", "eq": "idle"}, {"days_since": "last_activity", "gt": 14}]}
    return {"id": "public", "members": members, "return": [{"id": "idle", "when": idle}], **extra}


_phones = iter(range(10**7))


def add_leads(
    crm: Crm,
    n: int,
    *,
    region: str = "fresh",
    owners: Sequence[str | None] = (None,),
    in_pool: bool = False,
) -> list[int]:
    """Add ``n`` leads (each with its own phone) in one transaction, owned in turn by
    ``owners`` (None: nobody), or put in pool ``public``.

    They are written by ``records.create``, as ``Crm.add_record`` writes them (journal
    included), but in one transaction: one at a time takes seconds on PostgreSQL.
    """
    uid = user_ids(crm)
    out = []
    with crm._write("admin") as ctx:
        workflow = engine.applied(ctx.session, "lead")
        assert workflow is not None
        pool_id = ensure_pools(ctx, workflow.definition)["public"] if in_pool else None
        for k in range(n):
            i = next(_phones)
            fields = {"name": f"Lead {i}", "phone": f"139{i:08d}", "region": region}
            owner = owners[k % len(owners)]
            record = records.create(
                ctx,
                "lead",
                fields,
                title=None,
                owner_id=uid[owner] if owner else None,
                pool_id=pool_id,
                stage=workflow.definition["stages"][0]["id"],
            )
            assert record.id is not None
            out.append(record.id)
    return out


def user_ids(crm: Crm) -> dict[str, int]:
    return {u.name: u.id for u in crm.list_users("admin")}


def journal_rows(crm: Crm, action: str) -> list[Any]:
    rows = crm.journal("admin", limit=10_000)
    assert len(rows) < 10_000
    return [j for j in rows if j.entity == "record" and j.action == action]


def moves(crm: Crm, action: str) -> Counter[int]:
    """How many journal rows of ``action`` each record has."""
    return Counter(j.record_id for j in journal_rows(crm, action))


def assert_one_place_each(crm: Crm) -> dict[int, dict[str, Any]]:
    """No live record has both an owner and a pool; the journal replays to the states."""
    states = crm.record_states("admin")
    both = {rid: s for rid, s in states.items() if s["owner_id"] and s["pool_id"]}
    assert not both, f"records with an owner and a pool: {both}"
    assert crm.replay_journal("admin") == states
    return states


def setup_operators(crm: Crm, names: list[str] = OPERATORS) -> None:
    crm.add_team("admin", "sales")
    for name in names:
        crm.add_user("admin", name, "operator", "sales")


# -- 1, 2: claims ------------------------------------------------------------------


def test_operators_claim_one_pool_at_once(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """Eight operators grab from one pool of 20: each record gets exactly one owner."""
    setup_operators(crm)
    claim = {"max_held": 3, "max_per_day": 5}
    wf = write_workflow(tmp_path, "wf.yaml", pools=[public_pool(OPERATORS, claim=claim)])
    crm.apply_workflow("admin", wf)
    ids = add_leads(crm, 20, in_pool=True)

    outcomes = race(db_url, clock, [claimer(op, ids, i) for i, op in enumerate(OPERATORS)])

    only_conflicts(outcomes)
    won = {out["actor"]: out["won"] for out in outcomes}
    assert all(len(w) <= 3 for w in won.values()), won
    claimed = [rid for w in won.values() for rid in w]
    # 8 operators x 3 > 20, and each tried every record: nothing is left in the pool.
    assert sorted(claimed) == sorted(ids), won
    uid = user_ids(crm)
    states = assert_one_place_each(crm)
    for actor, rids in won.items():
        for rid in rids:
            assert states[rid]["owner_id"] == uid[actor] and states[rid]["pool_id"] is None
    claims = journal_rows(crm, "claim")
    assert Counter(j.record_id for j in claims) == Counter(ids)
    assert {j.record_id: j.actor for j in claims} == {r: a for a, w in won.items() for r in w}


@pytest.mark.parametrize("cap", ["max_held", "max_per_day"])
def test_one_operator_from_four_threads_keeps_the_cap(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path, cap: str
) -> None:
    """The per-user row lock in ``pools.claim``: parallel claims cannot pass a cap together.

    Each thread claims a different quarter of the pool, so only the cap check (not
    the record locks) keeps them from holding more than 3 together.
    """
    setup_operators(crm, ["op0"])
    claim = {"max_held": 3} if cap == "max_held" else {"max_per_day": 3}
    wf = write_workflow(tmp_path, "wf.yaml", pools=[public_pool(["op0"], claim=claim)])
    crm.apply_workflow("admin", wf)
    ids = add_leads(crm, 16, in_pool=True)

    outcomes = race(db_url, clock, [claimer("op0", ids[i::4], i) for i in range(4)])

    only_conflicts(outcomes)
    won = [rid for out in outcomes for rid in out["won"]]
    assert len(won) == 3, outcomes
    assert sum(1 for s in assert_one_place_each(crm).values() if s["owner_id"]) == 3
    assert moves(crm, "claim") == Counter(won)
    assert crm.pool_page("op0", "public").allowance["claimed_today"] == 3


# -- 3: two workers ------------------------------------------------------------------


def scheduler_setup(crm: Crm, tmp_path: Path, idle: int, new: int) -> tuple[list[int], list[int]]:
    """``idle`` leads owned by op0/op1 that the pool rule takes back, ``new`` unowned ones
    that round-robin assignment hands to op0 and op1."""
    setup_operators(crm, ["op0", "op1"])
    assignment = {"strategy": "round_robin", "members": ["op0", "op1"]}
    pools = [public_pool(["op0", "op1"])]
    wf = write_workflow(tmp_path, "wf.yaml", pools=pools, assignment=assignment)
    crm.apply_workflow("admin", wf)
    idle_ids = add_leads(crm, idle, region="idle", owners=["op0", "op1"])
    new_ids = add_leads(crm, new)
    states = crm.record_states("admin")
    assert all(states[r]["owner_id"] is None and states[r]["pool_id"] is None for r in new_ids)
    return idle_ids, new_ids


def assert_scheduled_once(crm: Crm, idle_ids: list[int], new_ids: list[int]) -> None:
    """Each idle lead went back to the pool once, each new lead was assigned once."""
    assert moves(crm, "return") == Counter(idle_ids)
    assert moves(crm, "assign") == Counter(new_ids)
    assert not moves(crm, "reassign") and not moves(crm, "rotate")
    states = assert_one_place_each(crm)
    uid = user_ids(crm)
    assert all(states[r]["pool_id"] and states[r]["owner_id"] is None for r in idle_ids)
    owners = Counter(states[r]["owner_id"] for r in new_ids)
    assert owners == {uid["op0"]: len(new_ids) // 2, uid["op1"]: len(new_ids) // 2}


def test_two_workers_tick_at_once(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    idle_ids, new_ids = scheduler_setup(crm, tmp_path, idle=40, new=60)
    later = clock.now + IDLE_AFTER

    def ticks(c: Crm) -> list[Any]:
        return [c.tick(now=later) for _ in range(5)]

    results = race(db_url, clock, [ticks, ticks])

    assert all(isinstance(r, list) for r in results), results
    done = [t for r in results for t in r]
    for t in done:
        if not t.ran:  # a skipped tick did nothing
            assert not t.sweeps and not t.assignments
    ran = [t for t in done if t.ran]
    assert ran
    # Between them the ticks that ran did the work once: no double returns or assignments.
    assert sum(s.returned for t in ran for s in t.sweeps) == len(idle_ids)
    assert sum(a.assigned for t in ran for a in t.assignments) == len(new_ids)
    assert_scheduled_once(crm, idle_ids, new_ids)


WORKER_LINE = re.compile(r"assigned (\d+), returned (\d+), rotated (\d+), warned (\d+)$")


def test_two_worker_processes_at_once(crm: Crm, db_url: str, tmp_path: Path) -> None:
    """``crm worker --once`` in two processes (real clock: the leads are years old)."""
    crm.clock = ManualClock(datetime(2020, 1, 6, 9, 0, tzinfo=UTC))
    idle_ids, new_ids = scheduler_setup(crm, tmp_path, idle=60, new=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env["CRM_DATABASE_URL"] = db_url
    workers = [
        subprocess.Popen(
            [str(CRM), "worker", "--once"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=60) for w in workers]

    assigned = returned = 0
    for w, (out, err) in zip(workers, outputs, strict=True):
        assert w.returncode == 0, err
        line = out.strip()
        if line.endswith("another worker is running this tick; skipped"):
            continue
        found = WORKER_LINE.search(line)
        assert found, line
        assigned += int(found[1])
        returned += int(found[2])
    assert (assigned, returned) == (len(new_ids), len(idle_ids)), outputs
    assert_scheduled_once(crm, idle_ids, new_ids)


# -- 4: a sweep racing with claims ------------------------------------------------------


def test_sweep_races_claims(crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path) -> None:
    """One thread sweeps 200 idle leads back while eight operators claim from the pool.

    The operators try every lead, the idle ones included: a claim of a lead that is
    not (yet) in the pool is refused, and one that the sweep has just returned may
    be taken. On PostgreSQL the sweep skips leads a claim has locked at that moment
    (``SKIP LOCKED``, even a claim that is then refused); the next sweep takes them.
    """
    setup_operators(crm)
    wf = write_workflow(tmp_path, "wf.yaml", pools=[public_pool(OPERATORS)])
    crm.apply_workflow("admin", wf)
    idle_ids = add_leads(crm, 200, region="idle", owners=OPERATORS)
    pooled = add_leads(crm, 40, in_pool=True)
    before = crm.record_states("admin")
    clock.advance(IDLE_AFTER)

    def sweep(c: Crm) -> Any:
        return c.sweep("admin")

    works: list[Callable[[Crm], Any]] = [sweep]
    # Each tries every pooled lead and a quarter of the idle ones.
    works += [claimer(op, pooled + idle_ids[i % 4 :: 4], i) for i, op in enumerate(OPERATORS)]
    results = race(db_url, clock, works)

    swept, outcomes = results[0], results[1:]
    assert isinstance(swept, list), repr(swept)
    only_conflicts(outcomes)
    won = [rid for out in outcomes for rid in out["won"]]
    assert len(won) == len(set(won)), "a record was claimed twice"
    assert set(pooled) <= set(won)  # everyone tried every pooled lead; there are no caps
    returned = moves(crm, "return")
    assert set(returned) <= set(idle_ids) and set(returned.values()) <= {1}
    assert set(won) <= set(pooled) | set(returned)  # only what was in the pool was claimed
    assert moves(crm, "claim") == Counter(won)
    assert swept[0].returned == len(returned)
    if crm.engine.dialect.name == "sqlite":  # one writer at a time: nothing is skipped
        assert len(returned) == 200
    states = assert_one_place_each(crm)
    uid = user_ids(crm)
    for out in outcomes:
        for rid in out["won"]:
            assert states[rid]["owner_id"] == uid[out["actor"]] and states[rid]["pool_id"] is None
    for rid in set(returned) - set(won):
        assert states[rid]["owner_id"] is None and states[rid]["pool_id"] is not None
    skipped = set(idle_ids) - set(returned)
    for rid in skipped:  # left exactly as they were
        assert states[rid] == before[rid]
    # A swept lead claimed in the race was claimed after it came back, never before.
    rows = journal_rows(crm, "return") + journal_rows(crm, "claim")
    order = {(j.record_id, j.action): j.id for j in rows}
    for rid in set(returned) & set(won):
        assert order[(rid, "return")] < order[(rid, "claim")]

    # Skipped, not lost: the next sweep returns them.
    crm.sweep("admin")
    after = moves(crm, "return")
    assert all(after[rid] == 1 for rid in skipped)
    assert all(after[rid] == 1 for rid in set(returned) - set(won))
    assert_one_place_each(crm)


# -- races found, now closed: PostgreSQL only, made deterministic -----------------------
#
# Each test below stops one thread's connection just before a chosen SQL statement,
# inside its transaction (an engine event), and only then starts the thread that
# used to race it. Mostly that second thread must now wait for a lock the first one
# holds: the test sees it waiting for that lock in pg_locks and still not finished
# half a second later, then lets the first go on and checks the outcome. Where no
# lock should keep them apart, the second must finish while the first is paused.
# Before the fixes the second thread ran straight through and broke the invariant
# each "Regression:" docstring names. SQLite runs one writer at a time, so these
# interleavings cannot happen there.

PG_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True
)

STUCK = 20.0
"""Seconds before a choreography step gives up; reached only when a test is broken."""

STILL_WAITING = 0.5
"""How long the second thread must stay unfinished once it waits for the first's lock."""

LOCK_WAITS = text(
    "SELECT CASE WHEN w.locktype = 'transactionid' THEN coalesce('row of ' || ("
    "  SELECT c.relname FROM pg_locks t JOIN pg_class c ON c.oid = t.relation"
    "  WHERE t.pid = w.pid AND t.locktype = 'tuple' AND t.granted LIMIT 1), 'a row')"
    " ELSE w.locktype END"
    " FROM pg_locks w JOIN pg_stat_activity a ON a.pid = w.pid"
    " WHERE NOT w.granted AND a.datname = current_database()"
)
"""What the sessions of this test's database are waiting for: ``advisory`` (the
scheduler lock) or ``row of TABLE`` (a row lock; a waiter holds the row's tuple lock)."""


class Pause:
    """Stops a ``Crm``'s connection before the first statement matching ``pattern``
    until :meth:`release`; ``reached`` is set when a connection got there."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern, re.DOTALL)
        self.reached = threading.Event()
        self.go = threading.Event()
        self.stuck = False

    def install(self, crm: Crm) -> None:
        def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if not self.reached.is_set() and self.pattern.search(statement):
                self.reached.set()
                if not self.go.wait(STUCK):
                    # The error may come back wrapped (a PluginError around a hook's
                    # statements), so the flag is what the harness checks.
                    self.stuck = True
                    raise RuntimeError(f"paused at {self.pattern.pattern!r} and never released")

        event.listen(crm.engine, "before_cursor_execute", before)

    def release(self) -> None:
        self.go.set()


class Worker(threading.Thread):
    """Runs ``work(crm)`` on its own ``Crm`` (connected first), keeping the result or
    the exception it raised; ``done`` is set once ``work`` is over."""

    def __init__(
        self,
        db_url: str,
        clock: ManualClock,
        work: Callable[[Crm], Any],
        pause: Pause | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.db_url, self.clock, self.work, self.pause = db_url, clock, work, pause
        self.result: Any = None
        self.done = threading.Event()

    def run(self) -> None:
        crm = None
        try:
            crm = Crm.open(self.db_url, clock=self.clock)
            crm.count_records("admin")  # connect and check the schema before the work
            if self.pause is not None:
                self.pause.install(crm)
            self.result = self.work(crm)
        except Exception as exc:  # checked by the test
            self.result = exc
        finally:
            self.done.set()
            if crm is not None:
                crm.close()


def wait_until(check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` until it holds; RuntimeError (a broken test) after ``STUCK`` seconds."""
    deadline = time.monotonic() + STUCK
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.01)


def paused_race(
    db_url: str,
    clock: ManualClock,
    pause: Pause,
    first: Callable[[Crm], Any],
    second: Callable[[Crm], Any],
    *,
    waits_on: str | None,
) -> tuple[Any, Any]:
    """``first`` runs until ``pause`` stops it inside its transaction; then ``second`` starts.

    With ``waits_on`` (``advisory`` or ``row of TABLE``, see ``LOCK_WAITS``) ``second``
    must wait for a lock ``first`` holds: it is seen waiting for that and has not
    finished ``STILL_WAITING`` seconds later. With None, ``second`` must finish while
    ``first`` is still paused, waiting for nothing. Then ``first`` goes on. Returns both
    results (or exceptions). Choreography failures raise RuntimeError; what the code
    under test did fails an assertion.
    """
    a = Worker(db_url, clock, first, pause)
    b = Worker(db_url, clock, second)
    observer = make_engine(db_url).execution_options(isolation_level="AUTOCOMMIT")
    seen: set[str] = set()
    finished = False
    a.start()
    try:
        wait_until(lambda: pause.reached.is_set() or a.done.is_set(), pause.pattern.pattern)
        if not pause.reached.is_set():
            raise RuntimeError(f"first never ran {pause.pattern.pattern!r}: {a.result!r}")
        b.start()
        with observer.connect() as conn:

            def waiting_or_done() -> bool:
                seen.update(conn.execute(LOCK_WAITS).scalars())
                return bool(seen) or b.done.is_set()

            wait_until(waiting_or_done, "the second thread to wait for a lock or finish")
        # Once it waits for the paused thread it cannot finish: this only confirms it.
        finished = b.done.wait(STILL_WAITING)
    finally:
        pause.release()
        for t in (a, b):
            if t.ident is not None:
                t.join(STUCK)
        observer.dispose()
    if a.is_alive() or b.is_alive():
        raise RuntimeError("a thread hung")
    if pause.stuck:
        raise RuntimeError(f"paused at {pause.pattern.pattern!r} and never released")
    if waits_on is None:
        assert finished and not seen, (
            f"the second thread waited for the paused one ({sorted(seen)}): {b.result!r}"
        )
    else:
        assert seen == {waits_on} and not finished, (
            f"the second thread did not wait for the paused one's {waits_on} (waited for: "
            f"{sorted(seen)}, finished meanwhile: {finished}): {b.result!r}"
        )
    return a.result, b.result


ROTATE = r"^UPDATE record SET owner_id=.*rotations=\(record\.rotations \+"
HAND_OVER = r"^UPDATE record SET owner_id="
"""An assignment's UPDATE (in a workflow without pools nothing else moves owners)."""


def rotation_setup(crm: Crm, tmp_path: Path, n: int, clock: ManualClock) -> list[int]:
    """Pool ``public`` (op0, op1, op2) rotates idle leads; ``n`` idle leads owned by op0."""
    members = ["op0", "op1", "op2"]
    setup_operators(crm, members)
    pool = public_pool(members, rotation={"max_rotations": 2})
    crm.apply_workflow("admin", write_workflow(tmp_path, "wf.yaml", pools=[pool]))
    add_leads(crm, 0, in_pool=True)  # the pool row exists before the race
    ids = add_leads(crm, n, region="idle", owners=["op0"])
    clock.advance(IDLE_AFTER)
    return ids


@PG_ONLY
def test_rotation_does_not_overwrite_a_release(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """Regression: sweep._rotate read the expired records without a row lock and then
    updated them by id alone; a release committed in between was overwritten, leaving
    the record with an owner (op1) AND a pool. Now the rotation locks its rows
    (``FOR UPDATE SKIP LOCKED``): the release waits for the sweep, then finds the record
    is no longer op0's and is refused."""
    (rid,) = rotation_setup(crm, tmp_path, 1, clock)

    swept, released = paused_race(
        db_url,
        clock,
        Pause(ROTATE),
        lambda c: c.sweep("admin"),
        lambda c: c.release("op0", rid, "not reachable"),
        waits_on="row of record",  # locked by the rotation
    )

    assert isinstance(swept, list) and swept[0].rotated == 1, repr(swept)
    assert isinstance(released, PermissionDenied), repr(released)
    state = assert_one_place_each(crm)[rid]
    assert (state["owner_id"], state["pool_id"]) == (user_ids(crm)["op1"], None), state
    assert moves(crm, "rotate") == Counter([rid])
    assert not moves(crm, "release")


@PG_ONLY
def test_a_manual_sweep_and_a_worker_rotate_once(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """Regression: ``crm sweep`` took no scheduler lock and _rotate locked nothing, so a
    sweep racing a worker's tick rotated each expired record twice. Now the sweep waits
    for the tick's advisory lock and then finds nothing left to rotate."""
    ids = rotation_setup(crm, tmp_path, 5, clock)

    ticked, swept = paused_race(
        db_url,
        clock,
        Pause(ROTATE),
        lambda c: c.tick(),
        lambda c: c.sweep("admin"),
        waits_on="advisory",
    )

    assert ticked.ran and [s.rotated for s in ticked.sweeps] == [5], repr(ticked)
    assert isinstance(swept, list) and (swept[0].rotated, swept[0].returned) == (0, 0), swept
    assert moves(crm, "rotate") == Counter(ids)
    states = assert_one_place_each(crm)
    assert {states[r]["owner_id"] for r in ids} == {user_ids(crm)["op1"]}


@PG_ONLY
def test_a_manual_sweep_and_a_worker_warn_once(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """Regression: the return warning checks "already warned" (_noticed_since) without a
    lock, so a ``crm sweep`` racing a worker's tick wrote every warning task twice. Now
    the sweep waits for the tick's advisory lock and then sees the tick's warnings."""
    setup_operators(crm, ["op0"])
    pool = public_pool(["op0"])
    pool["return"][0]["warn_days_before"] = 2
    crm.apply_workflow("admin", write_workflow(tmp_path, "wf.yaml", pools=[pool]))
    add_leads(crm, 0, in_pool=True)
    ids = add_leads(crm, 5, region="idle", owners=["op0"])
    clock.advance(timedelta(days=13))  # idle in 2 days: warn now

    ticked, swept = paused_race(
        db_url,
        clock,
        Pause(r"^INSERT INTO task"),
        lambda c: c.tick(),
        lambda c: c.sweep("admin"),
        waits_on="advisory",
    )

    assert ticked.ran and [s.warned for s in ticked.sweeps] == [5], repr(ticked)
    assert isinstance(swept, list) and swept[0].warned == 0, repr(swept)
    assert Counter(t.record_id for t in crm.list_tasks("admin")) == Counter(ids)
    assert_one_place_each(crm)


@PG_ONLY
def test_a_manual_sweep_and_a_worker_reassign_once(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """Regression: the SLA check read the late records without a lock and
    assign.run.reassign did not check again that they were still late, so a
    ``crm sweep`` racing a worker's tick reassigned each late record twice. Now the
    sweep waits for the tick's advisory lock and then finds nothing late."""
    setup_operators(crm, ["op0", "op1", "op2"])
    spec = {
        "strategy": "round_robin",
        "members": ["op0", "op1", "op2"],
        "sla": {"contact_within_hours": 24, "then": "reassign"},
    }
    crm.apply_workflow("admin", write_workflow(tmp_path, "wf.yaml", assignment=spec))
    ids = add_leads(crm, 3)
    crm.assign("admin")
    clock.advance(timedelta(days=2))  # nobody called within 24 hours

    ticked, swept = paused_race(
        db_url,
        clock,
        Pause(r"^SELECT record\.id, .*FOR UPDATE OF record SKIP LOCKED"),  # reassign's pick
        lambda c: c.tick(),
        lambda c: c.sweep("admin"),
        waits_on="advisory",
    )

    assert ticked.ran and [s.reassigned for s in ticked.sweeps] == [3], repr(ticked)
    assert isinstance(swept, list) and swept[0].reassigned == 0, repr(swept)
    assert moves(crm, "reassign") == Counter(ids)
    assert_one_place_each(crm)


def assignment_setup(crm: Crm, tmp_path: Path, **assignment: Any) -> None:
    setup_operators(crm, ["op0"])
    spec = {"strategy": "round_robin", "members": ["op0"], **assignment}
    crm.apply_workflow("admin", write_workflow(tmp_path, "wf.yaml", assignment=spec))


def auto_add(crm: Crm) -> Any:
    i = next(_phones)
    fields = {"name": f"Web lead {i}", "phone": f"139{i:08d}"}
    return crm.add_record("admin", "lead", fields, auto_assign=True).record


@PG_ONLY
def test_auto_assign_during_a_tick_keeps_the_caps(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """Regression: assignment caps are counted (Roster) from committed rows, and
    ``add_record(auto_assign=True)`` took no lock, so a record added while the worker
    assigned went past max_open (op0 held 3 of 2). Now the add waits for the tick's
    advisory lock, counts op0 at the cap and leaves its record unowned."""
    assignment_setup(crm, tmp_path, caps={"max_open": 2})
    old = add_leads(crm, 2)  # the tick gives both to op0: op0 is then at the cap

    ticked, added = paused_race(
        db_url, clock, Pause(HAND_OVER), lambda c: c.tick(), auto_add, waits_on="advisory"
    )

    assert ticked.ran and [a.assigned for a in ticked.assignments] == [2], repr(ticked)
    assert not isinstance(added, Exception) and added.owner is None, repr(added)
    states = assert_one_place_each(crm)
    owners = Counter(s["owner_id"] for s in states.values() if s["owner_id"])
    assert owners == {user_ids(crm)["op0"]: 2}, owners
    assert moves(crm, "assign") == Counter(old)


@PG_ONLY
def test_auto_assign_during_a_tick_keeps_a_members_own_cap(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """A per-member cap (op0: max_open 1; op1 unlimited) holds when a record is added
    while the worker assigns: the add waits for the tick's lock, sees op0 at their cap
    and gives its record to op1."""
    setup_operators(crm, ["op0", "op1"])
    spec = {"strategy": "round_robin", "members": [{"user": "op0", "max_open": 1}, "op1"]}
    crm.apply_workflow("admin", write_workflow(tmp_path, "wf.yaml", assignment=spec))
    old = add_leads(crm, 3)  # the tick: op0 one, then op1 the other two

    ticked, added = paused_race(
        db_url, clock, Pause(HAND_OVER), lambda c: c.tick(), auto_add, waits_on="advisory"
    )

    assert ticked.ran and [a.assigned for a in ticked.assignments] == [3], repr(ticked)
    assert not isinstance(added, Exception) and added.owner == "op1", repr(added)
    states = assert_one_place_each(crm)
    owners = Counter(s["owner_id"] for s in states.values() if s["owner_id"])
    assert owners == {user_ids(crm)["op0"]: 1, user_ids(crm)["op1"]: 3}, owners
    assert moves(crm, "assign") == Counter([*old, added.id])


@PG_ONLY
def test_auto_assign_during_the_first_tick_adds_the_record(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """Regression: the assignment cursor was written with session.merge (SELECT, then
    INSERT) and ``add_record(auto_assign=True)`` took no lock, so a record added during
    the first pass of a scope failed on assign_cursor_pkey. Now the add waits for the
    tick's advisory lock, then assigns its record and updates the tick's cursor."""
    assignment_setup(crm, tmp_path)  # no pass has run yet: no cursor row
    old = add_leads(crm, 2)

    ticked, added = paused_race(
        db_url,
        clock,
        Pause(r"^INSERT INTO assign_cursor"),
        lambda c: c.tick(),
        auto_add,
        waits_on="advisory",
    )

    assert ticked.ran and [a.assigned for a in ticked.assignments] == [2], repr(ticked)
    assert not isinstance(added, Exception) and added.owner == "op0", repr(added)
    assert moves(crm, "assign") == Counter([*old, added.id])
    assert_one_place_each(crm)


@PG_ONLY
def test_two_first_assignment_passes_save_the_cursor(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """Regression (the same race, without the scheduler lock): two first passes of a
    scope at once both INSERTed the cursor row and the loser failed on
    assign_cursor_pkey. The cursor is now upserted: the pass that saves second updates
    the row the other committed. (The passes run as the core runs them, outside
    ``take_lock``, so this checks the upsert on its own.)"""
    assignment_setup(crm, tmp_path)
    first_id, second_id = add_leads(crm, 2)

    def assign_pass(record_id: int) -> Callable[[Crm], Any]:
        def work(c: Crm) -> Any:
            with c._write(None, "system:assign") as ctx:
                workflow = engine.applied(ctx.session, "lead")
                assert workflow is not None
                return assign_run.run(ctx, workflow, record_ids=[record_id])

        return work

    first, second = paused_race(
        db_url,
        clock,
        Pause(r"^INSERT INTO assign_cursor"),
        assign_pass(first_id),
        assign_pass(second_id),
        waits_on=None,  # nothing keeps them apart: the second commits its cursor first
    )

    assert not isinstance(first, Exception), repr(first)
    assert not isinstance(second, Exception), repr(second)
    assert (first.assigned, second.assigned) == (1, 1)
    assert moves(crm, "assign") == Counter([first_id, second_id])
    assert_one_place_each(crm)


def pool_sync_setup(crm: Crm, db_url: str, tmp_path: Path) -> Path:
    """Pool ``public`` names op0, op1 and op2, but its members are op0 and op1: out of
    date until the next sync. Returns the YAML.

    An apply now refuses a workflow naming a missing user, so the stale membership (as
    a database applied before that had it, when op2 was added after the apply) is made
    by deleting op2's row behind the API."""
    setup_operators(crm, ["op0", "op1", "op2"])
    wf = write_workflow(tmp_path, "wf.yaml", pools=[public_pool(["op0", "op1", "op2"])])
    crm.apply_workflow("admin", wf)
    behind = make_engine(db_url)
    with behind.begin() as conn:
        stale = text("DELETE FROM pool_member WHERE user_id = :user")
        conn.execute(stale, {"user": user_ids(crm)["op2"]})
    behind.dispose()
    assert pool_members(crm) == ["op0", "op1"]
    return wf


def pool_members(crm: Crm) -> list[str]:
    (pool,) = crm.list_pools("admin")
    return pool.members


def member_syncs(crm: Crm) -> int:
    """How many times a pool's members were rewritten (journal ``pool`` ``members`` rows)."""
    rows = crm.journal("admin", limit=10_000)
    return sum(1 for j in rows if j.entity == "pool" and j.action == "members")


@PG_ONLY
def test_two_releases_at_once_leave_pool_members_alone(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """Regression: each release synced its pool's members (DELETE then INSERT, no lock);
    with the YAML naming a user added after the apply, two releases at once both synced
    and the loser failed on pool_member_pkey. A release no longer syncs members, so two
    releases of different records do not even wait for each other."""
    pool_sync_setup(crm, db_url, tmp_path)
    syncs = member_syncs(crm)
    mine, yours = add_leads(crm, 2, owners=["op0", "op1"])

    released_a, released_b = paused_race(
        db_url,
        clock,
        Pause(r"^UPDATE record SET"),  # op0's release, just before it moves the record
        lambda c: c.release("op0", mine, "not for me"),
        lambda c: c.release("op1", yours, "not for me"),
        waits_on=None,
    )

    assert not isinstance(released_a, Exception) and released_a.pool == "public", released_a
    assert not isinstance(released_b, Exception) and released_b.pool == "public", released_b
    assert moves(crm, "release") == Counter([mine, yours])
    assert (pool_members(crm), member_syncs(crm)) == (["op0", "op1"], syncs)
    assert_one_place_each(crm)


@PG_ONLY
def test_a_sweep_and_an_apply_sync_pool_members_one_at_a_time(
    crm: Crm, db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """Regression: pools.ensure_pools synced a pool's members by DELETE then INSERT with
    no lock, so two syncs at once (here a sweep and an apply of the same YAML) both
    inserted the missing member and the loser failed on pool_member_pkey. Now each sync
    first locks the pool row: the apply waits for the sweep, then finds the members up
    to date."""
    wf = pool_sync_setup(crm, db_url, tmp_path)
    syncs = member_syncs(crm)

    swept, applied = paused_race(
        db_url,
        clock,
        Pause(r"^INSERT INTO pool_member"),  # the sweep's sync, after its DELETE
        lambda c: c.sweep("admin"),
        lambda c: c.apply_workflow("admin", wf),
        waits_on="row of pool",  # locked by the sweep's sync
    )

    assert isinstance(swept, list), repr(swept)
    assert not isinstance(applied, Exception), repr(applied)
    assert (pool_members(crm), member_syncs(crm)) == (["op0", "op1", "op2"], syncs + 1)
    assert_one_place_each(crm)


# -- found while writing the above: not a race ------------------------------------------


def test_sweep_counts_what_it_returned(crm: Crm, tmp_path: Path, clock: ManualClock) -> None:
    """The count a sweep reports is the number of records it moved (on PostgreSQL the
    driver gives no rowcount for INSERT … SELECT: it reported -1 per rule)."""
    setup_operators(crm, ["op0"])
    wf = write_workflow(tmp_path, "wf.yaml", pools=[public_pool(["op0"])])
    crm.apply_workflow("admin", wf)
    add_leads(crm, 3, region="idle", owners=["op0"])
    clock.advance(IDLE_AFTER)

    (swept,) = crm.sweep("admin")

    assert len(moves(crm, "return")) == 3
    assert (swept.returned, swept.by_rule) == (3, {"pool:public:idle": 3})
    (again,) = crm.sweep("admin")
    assert (again.returned, again.by_rule) == (0, {})
