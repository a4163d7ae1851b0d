"""The admin's control of the engine: per-member caps, why nobody owns a record, claimable
marks in pools, applying a workflow whose users are missing, and exact rule timing.

Runs on SQLite and (with ``CRM_TEST_PG_URL``) PostgreSQL through the fixtures of
``conftest.py``; workflows are written by ``Flow`` of ``test_assignment``. START is
Monday 2026-03-02 09:00 UTC.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_assignment import ADMIN, WAITING, Flow, assign_one, owners
from test_pools import ROTA, SLA, lead, pooled, sweep, where, write_workflow

from crm_core.api import Crm
from crm_core.clock import ManualClock
from crm_core.errors import InvalidInput
from crm_core.testing import CLEAN_ENV, invoke_cli

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the test clock's start (conftest)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def flow(people: Crm, tmp_path: Path) -> Flow:
    """The people of conftest (alice, bob, carol, mia) and a leads workflow without
    assignment."""
    f = Flow(people, tmp_path)
    f.apply(None)
    return f


def cli(db_url: str, *args: str, user: str = ADMIN) -> str:
    """``crm --db URL --as USER ARGS`` (the real clock); its stdout, which must be a success."""
    result = invoke_cli(["--db", db_url, "--as", user, *args], env=CLEAN_ENV, entry_points=True)
    assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
    return str(result.stdout)


def open_counts(crm: Crm) -> Counter[str]:
    """Open leads per owner name."""
    rows = crm.list_records(ADMIN, kind="lead", limit=10_000)
    return Counter(r.owner for r in rows if r.owner and r.stage not in ("won", "lost"))


# -- per-member caps ---------------------------------------------------------------------


def test_a_member_with_max_open_is_skipped_at_it_and_the_others_are_unlimited(
    flow: Flow,
) -> None:
    crm = flow.crm
    ids = flow.waiting(9)
    flow.apply({"strategy": "round_robin",
                "members": [{"user": "alice", "max_open": 2}, "bob", "carol"]})  # fmt: skip
    result = assign_one(crm)
    assert (result.assigned, result.left) == (9, {})
    assert result.by_user == {"alice": 2, "bob": 4, "carol": 3}
    assert owners(crm, ids) == ["alice", "bob", "carol", "alice", "bob", "carol", "bob",
                                "carol", "bob"]  # fmt: skip
    # a closed record frees one slot for alice, and only one
    crm.move_record(ADMIN, ids[0], "won")
    more = flow.waiting(3)
    assert owners(crm, more).count(None) == 3
    result = assign_one(crm)
    assert result.by_user == {"alice": 1, "bob": 1, "carol": 1}
    assert owners(crm, more) == ["carol", "alice", "bob"]
    assert open_counts(crm)["alice"] == 2


def test_a_members_own_cap_overrides_the_workflows_and_per_day_caps_work_too(
    flow: Flow,
) -> None:
    crm = flow.crm
    ids = flow.waiting(8)
    flow.apply({"strategy": "round_robin", "caps": {"max_open": 2},
                "members": [{"user": "alice", "max_open": 5},
                            {"user": "bob", "max_per_day": 1}, "carol"]})  # fmt: skip
    result = assign_one(crm)
    assert result.by_user == {"alice": 5, "bob": 1, "carol": 2}
    assert result.left == {}
    assert len([o for o in owners(crm, ids) if o]) == 8


def test_a_cap_of_zero_takes_a_member_out_and_weights_still_apply(flow: Flow) -> None:
    crm = flow.crm
    flow.waiting(8)
    flow.apply({"strategy": "weighted",
                "members": [{"user": "alice", "weight": 3}, "bob",
                            {"user": "carol", "max_open": 0}]})  # fmt: skip
    result = assign_one(crm)
    assert result.by_user == {"alice": 6, "bob": 2}


def test_a_member_at_their_cap_leaves_records_waiting(flow: Flow) -> None:
    crm = flow.crm
    ids = flow.waiting(3)
    flow.apply({"strategy": "round_robin", "members": [{"user": "alice", "max_open": 1}]})
    result = assign_one(crm)
    assert (result.by_user, result.left) == ({"alice": 1}, {WAITING: 2})
    assert owners(crm, ids) == ["alice", None, None]


def test_concurrent_assign_passes_keep_every_members_own_cap(flow: Flow, db_url: str) -> None:
    """Two passes (two processes' worth of connections) race over the same unowned
    records: each member ends within their own cap, and every record has one owner."""
    crm = flow.crm
    flow.waiting(30)
    flow.apply({"strategy": "round_robin",
                "members": [{"user": "alice", "max_open": 2}, {"user": "bob", "max_open": 7},
                            "carol"]})  # fmt: skip
    results: list[Any] = []

    def run() -> None:
        other = Crm.open(db_url, clock=crm.clock)
        try:
            results.append(other.assign(ADMIN))
        except Exception as exc:  # shown by the assertion below
            results.append(exc)
        finally:
            other.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(not isinstance(r, Exception) for r in results), results
    counts = open_counts(crm)
    assert counts["alice"] == 2 and counts["bob"] == 7 and counts["carol"] == 21, counts
    assert sum(r[0].assigned for r in results) == 30


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ({"user": "alice", "max_open": -1}, "-1 is less than the minimum of 0"),
        ({"user": "alice", "max_open": "two"}, "'two' is not of type 'integer'"),
        ({"user": "alice", "max_per_day": 1.5}, "1.5 is not of type 'integer'"),
        ({"user": "alice", "cap": 2}, "unknown key (expected one of:"),
        ({"max_open": 2}, "'user' is a required property"),
    ],
)
def test_bad_member_caps_are_refused_with_their_place(
    flow: Flow, member: dict[str, Any], message: str
) -> None:
    before = len(flow.crm.journal(ADMIN, limit=10_000))
    path = flow.write({"strategy": "round_robin", "members": ["bob", member]})
    with pytest.raises(InvalidInput) as caught:
        flow.crm.apply_workflow(ADMIN, path)
    assert message in str(caught.value)
    assert f"{path}:" in str(caught.value)
    assert len(flow.crm.journal(ADMIN, limit=10_000)) == before


def test_a_user_listed_twice_in_one_members_list_is_refused(flow: Flow) -> None:
    path = flow.write({"members": ["alice", {"user": "alice", "max_open": 2}]})
    with pytest.raises(InvalidInput, match=r":\d+:\d+: .*user 'alice' is listed twice"):
        flow.crm.apply_workflow(ADMIN, path)


# -- why nobody owns it --------------------------------------------------------------------


def test_why_names_each_member_at_cap_away_or_off_today(flow: Flow, clock: ManualClock) -> None:
    crm = flow.crm
    back = START + 3 * DAY
    crm.set_user_away(ADMIN, "bob", back)
    flow.apply({"strategy": "round_robin",
                "members": [{"user": "alice", "max_open": 1}, "bob",
                            {"user": "carol", "working_days": ["tue", "wed"]}]})  # fmt: skip
    first, second = flow.add(2)
    assert owners(crm, [first, second]) == ["alice", None]
    why = crm.why(ADMIN, second)
    assert why.owner is None and why.route == "default"
    assert [(c.user, c.state, c.detail) for c in why.candidates] == [
        ("alice", "at cap", "1/1 open"),
        ("bob", "away", "until 2026-03-05 09:00"),
        ("carol", "off today", "works tue, wed"),
    ]
    assert why.notes == ["every member is away, off today or at a cap: it waits"]
    # the first one back: carol on Tuesday (the workflow's day is UTC), before bob on Thursday
    (back,) = why.upcoming
    tuesday = datetime(2026, 3, 3, tzinfo=UTC)
    assert (back.at, back.event, back.rule) == (
        tuesday,
        "carol may take it from then",
        "assignment",
    )
    crm.set_user_away(ADMIN, "carol", START + 4 * DAY)  # a Friday: she is back next Tuesday
    assert [f.event for f in crm.why(ADMIN, second).upcoming] == ["bob may take it from then"]
    crm.set_user_away(ADMIN, "carol", None)
    # Tuesday: carol works and can take it
    clock.now = START + DAY
    why = crm.why(ADMIN, second)
    assert [(c.user, c.state) for c in why.candidates][2] == ("carol", "free")
    assert why.notes[0].startswith("carol can take it")


def test_why_shows_the_routing_rule_and_the_daily_cap(flow: Flow) -> None:
    crm = flow.crm
    flow.apply({"strategy": "round_robin", "members": ["alice"],
                "rules": [{"id": "vip", "when": {"field": "budget", "gte": 1000},
                           "members": [{"user": "carol", "max_per_day": 1}]}]})  # fmt: skip
    taken, waiting = flow.add(2, budget=5000)
    assert owners(crm, [taken, waiting]) == ["carol", None]
    why = crm.why(ADMIN, waiting)
    assert why.route == "vip"
    assert [(c.user, c.state, c.detail) for c in why.candidates] == [
        ("carol", "at cap", "1/1 received today")
    ]


def test_why_cli_prints_the_route_and_each_members_state(flow: Flow, db_url: str) -> None:
    flow.apply({"strategy": "round_robin", "members": [{"user": "alice", "max_open": 0}]},
               timezone="Asia/Shanghai")  # fmt: skip
    (rid,) = flow.add(1)
    out = cli(db_url, "record", "why", str(rid))
    assert "owner: nobody\nroute: default\n  alice: at cap (0/0 open)\n" in out
    assert "note: every member is away, off today or at a cap: it waits" in out


def test_why_names_the_next_member_of_a_rotation_and_when_in_local_time(
    people: Crm, tmp_path: Path, clock: ManualClock
) -> None:
    people.apply_workflow(ADMIN, write_workflow(tmp_path, ROTA))  # Asia/Shanghai
    rid = lead(people, "alice", 1)
    people.set_user_away(ADMIN, "carol", START + 40 * DAY)
    (turn,) = people.why(ADMIN, rid).upcoming
    at = START + 14 * DAY + timedelta(minutes=1)
    assert (turn.at, turn.local) == (at, "2026-03-16 17:01 Asia/Shanghai")
    assert turn.event == "rotates to bob, the next member of pool rota (1 of 2)"
    clock.now = at
    sweep(people)
    assert where(people, rid) == ("bob", None)
    # carol is away on the day of the next turn, and alice held it: back to the pool
    (turn,) = people.why(ADMIN, rid).upcoming
    assert turn.event == "returns to pool rota"
    people.set_user_away(ADMIN, "carol", None)
    (turn,) = people.why(ADMIN, rid).upcoming
    assert turn.event == "rotates to carol, the next member of pool rota (2 of 2)"


def test_reminder_tasks_carry_their_dates(people: Crm, tmp_path: Path, clock: ManualClock) -> None:
    people.apply_workflow(ADMIN, write_workflow(tmp_path, head=SLA))  # Asia/Shanghai
    rid = lead(people, "alice", 1)
    (pooled_id,) = [pooled(people, 2)]
    people.claim("alice", pooled_id)  # handed over at START: the SLA runs from then
    clock.advance(25 * HOUR)
    sweep(people)
    notes = {t.cause: t.note for t in people.list_tasks("alice")}
    assert notes["sla:leads:notify"] == (
        f"#{pooled_id} Lead 2 was assigned more than 24 hour(s) ago "
        "(2026-03-02 17:00 Asia/Shanghai) and not contacted yet"
    )
    clock.now = START + 12 * DAY + HOUR  # idle > 14 days comes within the 2 days' warning
    sweep(people)
    notes = {t.record_id: t.note for t in people.list_tasks("alice")
             if t.cause == "pool:public:idle:warn"}  # fmt: skip
    assert notes[rid] == (
        f"#{rid} Lead 1 returns to pool 公海 within 2 day(s), by 2026-03-16 18:00 Asia/Shanghai "
        "(rule idle) unless you follow up"
    )


def test_journal_names_users_not_ids(
    people: Crm, tmp_path: Path, clock: ManualClock, db_url: str
) -> None:
    people.apply_workflow(ADMIN, write_workflow(tmp_path, ROTA))
    rid = lead(people, "alice", 1)
    clock.advance(15 * DAY)
    sweep(people)
    (turn,) = [r for r in people.journal(ADMIN, record_id=rid) if r.action == "rotate"]
    ids = {u.name: u.id for u in people.list_users(ADMIN)}
    assert turn.users == {ids["alice"]: "alice", ids["bob"]: "bob"}
    out = cli(db_url, "journal", "--record", str(rid))
    assert "owner: alice → bob" in out
    assert "owner=alice" in out  # the creation
    assert "owner_id" not in out
    pools = cli(db_url, "journal", "--limit", "100")
    assert 'members: [] → ["alice", "bob", "carol"]' in pools


# -- applying a workflow whose users are missing ---------------------------------------------

SHIPPED = Path(__file__).resolve().parents[1] / "workflows"


def fails(db_url: str, code: int, *args: str) -> str:
    """A refusal through the CLI: exit ``code``, one ``error:`` line, no traceback."""
    result = invoke_cli(["--db", db_url, "--as", ADMIN, *args], env=CLEAN_ENV, entry_points=True)
    assert result.exit_code == code, (args, result.exit_code, result.stderr)
    assert "Traceback" not in result.output and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line


def test_a_shipped_workflow_lists_its_missing_users_and_changes_nothing(
    crm: Crm, db_url: str
) -> None:
    before = (len(crm.journal(ADMIN, limit=10_000)), [u.name for u in crm.list_users(ADMIN)])
    line = fails(db_url, 2, "workflow", "apply", str(SHIPPED / "leads.yaml"))
    assert line == (
        "error: workflow leads names 3 user(s) the database lacks: alice, bob, mia "
        "(add them with crm user add, or apply with --create-users)"
    )
    after = (len(crm.journal(ADMIN, limit=10_000)), [u.name for u in crm.list_users(ADMIN)])
    assert after == before
    assert crm.list_workflows(ADMIN) == [] and crm.list_teams(ADMIN) == []


def test_create_users_makes_them_with_their_roles_and_teams_journalled(
    crm: Crm, db_url: str
) -> None:
    crm.add_team(ADMIN, "sales_west")
    crm.add_user(ADMIN, "zhao", "operator", "sales_west")
    last = crm.journal(ADMIN, limit=1)[0].id
    out = cli(db_url, "workflow", "apply", str(SHIPPED / "b2b_sales.yaml"), "--create-users")
    assert out == "applied b2b_sales v1 to account\n"
    users = {u.name: (u.role, u.team) for u in crm.list_users(ADMIN)}
    assert users == {
        "admin": ("admin", None),
        "wang": ("operator", "sales_east"), "li": ("operator", "sales_east"),
        "zhang": ("operator", "sales_west"), "zhao": ("operator", "sales_west"),
        "chen": ("manager", "sales_east"),
    }  # fmt: skip
    created = [(r.entity, r.after["name"]) for r in crm.journal(ADMIN, limit=100)
               if r.id > last and r.action == "create" and r.entity != "pool"]  # fmt: skip
    assert sorted(created) == [("team", "sales_east"), ("user", "chen"), ("user", "li"),
                               ("user", "wang"), ("user", "zhang")]  # fmt: skip
    pool = {p.name: p for p in crm.list_pools(ADMIN)}["b2b-public"]
    assert (sorted(pool.members), pool.admins) == (
        ["chen", "li", "wang", "zhang", "zhao"],
        ["chen"],
    )


def test_without_a_users_section_pool_admins_are_managers_and_the_rest_operators(
    crm: Crm, tmp_path: Path
) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(
        "workflow: leads\nversion: 1\nkind: lead\nstages: [{id: new}, {id: won, outcome: won}]\n"
        "assignment: {members: [{user: ann, max_open: 2}]}\n"
        "pools: [{id: p, members: [ben], admins: [cat]}]\n",
        encoding="utf-8",
    )
    crm.apply_workflow(ADMIN, path, create_users=True)
    users = {u.name: (u.role, u.team) for u in crm.list_users(ADMIN)}
    assert users == {"admin": ("admin", None), "ann": ("operator", None),
                     "ben": ("operator", None), "cat": ("manager", None)}  # fmt: skip


def test_a_users_section_is_checked(crm: Crm, tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(
        "workflow: leads\nversion: 1\nkind: lead\nstages: [{id: new}, {id: won, outcome: won}]\n"
        "users:\n  - {name: ann, role: boss}\n  - {name: ann}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as caught:
        crm.apply_workflow(ADMIN, path, create_users=True)
    assert "wf.yaml:6:23: users[0].role: 'boss' is not one of" in str(caught.value)
    path.write_text(path.read_text(encoding="utf-8").replace("boss", "manager"), encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"wf.yaml:7:5: users\[1\]: user 'ann' is listed twice"):
        crm.apply_workflow(ADMIN, path, create_users=True)
    assert [u.name for u in crm.list_users(ADMIN)] == ["admin"]


# -- claimable marks in a pool ----------------------------------------------------------------


def marks(crm: Crm, user: str) -> dict[int, tuple[datetime | None, str | None]]:
    """Record id to (claimable_from, not_claimable_because) on the first page of ``public``."""
    page = crm.pool_page(user, "public")
    return {e.record_id: (e.claimable_from, e.not_claimable_because) for e in page.entries}


def test_pool_page_marks_what_the_reader_may_not_claim_yet_and_until_when(
    people: Crm, tmp_path: Path, clock: ManualClock
) -> None:
    # public: max_held 3, max_per_day 2, reclaim_after_days 7; Asia/Shanghai (midnight 16:00 UTC)
    people.apply_workflow(ADMIN, write_workflow(tmp_path))
    mine = pooled(people, 1, by="alice")  # alice held it until START
    two, three = pooled(people, 2), pooled(people, 3)
    held = "held by you until 2026-03-02 09:00"
    assert marks(people, "alice") == {
        mine: (START + 7 * DAY, held), two: (None, None), three: (None, None)
    }  # fmt: skip
    assert marks(people, "bob")[mine] == (None, None)  # bob never held it
    clock.advance(HOUR)
    people.claim("alice", two)
    people.claim("alice", three)  # the day's two claims are used
    four = pooled(people, 4)
    midnight = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    day = "you claimed 2 of 2 today"
    assert marks(people, "alice") == {
        mine: (START + 7 * DAY, f"{held}; {day}"), four: (midnight, day)
    }  # fmt: skip
    lead(people, "alice", 5)  # now alice holds 3, the most she may
    full = "you hold 3 of at most 3"
    assert marks(people, "alice") == {
        mine: (None, f"{held}; {full}; {day}"), four: (None, f"{full}; {day}")
    }  # fmt: skip
    # the marks say what claim does: refused now, allowed from the time given
    people.release("alice", two, "not mine")
    clock.now = midnight
    assert marks(people, "alice")[four] == (None, None)
    assert marks(people, "alice")[mine] == (START + 7 * DAY, held)
    clock.now = START + 7 * DAY
    people.claim("alice", mine)


def test_pool_list_cli_has_a_claimable_column(people: Crm, tmp_path: Path, db_url: str) -> None:
    people.apply_workflow(ADMIN, write_workflow(tmp_path))
    pooled(people, 1)
    cli(db_url, "record", "add", "lead", "--set", "name=Mine", "--set", "phone=13900000077",
        "--owner", "alice")  # fmt: skip
    mine = max(r.id for r in people.list_records(ADMIN, limit=10))
    cli(db_url, "pool", "release", str(mine), "--reason", "wrong region", user="alice")
    out = cli(db_url, "pool", "list", "public", user="alice")
    assert any(line.rstrip().endswith("claimable") for line in out.splitlines())
    (row,) = [line for line in out.splitlines() if "Mine" in line]
    assert " from " in row and "(held by you until " in row
    (row,) = [line for line in out.splitlines() if "Lead 1" in line]
    assert row.rstrip().endswith("yes")
    page = json.loads(cli(db_url, "pool", "list", "public", "--json", user="alice"))
    by_id = {e["record_id"]: e for e in page["entries"]}
    assert by_id[mine]["not_claimable_because"].startswith("held by you until ")
    assert by_id[mine]["claimable_from"] is not None


# -- exact timing -------------------------------------------------------------------------------

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize("kind", ["last_activity", "created", "stage_entered"])
def test_days_since_gt_n_fires_strictly_after_n_times_24_hours(
    people: Crm, tmp_path: Path, clock: ManualClock, kind: str
) -> None:
    """The README's rule: ``{days_since: X, gt: N}`` holds once more than N × 24 h have
    passed since the exact time X: not at N × 24 h - 1 s, not at N × 24 h, at + 1 s. The
    sweep (SQL) and ``why`` (Python) agree."""
    pool = (
        "  - id: public\n    members: [alice, bob]\n    return:\n"
        f"      - id: idle\n        when: {{days_since: {kind}, gt: 3}}\n"
    )
    people.apply_workflow(ADMIN, write_workflow(tmp_path, pool))
    clock.advance(timedelta(minutes=7, seconds=13, microseconds=250_000))  # an untidy time
    rid = lead(people, "alice", 1)
    deadline = clock.now + 3 * DAY
    # why names the first whole minute after it: the sweep runs on whole minutes in practice
    (back,) = people.why(ADMIN, rid).upcoming
    assert (back.at, back.event) == (START + 3 * DAY + 8 * MINUTE, "returns to pool public")
    for moment, owner in ((deadline - SECOND, "alice"), (deadline, "alice"),
                          (deadline + SECOND, None)):  # fmt: skip
        people.sweep(ADMIN, now=moment)
        assert where(people, rid)[0] == owner, (moment, owner)


def test_simulate_days_30_covers_day_30_and_shows_each_runs_time(
    people: Crm, tmp_path: Path, clock: ManualClock, db_url: str
) -> None:
    pool = (
        "  - id: public\n    members: [alice, bob]\n    return:\n"
        "      - id: idle\n        when: {days_since: created, gt: 29}\n"
    )
    path = write_workflow(tmp_path, pool)  # Asia/Shanghai
    people.apply_workflow(ADMIN, path)
    lead(people, "alice", 1)  # created at START: returns just after START + 29 days
    days = people.simulate_workflow(ADMIN, path, days=30)
    assert [d.day for d in days] == list(range(31))
    assert [d.day for d in days if d.returned] == [30]
    assert (days[0].at, days[-1].at) == (START, START + 30 * DAY)
    assert days[-1].run_at == "2026-04-01 17:00 Asia/Shanghai"
    # a run on day 29 exactly is not yet more than 29 × 24 h after
    assert sum(d.returned for d in people.simulate_workflow(ADMIN, path, days=29)) == 0
    out = cli(db_url, "workflow", "simulate", str(path), "--days", "2")
    assert "simulated 2 day(s), day 0 (now) to day 2; nothing kept" in out
    runs = re.findall(r"^ *(\d) +│ (\d{4}-\d\d-\d\d \d\d:\d\d) Asia/Shanghai ", out, re.M)
    assert [day for day, _at in runs] == ["0", "1", "2"]
    first = datetime.strptime(runs[0][1], "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    assert abs(first - datetime.now(UTC)) < 2 * MINUTE


def test_plan_lists_the_missing_users_without_refusing(crm: Crm, db_url: str) -> None:
    crm.add_user(ADMIN, "bob", "operator")
    plan = crm.plan_workflow(ADMIN, SHIPPED / "leads.yaml")
    assert (plan.missing_users, plan.ok) == (["alice", "mia"], True)
    out = cli(db_url, "workflow", "plan", str(SHIPPED / "leads.yaml"))
    assert "missing users     alice, mia" in out
    assert "apply             needs --create-users" in out
