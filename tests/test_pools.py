"""Public pools (公海) and the scheduler: returns, warnings, stage limits, rotation, claims,
releases, the pool list, ``record why``, dry runs, replay, channels, simulation and the CLI.

Every scenario writes its own workflow to ``tmp_path``, applies it and moves the
test clock; the assertions read owners, pools, tasks and journal rows back through
the public API. Tests with a "Regression:" comment cover bugs these tests found (claims
and rotations that did not restart the idle clock, pools created only by a sweep, -1
counts on PostgreSQL, …); they were fixed in crm_core while this file was written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crm_core import hookimpl
from crm_core.api import Conflict, Crm, InvalidInput, NotFound, OutboxMessage, PermissionDenied
from crm_core.cli.main import app
from crm_core.clock import ManualClock
from crm_core.testing import CLEAN_ENV

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the test clock's start (conftest)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

# -- workflows --------------------------------------------------------------------

STAGES = """\
stages:
  - id: new
  - id: contacted
  - id: won
    outcome: won
transitions:
  - {from: new, to: [contacted, won]}
  - {from: contacted, to: won}
"""

PUBLIC = """\
  - id: public
    label: {en: Public pool, zh: 公海}
    members: [alice, bob]
    admins: [mia]
    return:
      - id: idle
        when: {days_since: last_activity, gt: 14}
        warn_days_before: 2
    exempt: {any: [{stage: won}, {field: budget, gte: 100000}]}
    claim: {max_held: 3, max_per_day: 2, reclaim_after_days: 7}
"""

BACKLOG = """\
  - id: backlog
    members: [alice, bob]
"""

ROTA = """\
  - id: rota
    members: [alice, bob, carol]
    rotation: {max_rotations: 2}
    return:
      - id: idle
        when: {days_since: last_activity, gt: 14}
"""

LIMIT_STAGES = """\
stages:
  - id: new
    max_days: {days: 3, action: notify}
  - id: contacted
    max_days: {days: 5, action: escalate}
  - id: qualified
    max_days: {days: 7, action: return_to_pool, pool: backlog}
  - id: proposal
    max_days: {days: 7, action: return_to_pool}
  - id: won
    outcome: won
transitions:
  - {from: new, to: contacted}
  - {from: contacted, to: [new, qualified]}
  - {from: qualified, to: proposal}
  - {from: proposal, to: won}
"""

SLA = """\
assignment:
  strategy: round_robin
  members: [alice, bob]
  sla: {contact_within_hours: 24, then: notify}
"""


def write_workflow(
    tmp_path: Path,
    pools: str = PUBLIC,
    *,
    stages: str = STAGES,
    head: str = "",
    version: int = 1,
    name: str = "leads.yaml",
) -> Path:
    """A ``lead`` workflow in Asia/Shanghai (local midnight is 16:00 UTC) with these pools."""
    path = tmp_path / name
    text = (
        f"workflow: leads\nversion: {version}\nkind: lead\ntimezone: Asia/Shanghai\n"
        f"{stages}{head}pools:\n{pools}"
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def public(people: Crm, tmp_path: Path) -> Crm:
    """The people, with the workflow of pool ``public`` applied (no sweep yet)."""
    people.apply_workflow("admin", write_workflow(tmp_path))
    return people


# -- helpers ----------------------------------------------------------------------


def lead(crm: Crm, owner: str, n: int, **fields: Any) -> int:
    """A lead owned by ``owner``, with a phone of its own (phones are dedupe keys)."""
    values = {"name": f"Lead {n}", "phone": f"1390000{n:04d}", **fields}
    return crm.add_record("admin", "lead", values, owner=owner).record.id


def pooled(crm: Crm, n: int, *, by: str = "bob", pool: str | None = None) -> int:
    """A lead that ``by`` owned and released into ``pool`` (the workflow's first by default)."""
    rid = lead(crm, by, n)
    crm.release(by, rid, "not my region", pool=pool)
    return rid


def uid(crm: Crm, name: str) -> int:
    return next(u.id for u in crm.list_users("admin") if u.name == name)


def pool_id(crm: Crm, name: str) -> int:
    return next(p.id for p in crm.list_pools("admin") if p.name == name)


def where(crm: Crm, rid: int) -> tuple[str | None, str | None]:
    """(owner, pool) of a record."""
    r = crm.get_record("admin", rid)
    return r.owner, r.pool


def rows(crm: Crm, rid: int, action: str | None = None) -> list[Any]:
    """The record's own journal rows (not its tasks'), oldest first, optionally of one action."""
    out = list(reversed(crm.journal("admin", record_id=rid, limit=1000)))
    return [r for r in out if r.entity == "record" and (action is None or r.action == action)]


def tasks(crm: Crm, cause: str | None = None) -> list[tuple[str, int | None, str | None]]:
    """Open tasks as (assignee, record id, cause), optionally of one cause."""
    out = [(t.assignee, t.record_id, t.cause) for t in crm.list_tasks("admin")]
    return [t for t in out if cause is None or t[2] == cause]


def snapshot(crm: Crm) -> tuple[Any, ...]:
    """What a refusal or a dry run must leave as it was (every write is journaled)."""
    journal = crm.journal("admin", limit=10_000)
    return (
        len(journal),
        crm.record_states("admin"),
        [t.to_dict() for t in crm.list_tasks("admin", include_done=True)],
        [p.to_dict() for p in crm.list_pools("admin")],
        [w.to_dict() for w in crm.list_workflows("admin")],
    )


def assert_replays(crm: Crm) -> None:
    assert crm.replay_journal("admin") == crm.record_states("admin")


def counts(result: Any, **want: Any) -> None:
    """Assert some of a sweep's counts (a result object or its JSON dict)."""
    got = {k: result[k] if isinstance(result, dict) else getattr(result, k) for k in want}
    assert got == want


def sweep(crm: Crm) -> Any:
    """Sweep as the admin; the one workflow's result."""
    (result,) = crm.sweep("admin")
    return result


# -- 1. returns ------------------------------------------------------------------


def test_idle_record_returns_to_the_pool_with_cause_and_reason(
    public: Crm, clock: ManualClock
) -> None:
    idle = lead(public, "alice", 1)
    busy = lead(public, "alice", 2)
    archived = lead(public, "alice", 3)
    public.archive_record("admin", archived)
    clock.advance(10 * DAY)
    public.log_activity("alice", busy, "call")
    clock.advance(4 * DAY)  # exactly 14 days idle: `gt: 14` is not met yet
    counts(sweep(public), returned=0, by_rule={"pool:public:idle:warn": 1})
    assert where(public, idle) == ("alice", None)

    clock.advance(DAY)
    counts(sweep(public), returned=1, rotated=0, by_rule={"pool:public:idle": 1})
    assert where(public, idle) == (None, "public")
    assert where(public, busy) == ("alice", None)
    assert where(public, archived) == ("alice", None)
    back = rows(public, idle)[-1]
    assert (back.action, back.cause, back.actor, back.at) == (
        "return", "pool:public:idle", "admin", START + 15 * DAY
    )  # fmt: skip
    assert back.reason == "rule idle of pool public"
    assert back.before == {"owner_id": uid(public, "alice"), "pool_id": None}
    assert back.after == {"owner_id": None, "pool_id": pool_id(public, "public")}
    assert rows(public, archived, "return") == rows(public, busy, "return") == []

    counts(sweep(public), returned=0)  # nothing owned is idle any more
    assert_replays(public)


def test_a_returned_record_cannot_be_reclaimed_by_its_last_owner_at_once(
    public: Crm, clock: ManualClock
) -> None:
    rid = lead(public, "alice", 1)
    clock.advance(15 * DAY)
    sweep(public)
    with pytest.raises(Conflict, match=f"alice held #{rid} until 2026-03-17"):
        public.claim("alice", rid)
    assert public.claim("bob", rid).owner == "bob"


def test_system_sweep_journals_no_actor(public: Crm, clock: ManualClock) -> None:
    rid = lead(public, "alice", 1)
    clock.advance(15 * DAY)
    (result,) = public.sweep(None)
    back = rows(public, rid)[-1]
    assert (back.actor, back.cause, back.action) == (None, "pool:public:idle", "return")
    counts(result, returned=1)


def test_operators_may_not_sweep(public: Crm) -> None:
    with pytest.raises(PermissionDenied, match="may not run the scheduler"):
        public.sweep("alice")
    assert public.sweep("mia")[0].workflow == "leads"


def test_sweep_counts_the_records_it_returns(public: Crm, clock: ManualClock) -> None:
    # Regression: on PostgreSQL (psycopg) the rowcount of INSERT … SELECT is -1, and every
    # return rule once counted -1 whether it moved no record or many.
    lead(public, "alice", 1)
    lead(public, "bob", 2)
    nothing_due = sweep(public)
    clock.advance(15 * DAY)
    both = sweep(public)
    assert (nothing_due.returned, nothing_due.by_rule) == (0, {})
    assert (both.returned, both.by_rule) == (2, {"pool:public:idle": 2})


# -- 2. exemptions ---------------------------------------------------------------


def test_exempt_records_stay_and_get_no_warning(public: Crm, clock: ManualClock) -> None:
    won = lead(public, "alice", 1)
    public.move_record("admin", won, "won")
    key = lead(public, "alice", 2, budget=250_000)
    small = lead(public, "alice", 3, budget=5_000)
    plain = lead(public, "bob", 4)
    clock.advance(12 * DAY + 12 * HOUR)
    assert sweep(public).warned == 2
    assert {r for _a, r, _c in tasks(public, "pool:public:idle:warn")} == {small, plain}
    clock.advance(3 * DAY)
    counts(sweep(public), returned=2)
    assert where(public, won) == ("alice", None)
    assert where(public, key) == ("alice", None)
    assert where(public, small) == (None, "public")
    assert where(public, plain) == (None, "public")

    why = public.why("alice", key)
    assert why.upcoming == []
    (note,) = why.notes
    prefix = "exempt from pool public returns: "
    assert note.startswith(prefix)  # JSON, its keys in the backend's order (JSONB sorts them)
    exempt = {"any": [{"stage": "won"}, {"field": "budget", "gte": 100000}]}
    assert json.loads(note.removeprefix(prefix)) == exempt


# -- 3. warnings -----------------------------------------------------------------


def test_warning_once_per_tenure_then_again_after_a_claim(public: Crm, clock: ManualClock) -> None:
    rid = lead(public, "alice", 1)
    clock.advance(12 * DAY)  # exactly 12 days: the return is not within 2 days yet
    assert sweep(public).warned == 0
    clock.advance(12 * HOUR)
    counts(sweep(public), warned=1, by_rule={"pool:public:idle:warn": 1})
    (task,) = public.list_tasks("alice")
    assert task.cause == "pool:public:idle:warn"
    assert task.cause.endswith(":warn")
    assert (task.record_id, task.due_at) == (rid, START + 12 * DAY + 12 * HOUR)
    assert task.note == (
        f"#{rid} Lead 1 returns to pool 公海 within 2 day(s), by 2026-03-17 05:00 Asia/Shanghai "
        "(rule idle) unless you follow up"
    )
    clock.advance(2 * HOUR)
    assert sweep(public).warned == 0
    assert len(public.list_tasks("alice")) == 1

    clock.advance(2 * DAY)  # day 14.6: returned
    sweep(public)
    assert where(public, rid) == (None, "public")
    clock.advance(7 * DAY)  # reclaim_after_days: 7
    public.claim("alice", rid)
    public.log_activity("alice", rid, "call")  # a new tenure, idle from now on
    clock.advance(12 * DAY + 12 * HOUR)
    assert sweep(public).warned == 1
    # The first warning closed when the record went back to the pool; only the new one is open.
    warned = tasks(public, "pool:public:idle:warn")
    assert warned == [("alice", rid, "pool:public:idle:warn")]
    assert_replays(public)


def test_a_second_idle_period_of_the_same_owner_is_warned_again(
    public: Crm, clock: ManualClock
) -> None:
    # Regression: warnings were once per tenure, so an owner who followed up and went idle
    # again lost the record without a second warning.
    rid = lead(public, "alice", 1)
    clock.advance(12 * DAY + 12 * HOUR)
    assert sweep(public).warned == 1
    clock.advance(HOUR)
    public.log_activity("alice", rid, "call")  # the follow-up the warning asked for
    clock.advance(12 * DAY + 12 * HOUR)  # idle again, 2 days before the next return
    assert sweep(public).warned == 1
    # the follow-up closed the first warning; the second idle period has its own
    assert tasks(public, "pool:public:idle:warn") == [("alice", rid, "pool:public:idle:warn")]
    assert len(public.list_tasks("admin", include_done=True)) == 2
    clock.advance(HOUR)
    assert sweep(public).warned == 0


# -- 4. stage limits -------------------------------------------------------------


@pytest.fixture
def staged(people: Crm, tmp_path: Path) -> Crm:
    pools = "  - id: public\n    members: [alice, bob, carol]\n" + BACKLOG
    people.apply_workflow("admin", write_workflow(tmp_path, pools, stages=LIMIT_STAGES))
    return people


def _to(crm: Crm, rid: int, *stages: str) -> None:
    for stage in stages:
        crm.move_record("admin", rid, stage)


def test_stage_limits_notify_escalate_and_return(staged: Crm, clock: ManualClock) -> None:
    n = lead(staged, "alice", 1)
    east = lead(staged, "alice", 2)
    west = lead(staged, "carol", 3)
    q = lead(staged, "alice", 4)
    p = lead(staged, "bob", 5)
    _to(staged, east, "contacted")
    _to(staged, west, "contacted")
    _to(staged, q, "contacted", "qualified")
    _to(staged, p, "contacted", "qualified", "proposal")

    forecast = staged.why("alice", n).upcoming
    assert [(f.at, f.event, f.rule) for f in forecast] == [
        (START + 3 * DAY, "the owner is reminded: 3 day(s) in new", "stage:new")
    ]
    assert staged.why("carol", west).upcoming[0].event == (
        "the owner's manager is told: 5 day(s) in contacted"
    )

    clock.advance(3 * DAY + HOUR)
    counts(sweep(staged), alerted=1, returned=0, by_rule={"stage:leads:new:notify": 1})
    assert tasks(staged) == [("alice", n, "stage:leads:new:notify")]
    (task,) = staged.list_tasks("alice")
    assert (
        task.note
        == f"#{n} Lead 1: more than 3 day(s) in new (since 2026-03-02 17:00 Asia/Shanghai)"
    )
    clock.advance(HOUR)
    assert sweep(staged).alerted == 0  # once per stage tenure

    clock.advance(2 * DAY)  # 5 days + 2 hours in contacted
    counts(sweep(staged), alerted=2, by_rule={"stage:leads:contacted:escalate": 2})
    assert sorted(tasks(staged, "stage:leads:contacted:escalate")) == [
        ("admin", west, "stage:leads:contacted:escalate"),  # west has no manager
        ("mia", east, "stage:leads:contacted:escalate"),
    ]
    assert staged.list_tasks("carol") == []

    clock.advance(2 * DAY)  # 7 days + 2 hours in qualified and proposal
    counts(
        sweep(staged),
        returned=2,
        by_rule={
            "stage:leads:proposal:return_to_pool": 1,
            "stage:leads:qualified:return_to_pool": 1,
        },
    )
    assert where(staged, q) == (None, "backlog")
    assert where(staged, p) == (None, "public")  # no pool named: the workflow's first
    back = rows(staged, q)[-1]
    assert (back.action, back.cause, back.reason) == (
        "return", "stage:leads:qualified:return_to_pool", "more than 7 day(s) in qualified"
    )  # fmt: skip

    _to(staged, n, "contacted", "new")  # a new tenure in `new`
    clock.advance(3 * DAY + HOUR)
    sweep(staged)
    # leaving `new` closed the first reminder; the new tenure has its own
    assert tasks(staged, "stage:leads:new:notify") == [("alice", n, "stage:leads:new:notify")]
    assert_replays(staged)


# -- 5. rotation -----------------------------------------------------------------


@pytest.fixture
def rota(people: Crm, tmp_path: Path) -> Crm:
    people.apply_workflow("admin", write_workflow(tmp_path, ROTA))
    return people


def test_rotation_passes_a_record_on_then_returns_it(rota: Crm, clock: ManualClock) -> None:
    rid = lead(rota, "alice", 1)
    alice, bob, carol = (uid(rota, n) for n in ("alice", "bob", "carol"))
    clock.advance(15 * DAY)
    result = sweep(rota)
    assert (result.rotated, result.returned, result.by_rule) == (1, 0, {"pool:rota:idle": 1})
    assert where(rota, rid) == ("bob", None)
    turn = rows(rota, rid)[-1]
    assert (turn.action, turn.cause, turn.actor) == ("rotate", "pool:rota:idle", "admin")
    assert (turn.before, turn.after) == ({"owner_id": alice}, {"owner_id": bob})
    assert rota.why("bob", rid).rotations == 1

    clock.advance(15 * DAY)
    assert sweep(rota).rotated == 1
    assert where(rota, rid) == ("carol", None)
    assert rows(rota, rid)[-1].after == {"owner_id": carol}
    why = rota.why("carol", rid)
    assert why.rotations == 2
    assert why.upcoming[0].event == "returns to pool rota"

    clock.advance(15 * DAY)
    result = sweep(rota)
    assert (result.rotated, result.returned) == (0, 1)
    assert where(rota, rid) == (None, "rota")
    back = rows(rota, rid)[-1]
    assert (back.action, back.reason) == (
        "return", "rotated 2 time(s) or no member left who has not held it"
    )  # fmt: skip
    assert [r.action for r in rows(rota, rid) if r.action in ("rotate", "return")] == [
        "rotate", "rotate", "return"
    ]  # fmt: skip
    assert rota.why("admin", rid).rotations == 0
    assert_replays(rota)


def test_rotation_skips_former_holders_and_inactive_members(rota: Crm, clock: ManualClock):
    before = lead(rota, "alice", 1)
    rota.release("alice", before, "too busy")  # alice held it before
    rota.claim("bob", before)
    clock.advance(2 * DAY)
    later = lead(rota, "alice", 2)
    clock.advance(13 * DAY + HOUR)
    assert sweep(rota).rotated == 1
    assert where(rota, before) == ("carol", None)  # not alice, first in the list
    assert where(rota, later) == ("alice", None)

    rota.set_user_active("admin", "bob", False)
    clock.advance(2 * DAY)
    assert sweep(rota).rotated == 1
    assert where(rota, later) == ("carol", None)  # bob is inactive


def test_rotation_with_nobody_left_returns_to_the_pool(rota: Crm, clock: ManualClock) -> None:
    rid = lead(rota, "alice", 1)
    rota.set_user_active("admin", "bob", False)
    rota.set_user_active("admin", "carol", False)
    clock.advance(15 * DAY)
    result = sweep(rota)
    assert (result.rotated, result.returned) == (0, 1)
    assert where(rota, rid) == (None, "rota")


def test_the_next_member_gets_time_to_work_a_rotated_record(rota: Crm, clock: ManualClock) -> None:
    # Regression: rotation did not restart the idle clock, so the next sweep passed it on again.
    rid = lead(rota, "alice", 1)
    clock.advance(15 * DAY)
    sweep(rota)
    assert where(rota, rid) == ("bob", None)
    clock.advance(DAY)
    sweep(rota)
    assert where(rota, rid) == ("bob", None)


# -- 6. claims ---------------------------------------------------------------------


def test_a_member_claims_a_pooled_record(public: Crm) -> None:
    rid = pooled(public, 1)
    assert where(public, rid) == (None, "public")
    view = public.claim("alice", rid)
    assert (view.owner, view.pool) == ("alice", None)
    entry = rows(public, rid)[-1]
    assert (entry.action, entry.cause, entry.actor) == ("claim", "claim:public", "alice")
    assert entry.before == {"owner_id": None, "pool_id": pool_id(public, "public")}
    assert entry.after == {"owner_id": uid(public, "alice"), "pool_id": None}
    assert public.claim("mia", pooled(public, 2)).owner == "mia"  # a pool admin may claim
    assert_replays(public)


def test_claim_refusals_change_nothing(public: Crm) -> None:
    rid = pooled(public, 1)
    owned = lead(public, "bob", 2)
    gone = pooled(public, 3)
    public.archive_record("admin", gone)
    before = snapshot(public)
    with pytest.raises(PermissionDenied, match="not in any of your pools; carol may not use it"):
        public.claim("carol", rid)
    with pytest.raises(Conflict, match=f"record #{owned} is not in a pool"):
        public.claim("alice", owned)
    with pytest.raises(NotFound):
        public.claim("alice", gone)
    with pytest.raises(NotFound):
        public.claim("alice", 9999)
    assert snapshot(public) == before


def test_max_per_day_resets_at_the_next_local_midnight(public: Crm, clock: ManualClock):
    ids = [pooled(public, n) for n in range(1, 4)]
    public.claim("alice", ids[0])
    public.claim("alice", ids[1])
    before = snapshot(public)
    with pytest.raises(Conflict, match="alice has claimed 2 today, the most pool 'public' allows"):
        public.claim("alice", ids[2])
    assert snapshot(public) == before
    clock.advance(6 * HOUR + 59 * MINUTE)  # 23:59 in Shanghai, still the same local day
    with pytest.raises(Conflict, match="claimed 2 today"):
        public.claim("alice", ids[2])
    clock.advance(MINUTE)  # 16:00 UTC: midnight in Shanghai, same UTC date
    assert public.claim("alice", ids[2]).owner == "alice"


def test_max_held_counts_live_records_of_the_kind(public: Crm, clock: ManualClock) -> None:
    mine = [lead(public, "alice", n) for n in range(1, 4)]
    rid = pooled(public, 9)
    with pytest.raises(Conflict, match="alice already holds 3 records, the most pool 'public'"):
        public.claim("alice", rid)
    public.archive_record("admin", mine[0])
    assert public.claim("alice", rid).owner == "alice"


def test_reclaim_after_days_names_the_date(public: Crm, clock: ManualClock) -> None:
    rid = lead(public, "alice", 1)
    clock.advance(HOUR)
    public.release("alice", rid, "wrong number")
    clock.advance(7 * DAY - MINUTE)
    before = snapshot(public)
    with pytest.raises(Conflict) as err:
        public.claim("alice", rid)
    assert str(err.value) == (
        f"alice held #{rid} until 2026-03-02: may claim it again from 2026-03-09T10:00+00:00"
    )
    assert snapshot(public) == before
    clock.advance(MINUTE)
    assert public.claim("alice", rid).owner == "alice"


def test_a_claimed_record_is_not_returned_by_the_next_sweep(
    public: Crm, clock: ManualClock
) -> None:
    # Regression: a claim did not restart the idle clock; the next sweep took the record back.
    rid = lead(public, "alice", 1)
    clock.advance(15 * DAY)
    sweep(public)
    public.claim("bob", rid)
    clock.advance(HOUR)
    sweep(public)
    assert where(public, rid) == ("bob", None)


def test_a_member_added_by_apply_may_claim_before_the_next_sweep(
    public: Crm, tmp_path: Path
) -> None:
    # Regression: pool members were synced only by a sweep (or a default-pool release).
    rid = pooled(public, 1)
    bigger = PUBLIC.replace("members: [alice, bob]", "members: [alice, bob, carol]")
    public.apply_workflow("admin", write_workflow(tmp_path, bigger, version=2, name="v2.yaml"))
    assert public.claim("carol", rid).owner == "carol"


def test_taking_a_pool_record_by_update_is_a_claim_within_the_caps(public: Crm) -> None:
    # Regression: `record update --owner ME` gave pool records away past max_held,
    # journalled as a plain assign.
    held = [lead(public, "alice", n) for n in range(1, 4)]  # max_held is 3
    rid = pooled(public, 9)
    before = snapshot(public)
    with pytest.raises(Conflict, match="already holds 3 records"):
        public.update_record("alice", rid, owner="alice")
    with pytest.raises(Conflict, match="already holds 3 records"):
        public.update_record("alice", rid, {"budget": 10}, owner="alice")
    assert snapshot(public) == before
    public.archive_record("alice", held[0])
    taken = public.update_record("alice", rid, {"budget": 10}, owner="alice")
    assert (taken.owner, taken.pool, taken.fields["budget"]) == ("alice", None, 10)
    claim = rows(public, rid, "claim")
    assert [(j.actor, j.cause) for j in claim] == [("alice", "claim:public")]


def test_unclaimed_pool_records_are_claimed_first(public: Crm) -> None:
    rid = pooled(public, 1)
    before = snapshot(public)
    for attempt in (
        lambda: public.update_record("alice", rid, {"budget": 5}),
        lambda: public.move_record("alice", rid, "contacted"),
        lambda: public.archive_record("alice", rid),
        lambda: public.log_activity("alice", rid, "call"),
        lambda: public.add_task("alice", rid, START + DAY, "call back"),
    ):
        with pytest.raises(PermissionDenied, match="claim it first"):
            attempt()
    assert snapshot(public) == before
    assert public.get_record("alice", rid).pool == "public"  # still visible to members


def test_a_manager_assigns_a_pool_record_with_its_own_cause(public: Crm) -> None:
    rid = pooled(public, 1)
    given = public.update_record("mia", rid, owner="alice")
    assert (given.owner, given.pool) == ("alice", None)
    (row,) = rows(public, rid, "assign")
    assert (row.actor, row.cause) == ("mia", "assign:public")
    with pytest.raises(PermissionDenied, match="only to their team, not to carol"):
        public.update_record("mia", pooled(public, 2), owner="carol")


def test_pools_do_not_leak_across_teams(public: Crm) -> None:
    # Regression: any manager listed any pool, titles and return reasons included.
    public.add_user("admin", "wes", "manager", "west")
    public.add_pool("admin", "west-pool", ["carol"])
    lead(public, "carol", 1)
    public.release("carol", 1, "wrong region", pool="west-pool")
    assert public.pool_page("wes", "west-pool").total == 1  # carol is his team's
    assert [p.name for p in public.list_pools("mia", usable=True)] == ["east-pool", "public"]
    assert [p.name for p in public.list_pools("wes", usable=True)] == ["west-pool"]
    assert len(public.list_pools("admin", usable=True)) == 3
    before = snapshot(public)
    with pytest.raises(PermissionDenied, match="mia may not see pool 'west-pool'"):
        public.pool_page("mia", "west-pool")
    with pytest.raises(PermissionDenied, match="may not use it"):
        public.get_record("mia", 1)
    with pytest.raises(PermissionDenied, match="wes may not see pool 'public'"):
        public.pool_page("wes", "public")
    assert snapshot(public) == before


def test_release_only_into_ones_own_or_ones_teams_pools(public: Crm) -> None:
    # Regression: an operator of team west released into east's pool.
    rid = lead(public, "carol", 1)
    before = snapshot(public)
    with pytest.raises(PermissionDenied, match="carol may not release into pool 'public'"):
        public.release("carol", rid, "not mine", pool="public")
    assert snapshot(public) == before
    public.add_pool("admin", "west-pool", ["carol"])
    assert public.release("carol", rid, "wrong region", pool="west-pool").pool == "west-pool"


# -- 7. releases -------------------------------------------------------------------


def test_release_needs_a_reason(public: Crm) -> None:
    rid = lead(public, "alice", 1)
    before = snapshot(public)
    for reason in ("", "   "):
        with pytest.raises(InvalidInput, match="a release needs --reason"):
            public.release("alice", rid, reason)
    assert snapshot(public) == before


def test_release_goes_to_the_first_pool_or_the_one_chosen(people: Crm, tmp_path: Path):
    people.apply_workflow("admin", write_workflow(tmp_path, PUBLIC + BACKLOG))
    first = lead(people, "alice", 1)
    chosen = lead(people, "alice", 2)
    assert people.release("alice", first, "no budget this year").pool == "public"
    assert people.release("alice", chosen, "call in Q3", pool="backlog").pool == "backlog"
    entry = rows(people, chosen)[-1]
    assert (entry.action, entry.cause, entry.actor, entry.reason) == (
        "release", "release:backlog", "alice", "call in Q3"
    )  # fmt: skip
    assert entry.after == {"owner_id": None, "pool_id": pool_id(people, "backlog")}
    with pytest.raises(Conflict, match="alice held"):  # remembered: reclaim_after_days
        people.claim("alice", first)
    assert_replays(people)


def test_release_refusals(public: Crm) -> None:
    bobs = lead(public, "bob", 1)
    alices = lead(public, "alice", 2)
    waiting = pooled(public, 3)
    before = snapshot(public)
    with pytest.raises(PermissionDenied, match=f"record #{bobs} is owned by bob"):
        public.release("alice", bobs, "not mine")
    with pytest.raises(Conflict, match="has no owner to release"):
        public.release("alice", waiting, "again")
    with pytest.raises(NotFound, match="no pool 'nowhere'"):
        public.release("alice", alices, "x", pool="nowhere")
    assert snapshot(public) == before
    assert public.release("mia", alices, "reassigning the region").pool == "public"
    with pytest.raises(Conflict, match="alice held"):  # alice was the owner, not mia
        public.claim("alice", alices)


def test_release_to_a_named_workflow_pool_before_any_sweep(public: Crm) -> None:
    # Regression: apply did not create the pools; `--pool public` was NotFound until a sweep.
    assert public.pool_page("alice", "public").total == 0
    rid = lead(public, "alice", 1)
    assert public.release("alice", rid, "not a fit", pool="public").pool == "public"


def test_release_refuses_an_archived_record(public: Crm) -> None:
    # Regression: an archived record was released into the pool, unlisted and unclaimable.
    rid = lead(public, "alice", 1)
    public.archive_record("admin", rid)
    before = snapshot(public)
    with pytest.raises(Conflict, match=f"record #{rid} is archived"):
        public.release("alice", rid, "closing")
    assert snapshot(public) == before


# -- 8. the pool list --------------------------------------------------------------


def test_pool_page_pages_newest_first_with_allowance(public: Crm, clock: ManualClock) -> None:
    ids = [pooled(public, n) for n in range(1, 6)]
    page = public.pool_page("alice", "public", limit=2)
    assert (page.pool, page.total) == ("public", 5)
    assert [e.record_id for e in page.entries] == [ids[4], ids[3]]
    entry = page.entries[0]
    assert (entry.how, entry.cause, entry.reason, entry.since) == (
        "release", "release:public", "not my region", START
    )  # fmt: skip
    page = public.pool_page("alice", "public", limit=2, before_id=ids[3])
    assert [e.record_id for e in page.entries] == [ids[2], ids[1]]
    page = public.pool_page("alice", "public", limit=2, before_id=ids[1])
    assert [e.record_id for e in page.entries] == [ids[0]]
    assert page.total == 5
    assert page.allowance == {
        "held": 0, "max_held": 3, "claimed_today": 0, "max_per_day": 2, "reclaim_after_days": 7
    }  # fmt: skip

    lead(public, "alice", 9)
    public.claim("alice", ids[4])
    page = public.pool_page("alice", "public")
    assert page.total == 4
    assert [e.record_id for e in page.entries] == ids[3::-1]
    assert page.allowance["held"] == 2
    assert page.allowance["claimed_today"] == 1
    clock.advance(DAY)
    assert public.pool_page("alice", "public").allowance["claimed_today"] == 0


def test_pool_page_refusals(public: Crm) -> None:
    pooled(public, 1)
    with pytest.raises(PermissionDenied, match="carol may not see pool 'public'"):
        public.pool_page("carol", "public")
    with pytest.raises(NotFound, match="no pool 'nosuchpool'"):
        public.pool_page("alice", "nosuchpool")
    assert public.pool_page("mia", "public").total == 1  # the pool's admin, a manager


def test_pool_page_shows_how_a_record_came_back(public: Crm, clock: ManualClock) -> None:
    rid = lead(public, "alice", 1)
    clock.advance(15 * DAY)
    sweep(public)
    (entry,) = public.pool_page("bob", "public").entries
    assert (entry.record_id, entry.how, entry.cause, entry.reason, entry.since) == (
        rid, "return", "pool:public:idle", "rule idle of pool public", START + 15 * DAY
    )  # fmt: skip


# -- 9. why ------------------------------------------------------------------------


def test_why_of_an_owned_record_forecasts_return_warning_and_sla(
    people: Crm, tmp_path: Path, clock: ManualClock
) -> None:
    people.apply_workflow("admin", write_workflow(tmp_path, head=SLA))
    claimed = pooled(people, 1)
    worked = lead(people, "alice", 2)
    clock.advance(HOUR)
    people.claim("alice", claimed)  # handed over at START + 1 h, not contacted since
    clock.advance(HOUR)
    people.log_activity("alice", worked, "call")  # last activity at START + 2 h
    clock.advance(HOUR)

    why = people.why("alice", claimed)
    assert (why.owner, why.owner_since, why.workflow, why.pool) == (
        "alice", START + HOUR, "leads", None
    )  # fmt: skip
    assert why.owner_cause == "claim by alice, cause claim:public"
    assert why.notes == []
    # "idle > 14 days" first holds in the minute after exactly 14 days; sweeps act on minutes.
    back = START + HOUR + 14 * DAY + MINUTE
    assert [(f.at, f.event, f.rule) for f in why.upcoming] == [
        (START + 25 * HOUR, "the owner is reminded: not contacted within 24 h", "sla"),
        (back - 2 * DAY, "the owner gets a warning task", "pool:public:idle"),
        (back, "returns to pool public", "pool:public:idle"),
    ]

    why = people.why("alice", worked)
    assert why.owner_cause == "create by admin, cause user:admin"
    last = START + 2 * HOUR
    assert [(f.at, f.event) for f in why.upcoming] == [  # never handed over: no SLA
        (last + 12 * DAY + MINUTE, "the owner gets a warning task"),
        (last + 14 * DAY + MINUTE, "returns to pool public"),
    ]

    # The forecasts agree with the sweep, to the minute.
    warn = "pool:public:idle:warn"
    people.sweep("admin", now=back - 2 * DAY - MINUTE)
    assert tasks(people, warn) == []
    people.sweep("admin", now=back - 2 * DAY)
    assert tasks(people, warn) == [("alice", claimed, warn)]
    people.sweep("admin", now=last + 12 * DAY + MINUTE)
    assert tasks(people, warn) == [("alice", claimed, warn), ("alice", worked, warn)]
    people.sweep("admin", now=back - MINUTE)
    assert where(people, claimed) == ("alice", None)
    people.sweep("admin", now=back)
    assert where(people, claimed) == (None, "public")
    people.sweep("admin", now=last + 14 * DAY)
    assert where(people, worked) == ("alice", None)
    people.sweep("admin", now=last + 14 * DAY + MINUTE)
    assert where(people, worked) == (None, "public")


def test_why_forecast_is_the_first_minute_the_sweep_acts_on(
    public: Crm, clock: ManualClock
) -> None:
    # Regression: with a last activity at 09:00:30 the forecast said 09:02 while the sweep
    # already returned the record at 09:01.
    rid = lead(public, "alice", 1)
    clock.advance(timedelta(seconds=30))
    public.log_activity("alice", rid, "call")  # at 09:00:30
    (back,) = [f.at for f in public.why("alice", rid).upcoming if f.event.startswith("returns")]
    assert back == START + 14 * DAY + MINUTE
    public.sweep("admin", now=back - MINUTE)
    assert where(public, rid) == ("alice", None)
    public.sweep("admin", now=back)
    assert where(public, rid) == (None, "public")


def test_why_does_not_forecast_a_warning_already_given(public: Crm, clock: ManualClock) -> None:
    # Regression: why kept forecasting "the owner gets a warning task" (at now) after it went out.
    rid = lead(public, "alice", 1)
    clock.advance(13 * DAY)
    assert sweep(public).warned == 1
    events = [f.event for f in public.why("alice", rid).upcoming]
    assert events == ["returns to pool public"]


def test_why_of_a_pooled_record(public: Crm, clock: ManualClock) -> None:
    rid = lead(public, "alice", 1)
    clock.advance(15 * DAY)
    sweep(public)
    why = public.why("bob", rid)
    assert (why.owner, why.pool, why.pool_since) == (None, "public", START + 15 * DAY)
    assert (why.pool_cause, why.pool_reason) == ("pool:public:idle", "rule idle of pool public")
    assert why.upcoming == []
    released = pooled(public, 2)
    assert public.why("alice", released).pool_reason == "not my region"


def test_why_without_a_workflow_and_of_an_archived_record(public: Crm) -> None:
    member = public.add_record("alice", "member", {"name": "Li", "phone": "13911112222"})
    why = public.why("alice", member.record.id)
    assert (why.owner, why.workflow, why.upcoming) == ("alice", None, [])
    assert why.notes == ["no workflow is applied to member: nothing is scheduled"]
    assert why.owner_cause == "create by alice, cause user:alice"
    rid = lead(public, "alice", 1)
    public.archive_record("admin", rid)
    why = public.why("alice", rid)
    assert (why.upcoming, why.notes) == ([], ["archived: the scheduler leaves it alone"])


def test_why_is_refused_for_records_the_actor_may_not_see(public: Crm) -> None:
    rid = lead(public, "bob", 1)
    with pytest.raises(PermissionDenied):
        public.why("carol", rid)
    assert public.why("mia", rid).owner == "bob"


# -- 10. dry runs and --now ----------------------------------------------------------


def _busy_day(crm: Crm, clock: ManualClock) -> tuple[int, int, int]:
    """Records due for every kind of sweep action on day 15 of the staged workflow."""
    idle = lead(crm, "alice", 1)  # idle 15 days: returned
    warn = lead(crm, "bob", 2)  # 15 days in new: the owner is reminded
    esc = lead(crm, "alice", 3)
    _to(crm, esc, "contacted")  # 15 days in contacted: the manager is told
    clock.advance(2 * DAY + 12 * HOUR)
    crm.log_activity("admin", warn, "call")  # idle 12.5 days on day 15: warned
    clock.advance(7 * DAY + 12 * HOUR)
    crm.log_activity("admin", esc, "call")  # idle 5 days on day 15: left alone
    clock.advance(5 * DAY)
    return idle, warn, esc


def test_dry_run_reports_what_the_sweep_does_and_changes_nothing(
    people: Crm, tmp_path: Path, clock: ManualClock
) -> None:
    pools = PUBLIC + BACKLOG
    people.apply_workflow("admin", write_workflow(tmp_path, pools, stages=LIMIT_STAGES))
    idle, warn, esc = _busy_day(people, clock)
    before = snapshot(people)
    dry = people.sweep("admin", dry_run=True)
    assert snapshot(people) == before  # records, tasks, journal, pools
    real = people.sweep("admin")
    assert real == dry
    after = snapshot(people)
    assert after[0] > before[0]
    assert sorted(tasks(people)) == [
        ("bob", warn, "pool:public:idle:warn"),
        ("bob", warn, "stage:leads:new:notify"),
        ("mia", esc, "stage:leads:contacted:escalate"),
    ]
    assert where(people, idle) == (None, "public")
    assert_replays(people)
    (result,) = real
    counts(result, returned=1, warned=1, alerted=2)
    counts(  # the idle record left before the stage limits were checked
        result,
        by_rule={
            "pool:public:idle": 1,
            "pool:public:idle:warn": 1,
            "stage:leads:contacted:escalate": 1,
            "stage:leads:new:notify": 1,
        },
    )


def test_sweep_now_sweeps_as_of_that_moment(public: Crm, clock: ManualClock):
    rid = lead(public, "alice", 1)
    other = lead(public, "bob", 2)
    then = START + 20 * DAY
    before = snapshot(public)
    (dry,) = public.sweep("admin", now=then, dry_run=True)
    assert snapshot(public) == before
    (real,) = public.sweep("admin", now=then)
    assert real == dry
    back = rows(public, rid)[-1]
    assert (back.action, back.at) == ("return", then)
    clock.advance(DAY)
    public.update_record("admin", other, owner="alice")  # alice owns a record again
    (early,) = public.sweep("admin", now=START + 2 * DAY)
    assert where(public, other) == ("alice", None)
    counts(dry, returned=2)
    counts(early, returned=0)


# -- 11. replay --------------------------------------------------------------------


def test_journal_replays_after_sweeps_claims_releases_and_rotations(
    people: Crm, tmp_path: Path, clock: ManualClock
) -> None:
    people.apply_workflow("admin", write_workflow(tmp_path, ROTA + BACKLOG))
    ids = [lead(people, owner, n) for n, owner in enumerate(["alice", "bob", "carol"] * 2)]
    people.release("alice", ids[0], "not now")
    people.release("bob", ids[1], "later", pool="backlog")
    people.claim("bob", ids[0])
    people.move_record("admin", ids[2], "won")
    for _ in range(4):
        clock.advance(15 * DAY)
        sweep(people)
        assert_replays(people)
    people.claim("alice", ids[4])
    people.log_activity("alice", ids[4], "visit")
    people.release("alice", ids[4], "handing over", pool="backlog")
    people.claim("bob", ids[4])
    people.archive_record("admin", ids[5])
    sweep(people)
    actions = {r.action for rid in ids for r in rows(people, rid)}
    assert {"create", "release", "claim", "rotate", "return", "move", "archive"} <= actions
    assert_replays(people)


# -- 12. delivery channels -------------------------------------------------------


@dataclass
class Recorder:
    """A channel plugin that keeps every message it is handed."""

    messages: list[OutboxMessage] = field(default_factory=list)
    fail: bool = False

    @hookimpl
    def crm_register_channels(self, register: Any) -> None:
        register("recorder", self.deliver)

    def deliver(self, message: OutboxMessage) -> None:
        self.messages.append(message)
        if self.fail:
            raise RuntimeError("SMS gateway down")


def test_a_channel_plugin_receives_the_notices_after_the_commit_and_tasks_are_written(
    public: Crm, db_url: str, clock: ManualClock
) -> None:
    recorder = Recorder()
    crm = Crm.open(db_url, clock=clock, extra_plugins=[("recorder", recorder)])
    try:
        rid = lead(crm, "alice", 1)
        clock.advance(12 * DAY + 12 * HOUR)
        result = sweep(crm)
        assert (result.warned, result.notified, result.outbox) == (1, 1, {"recorder": 1})
        assert recorder.messages == []  # nothing is delivered inside the sweep
        assert crm.deliver_outbox().sent == 1
        (message,) = recorder.messages
        assert (message.user_id, message.record_id, message.cause, message.due_at) == (
            uid(crm, "alice"), rid, "pool:public:idle:warn", clock()
        )  # fmt: skip
        assert (message.user_name, message.record_title, message.attempt) == ("alice", "Lead 1", 1)
        assert message.message.startswith(f"#{rid} Lead 1 returns to pool 公海 within 2 day(s)")
        assert tasks(crm) == [("alice", rid, "pool:public:idle:warn")]
        sweep(crm)
        assert crm.deliver_outbox().total == 0
        assert len(recorder.messages) == 1
    finally:
        crm.close()


def test_a_failing_channel_leaves_the_sweep_committed(
    public: Crm, db_url: str, clock: ManualClock
) -> None:
    recorder = Recorder(fail=True)
    crm = Crm.open(db_url, clock=clock, extra_plugins=[("recorder", recorder)])
    try:
        idle = lead(crm, "alice", 1)
        clock.advance(2 * DAY + 12 * HOUR)
        lead(crm, "bob", 2)
        clock.advance(12 * DAY + 12 * HOUR)  # idle returns, the other one is warned
        counts(sweep(crm), returned=1, warned=1)
        report = crm.deliver_outbox()
        assert (report.sent, report.retrying) == (0, 1)
        assert len(recorder.messages) == 1
        assert where(crm, idle)[0] is None
        (row,) = crm.outbox("admin")
        assert (row.status, row.attempts, row.last_error) == (
            "pending", 1, "RuntimeError: SMS gateway down"
        )  # fmt: skip
    finally:
        crm.close()


# -- 13. simulation ----------------------------------------------------------------

SIM_POOLS = """\
  - id: rota
    members: [alice, bob, carol]
    rotation: {max_rotations: 1}
    return:
      - id: idle
        when: {days_since: last_activity, gt: 6}
        warn_days_before: 2
"""
SIM_STAGES = """\
stages:
  - id: new
    max_days: {days: 3, action: notify}
  - id: contacted
    max_days: {days: 4, action: escalate}
  - id: won
    outcome: won
"""
SIM_HEAD = """\
assignment:
  strategy: round_robin
  members: [alice, bob]
"""


def _sim_data(crm: Crm, clock: ManualClock) -> None:
    for n, owner in enumerate(["alice", "bob", "carol", "alice", "bob"]):
        rid = lead(crm, owner, n)
        if n == 1 and crm.list_workflows("admin"):
            crm.move_record("admin", rid, "contacted")
        clock.advance(HOUR * 7)
    crm.add_record("admin", "lead", {"name": "Nobody's", "phone": "13911110000"}, auto_assign=True)
    clock.advance(DAY)


def _tick_sums(crm: Crm) -> tuple[int, ...]:
    t = crm.tick()
    return (
        sum(a.assigned for a in t.assignments),
        *(sum(getattr(s, k) for s in t.sweeps) for k in SIM_COUNTS),
    )


SIM_COUNTS = ("warned", "returned", "rotated", "alerted", "reassigned")


@pytest.mark.parametrize("applied", [False, True], ids=["no-workflow-yet", "v1-applied"])
def test_simulate_predicts_the_days_and_keeps_nothing(
    people: Crm, tmp_path: Path, clock: ManualClock, applied: bool
) -> None:
    path = write_workflow(tmp_path, SIM_POOLS, stages=SIM_STAGES, head=SIM_HEAD, version=2)
    if applied:
        v1 = write_workflow(tmp_path, BACKLOG, stages=SIM_STAGES, name="v1.yaml")
        people.apply_workflow("admin", v1)
    _sim_data(people, clock)
    start = clock()
    before = snapshot(people)
    reports = people.simulate_workflow("admin", path, days=20)
    assert snapshot(people) == before
    assert [w.version for w in people.list_workflows("admin")] == ([1] if applied else [])
    assert "rota" not in [p.name for p in people.list_pools("admin")]
    assert [r.day for r in reports] == list(range(21))
    assert [r.at for r in reports] == [start + i * DAY for i in range(21)]
    predicted = [(r.assigned, *(getattr(r, k) for k in SIM_COUNTS)) for r in reports]

    people.apply_workflow("admin", path)
    actual = []
    for _ in range(21):
        actual.append(_tick_sums(people))
        clock.advance(DAY)
    assert predicted == actual
    totals = [sum(c) for c in zip(*actual, strict=True)]
    assert all(totals[:4]), totals  # assigned, warned, returned, rotated all happen
    if applied:  # records added before any workflow have no stage: no stage limits for them
        assert totals[4] > 0, totals
    assert_replays(people)


def test_simulate_leaves_the_applied_version_and_refuses_non_admins(
    public: Crm, tmp_path: Path
) -> None:
    lead(public, "alice", 1)
    v2 = write_workflow(tmp_path, ROTA, version=2, name="v2.yaml")
    before = snapshot(public)
    assert len(public.simulate_workflow("admin", v2, days=3)) == 4  # day 0 to day 3
    assert snapshot(public) == before
    assert [(w.name, w.version) for w in public.list_workflows("admin")] == [("leads", 1)]
    with pytest.raises(PermissionDenied):
        public.simulate_workflow("mia", v2, days=3)
    with pytest.raises(InvalidInput, match="--days must be at least 1"):
        public.simulate_workflow("admin", v2, days=0)
    assert snapshot(public) == before


# -- 14. the command line ------------------------------------------------------------


@dataclass
class Cli:
    """``crm --db URL --as USER …`` through typer's runner (the real clock: 2026-03-02 is past)."""

    db_url: str
    runner: CliRunner = field(default_factory=CliRunner)

    def run(self, *args: str, user: str = "alice") -> Any:
        argv = ["--db", self.db_url, "--as", user, *args]
        return self.runner.invoke(app, argv, env=CLEAN_ENV)

    def ok(self, *args: str, user: str = "alice") -> str:
        result = self.run(*args, user=user)
        assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
        assert result.stderr == ""
        return str(result.stdout)

    def fails(self, code: int, *args: str, user: str = "alice") -> str:
        """A refusal: the exit code, one line on stderr, nothing on stdout, no traceback."""
        result = self.run(*args, user=user)
        assert result.exit_code == code, (args, result.exit_code, result.stderr, result.stdout)
        assert isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in result.output
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        return str(lines[0])


@pytest.fixture
def cli(public: Crm, db_url: str) -> Cli:
    """Two records of bob released into ``public`` (so the pool exists), one owned by bob."""
    pooled(public, 1)
    pooled(public, 2)
    lead(public, "bob", 3)
    return Cli(db_url)


def test_cli_pool_list_claim_release_and_why(cli: Cli, public: Crm) -> None:
    pools = json.loads(cli.ok("pool", "list", "--json"))
    assert [(p["name"], p["members"], p["admins"]) for p in pools] == [
        ("east-pool", ["alice", "bob", "mia"], ["mia"]),
        ("public", ["alice", "bob", "mia"], ["mia"]),
    ]
    assert "public" in cli.ok("pool", "list")

    out = cli.ok("pool", "list", "public")
    assert out.startswith("pool public: 2 record(s) waiting\n")
    assert "you: 2 of 2 claims left today; holding 0 of at most 3" in out
    assert "not my region" in out
    page = json.loads(cli.ok("pool", "list", "public", "--json", "--limit", "1"))
    assert (page["total"], [e["record_id"] for e in page["entries"]]) == (2, [2])

    assert cli.ok("pool", "claim", "1") == "#1 Lead 1 is now yours\n"
    assert "1 of 2 claims left today; holding 1 of at most 3" in cli.ok("pool", "list", "public")
    why = cli.ok("record", "why", "1")
    assert why.startswith("#1 Lead 1 (lead, stage new)\n")
    assert "owner: alice since " in why and "(claim by alice, cause claim:public)" in why
    assert "returns to pool public [pool:public:idle]" in why
    assert json.loads(cli.ok("record", "why", "1", "--json"))["owner"] == "alice"

    out = cli.ok("pool", "release", "1", "--reason", "wrong region")
    assert out == "#1 Lead 1 released to pool public\n"
    assert where(public, 1) == (None, "public")
    assert rows(public, 1)[-1].reason == "wrong region"
    assert "pool: public since " in cli.ok("record", "why", "1")


SWEEP_LINE = re.compile(
    r"leads: (would have: )?returned (-?\d+), rotated (\d+), warned (\d+), alerted (\d+), "
    r"reassigned (\d+)"
)
WORKER_LINE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 assigned (\d+), returned (-?\d+), "
    r"rotated (\d+), warned (\d+)"
)


def _ints(names: tuple[str, ...], values: Any) -> dict[str, int]:
    return dict(zip(names, map(int, values), strict=True))


def test_cli_sweep_dry_run_json_and_worker(cli: Cli, public: Crm) -> None:
    before = snapshot(public)
    out = cli.ok("sweep", "--dry-run", "--now", "2030-01-01T00:00", user="admin")
    first, *rest = out.splitlines()
    match = SWEEP_LINE.fullmatch(first)
    assert match and match[1] == "would have: ", first
    names = ("returned", "rotated", "warned", "alerted", "reassigned")
    line = _ints(names, match.groups()[1:])
    counts(line, returned=1, rotated=0, warned=0, alerted=0, reassigned=0)
    counts({"lines": len(rest)}, lines=1)
    assert snapshot(public) == before

    (result,) = json.loads(cli.ok("sweep", "--json", "--now", "2030-01-01T00:00", user="admin"))
    assert set(result) == {
        "workflow", *names, "closed", "by_rule", "notified", "outbox", "failures"
    }  # fmt: skip
    assert result["failures"] == []
    counts(result, workflow="leads", returned=1, rotated=0, warned=0, alerted=0, reassigned=0)
    counts(result, by_rule={"pool:public:idle": 1})
    assert where(public, 3) == (None, "public")
    assert rows(public, 3)[-1].at == datetime(2030, 1, 1, tzinfo=UTC)

    lead(public, "alice", 4)  # idle since 2026-03-02: the worker, on the real clock, returns it
    out = cli.ok("worker", "--once", user="admin")
    match = WORKER_LINE.fullmatch(out.rstrip("\n"))
    assert match and out.count("\n") == 1, out
    line = _ints(("assigned", "returned", "rotated", "warned"), match.groups())
    counts(line, assigned=0, returned=1, rotated=0, warned=0)
    assert where(public, 4) == (None, "public")


def test_cli_refusals_exit_with_their_code_and_change_nothing(cli: Cli, public: Crm) -> None:
    before = snapshot(public)
    assert "--now" in cli.fails(2, "sweep", "--now", "yesterday", user="admin")
    assert "carol may not use it" in cli.fails(3, "pool", "claim", "1", user="carol")
    assert "is not in a pool" in cli.fails(5, "pool", "claim", "3")
    assert "no pool 'nosuchpool'" in cli.fails(4, "pool", "list", "nosuchpool")
    assert "no record #99" in cli.fails(4, "pool", "claim", "99")
    assert "release needs --reason" in cli.fails(
        2, "pool", "release", "3", "--reason", " ", user="bob"
    )
    assert "owned by bob" in cli.fails(3, "pool", "release", "3", "--reason", "x")
    assert "may not run the scheduler" in cli.fails(3, "sweep", "--dry-run")
    assert snapshot(public) == before


def test_cli_workflow_simulate(cli: Cli, public: Crm, tmp_path: Path) -> None:
    before = snapshot(public)
    path = write_workflow(tmp_path, ROTA, version=2, name="v2.yaml")
    days = json.loads(
        cli.ok("workflow", "simulate", str(path), "--days", "5", "--json", user="admin")
    )
    assert [d["day"] for d in days] == [0, 1, 2, 3, 4, 5]
    keys = {"day", "date", "at", "run_at", "assigned", "warned", "returned", "rotated",
            "alerted", "reassigned", "notified", "outbox"}  # fmt: skip
    assert all(set(d) == keys for d in days)
    assert sum(d["rotated"] for d in days) == 1  # bob's lead #3, idle since 2026-03-02
    out = cli.ok("workflow", "simulate", str(path), "--days", "5", user="admin")
    assert "simulated 5 day(s), day 0 (now) to day 5; nothing kept" in out
    assert snapshot(public) == before
    assert "only an admin" in cli.fails(3, "workflow", "simulate", str(path), "--days", "5")
    assert snapshot(public) == before
