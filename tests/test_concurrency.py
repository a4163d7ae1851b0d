"""Writers racing each other: each thread has its own ``Crm`` (its own engine and
connections), as separate ``crm`` processes would. A ``threading.Barrier`` lines
them up so their transactions overlap.

Runs on SQLite (writers queue on the database lock) and on PostgreSQL (row
locks and the dedupe key's primary key do the work).
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from crm_core.api import Conflict, Crm, Duplicate

THREADS = 8
# One number, written eight ways: the dedupe key is the same E.164 number.
PHONES = [
    "13900001111", "139 0000 1111", "+86 139-0000-1111", "+8613900001111",
    "139-0000-1111", "(139) 0000 1111", "+86 13900001111", "86-139-0000-1111",
]  # fmt: skip


def race(db_url: str, work: Callable[[Crm, int], Any]) -> list[Any]:
    """Run ``work(crm, i)`` in ``THREADS`` threads at once; return each result or exception."""
    barrier = threading.Barrier(THREADS, timeout=30)
    results: list[Any] = [None] * THREADS

    def run(i: int) -> None:
        crm = Crm.open(db_url)
        try:
            crm.count_records("admin")  # open a connection and check the schema first
            barrier.wait()
            results[i] = work(crm, i)
        except Exception as exc:  # collected and checked by the test
            results[i] = exc
        finally:
            crm.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert not any(isinstance(r, threading.BrokenBarrierError) for r in results)
    return results


def record_journal(crm: Crm) -> Counter[tuple[int | None, str]]:
    rows = crm.journal("admin", limit=10_000)
    return Counter((j.record_id, j.action) for j in rows if j.entity == "record")


def test_same_phone_at_once_makes_one_record(crm: Crm, db_url: str) -> None:
    assert {crm.registry.normalizers["phone"](p) for p in PHONES} == {"+8613900001111"}

    def add(c: Crm, i: int) -> int:
        fields = {"name": f"Lead {i}", "phone": PHONES[i]}
        return c.add_record("admin", "lead", fields).record.id

    results = race(db_url, add)

    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if not isinstance(r, int)]
    assert len(winners) == 1, results
    assert len(losers) == THREADS - 1
    # Refused as a conflict (exit 5): a duplicate of the winner, or "just added; retry".
    for exc in losers:
        assert isinstance(exc, Conflict), repr(exc)
        assert exc.exit_code == 5
        if isinstance(exc, Duplicate):
            assert exc.record_id == winners[0] and exc.value == "+8613900001111"

    states = crm.record_states("admin")
    assert list(states) == winners
    assert states[winners[0]]["fields"]["phone"] in PHONES
    assert record_journal(crm) == Counter({(winners[0], "create"): 1})
    assert crm.replay_journal("admin") == states
    # The key is still enforced afterwards.
    with pytest.raises(Duplicate):
        crm.add_record("admin", "lead", {"name": "Late", "phone": "13900001111"})


def test_different_phones_at_once_all_succeed(crm: Crm, db_url: str) -> None:
    def add(c: Crm, i: int) -> int:
        fields = {"name": f"Lead {i}", "phone": f"1390000{1000 + i}"}
        return c.add_record("admin", "lead", fields).record.id

    results = race(db_url, add)

    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == THREADS
    assert sorted(crm.record_states("admin")) == sorted(results)
    assert record_journal(crm) == Counter({(r, "create"): 1 for r in results})


def test_same_version_at_once_lets_one_update_through(crm: Crm, db_url: str) -> None:
    rid = crm.add_record("admin", "lead", {"name": "Wang", "phone": "13900001111"}).record.id
    assert crm.get_record("admin", rid).version == 1

    def update(c: Crm, i: int) -> str:
        c.update_record("admin", rid, {"region": f"region {i}"}, expected_version=1)
        return f"region {i}"

    results = race(db_url, update)

    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if not isinstance(r, str)]
    assert len(winners) == 1, results
    assert all(isinstance(e, Conflict) and not isinstance(e, Duplicate) for e in losers), losers
    assert all(e.exit_code == 5 and "not 1" in str(e) for e in losers)

    record = crm.get_record("admin", rid)
    assert record.version == 2
    assert record.fields["region"] == winners[0]
    journal = record_journal(crm)
    assert journal == Counter({(rid, "create"): 1, (rid, "update"): 1})
    assert crm.replay_journal("admin") == crm.record_states("admin")


def test_unguarded_updates_at_once_all_land_in_order(crm: Crm, db_url: str) -> None:
    """Without ``expected_version`` every writer gets through, one after another."""
    rid = crm.add_record("admin", "member", {"name": "Li", "visits": 0}).record.id

    def update(c: Crm, i: int) -> int:
        return c.update_record("admin", rid, {"visits": i + 1, "name": f"Li {i}"}).version

    results = race(db_url, update)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == list(range(2, THREADS + 2))
    record = crm.get_record("admin", rid)
    assert record.version == THREADS + 1
    assert record_journal(crm)[(rid, "update")] == THREADS
    # Each journal row's "before" is the previous row's "after": no lost update.
    rows = [j for j in reversed(crm.journal("admin", record_id=rid)) if j.action == "update"]
    for earlier, later in itertools.pairwise(rows):
        assert later.before == earlier.after
    assert crm.replay_journal("admin") == crm.record_states("admin")
