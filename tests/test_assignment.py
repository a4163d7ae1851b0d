"""Assignment: strategies, caps, who is skipped, routing rules, sticky owners, SLA, the CLI.

Every test runs on SQLite and (with ``CRM_TEST_PG_URL``) PostgreSQL through the
``crm``/``people``/``clock`` fixtures of ``conftest.py``. Workflows are small YAML
files written to ``tmp_path`` by :class:`Flow`; records that must wait for
``crm.assign`` are added with ``auto_assign=True`` while the applied version has
no ``assignment:`` section (:meth:`Flow.waiting`), so nothing places them until
the version with rules is applied again.

START (conftest) is Monday 2026-03-02 09:00 UTC, 17:00 in Asia/Shanghai.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from crm_core import hookimpl
from crm_core.api import Crm
from crm_core.assign.strategies import Member
from crm_core.cli.main import app
from crm_core.clock import ManualClock
from crm_core.errors import InvalidInput, PermissionDenied
from crm_core.testing import CLEAN_ENV

ADMIN = "admin"
STAGES: list[dict[str, Any]] = [
    {"id": "new"},
    {"id": "won", "outcome": "won"},
    {"id": "lost", "outcome": "lost", "lost_reasons": ["no_budget"]},
]
WAITING = "default: every member is away, off today or at a cap"
NO_RULE = "no rule matched and there are no default members"
RR3 = {"strategy": "round_robin", "members": ["alice", "bob", "carol"]}
RR2 = {"strategy": "round_robin", "members": ["alice", "bob"]}


# -- helpers -------------------------------------------------------------------------


class Flow:
    """Writes versions of a ``leads`` workflow for the lead kind and applies them as admin.

    Each call writes the next version; ``assignment`` None leaves the section out.
    The last assignment applied (and its top-level extras such as ``timezone``) is
    remembered so :meth:`waiting` can put it back.
    """

    def __init__(self, crm: Crm, directory: Path) -> None:
        self.crm = crm
        self.dir = directory
        self.version = 0
        self.assignment: dict[str, Any] | None = None
        self.top: dict[str, Any] = {}
        self.phones = 0

    def write(self, assignment: dict[str, Any] | None = None, **top: Any) -> Path:
        """Write the next version and return its path (without applying it)."""
        self.version += 1
        data: dict[str, Any] = {"workflow": "leads", "version": self.version, "kind": "lead"}
        data.update(top)
        data["stages"] = STAGES
        if assignment is not None:
            data["assignment"] = assignment
        path = self.dir / f"leads-v{self.version}.yaml"
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
        return path

    def apply(self, assignment: dict[str, Any] | None = None, **top: Any) -> Path:
        """Write and apply the next version."""
        path = self.write(assignment, **top)
        self.crm.apply_workflow(ADMIN, path)
        self.assignment, self.top = assignment, top
        return path

    def phone(self) -> str:
        """A fresh mobile number (dedupe keys must not collide between leads)."""
        self.phones += 1
        return f"139{self.phones:08d}"

    def add(self, n: int = 1, **fields: Any) -> list[int]:
        """Add ``n`` leads as admin with ``auto_assign``: placed at once if the rules can."""
        ids = []
        for _ in range(n):
            values = {"name": f"Lead {self.phones + 1}", "phone": self.phone(), **fields}
            ids.append(self.crm.add_record(ADMIN, "lead", values, auto_assign=True).record.id)
        return ids

    def waiting(self, n: int = 1, **fields: Any) -> list[int]:
        """Add ``n`` leads nobody owns yet, for ``crm.assign`` to place.

        With rules applied, they are added under a version without them, and the
        rules (a new version with the same content) are applied again.
        """
        assignment, top = self.assignment, self.top
        if assignment is None:
            return self.add(n, **fields)
        self.apply(None, **top)
        ids = self.add(n, **fields)
        self.apply(assignment, **top)
        return ids


@pytest.fixture
def flow(people: Crm, tmp_path: Path) -> Flow:
    """The people of conftest and version 1 of the leads workflow, without assignment."""
    f = Flow(people, tmp_path)
    f.apply(None)
    return f


def owners(crm: Crm, ids: list[int]) -> list[str | None]:
    """The owner names of ``ids``, in that order (one query)."""
    by_id = {r.id: r.owner for r in crm.list_records(ADMIN, limit=10_000)}
    return [by_id[i] for i in ids]


def user_ids(crm: Crm) -> dict[str, int]:
    """User name to id."""
    return {u.name: u.id for u in crm.list_users(ADMIN)}


def journal_len(crm: Crm) -> int:
    """How many journal rows there are."""
    return len(crm.journal(ADMIN, limit=10_000))


def assert_replays(crm: Crm) -> None:
    """The journal alone rebuilds every record's state."""
    assert crm.replay_journal(ADMIN) == crm.record_states(ADMIN)


def assign_one(crm: Crm, actor: str = ADMIN) -> Any:
    """Run ``crm.assign``; there is one workflow, so return its one result."""
    (result,) = crm.assign(actor)
    return result


# -- strategies ----------------------------------------------------------------------


def test_round_robin_serves_in_turn_journals_each_and_keeps_its_place(
    flow: Flow, db_url: str, clock: ManualClock
) -> None:
    crm = flow.crm
    first = flow.waiting(7)
    assert owners(crm, first) == [None] * 7  # no rules yet: they wait
    flow.apply(RR3)
    result = assign_one(crm)
    assert (result.workflow, result.assigned) == ("leads", 7)
    assert result.by_user == {"alice": 3, "bob": 2, "carol": 2}
    assert result.by_rule == {"default": 7}
    assert (result.left, result.problems) == ({}, [])
    assert owners(crm, first) == ["alice", "bob", "carol"] * 2 + ["alice"]
    uid = user_ids(crm)
    entry = crm.journal(ADMIN, record_id=first[1])[0]
    assert (entry.action, entry.actor, entry.cause) == ("assign", ADMIN, "assign:leads:default")
    assert (entry.before, entry.after) == ({"owner_id": None}, {"owner_id": uid["bob"]})
    assert (entry.entity, entry.entity_id, entry.at) == ("record", first[1], clock.now)
    # nothing left: another pass assigns nothing and journals nothing
    before = journal_len(crm)
    assert assign_one(crm).assigned == 0
    assert journal_len(crm) == before
    # a later pass continues after alice, the last one served
    second = flow.waiting(2)
    assert assign_one(crm).by_user == {"bob": 1, "carol": 1}
    assert owners(crm, second) == ["bob", "carol"]
    # records placed one by one as they are added share the same cursor
    assert owners(crm, flow.add(2)) == ["alice", "bob"]
    # and so does another process opening the same database
    other = Crm.open(db_url, clock=clock)
    try:
        values = {"name": "Other", "phone": flow.phone()}
        added = other.add_record(ADMIN, "lead", values, auto_assign=True)
        assert added.record.owner == "carol"
    finally:
        other.close()
    assert owners(crm, flow.add(1)) == ["alice"]
    assert_replays(crm)


def test_weighted_is_smooth_3_to_1_and_continues_across_runs(flow: Flow) -> None:
    crm = flow.crm
    weighted = {"strategy": "weighted", "members": [{"user": "alice", "weight": 3}, "bob"]}
    ids = flow.waiting(3)
    flow.apply(weighted)
    assert assign_one(crm).by_user == {"alice": 2, "bob": 1}
    ids += flow.waiting(5)
    assert assign_one(crm).by_user == {"alice": 4, "bob": 1}
    # a,a,b,a twice: interleaved (not in blocks), and the weights carry over between runs
    assert owners(crm, ids) == ["alice", "alice", "bob", "alice"] * 2
    assert_replays(crm)


def test_load_balanced_fills_the_least_loaded_and_ignores_closed_records(flow: Flow) -> None:
    crm = flow.crm
    alices = [
        crm.add_record(ADMIN, "lead", {"name": "A", "phone": flow.phone()}, owner="alice")
        for _ in range(4)
    ]
    crm.move_record(ADMIN, alices[0].record.id, "won")  # closed: not part of alice's load
    new = flow.waiting(4)
    flow.apply({"strategy": "load_balanced", "members": ["alice", "bob"]})
    result = assign_one(crm)
    # alice holds 3 open, bob 0: bob takes three, then the 3:3 tie goes to the earlier member
    assert owners(crm, new) == ["bob", "bob", "bob", "alice"]
    assert result.by_user == {"alice": 1, "bob": 3}
    assert_replays(crm)


def test_a_plugin_strategy_gets_its_members_the_eligible_and_its_saved_state(
    flow: Flow, db_url: str, clock: ManualClock
) -> None:
    made: list[tuple[list[str], dict[str, Any]]] = []
    offered: list[list[str]] = []

    class LastEligible:
        """Picks the last eligible member and counts its picks in its saved state."""

        def __init__(self, members: list[Member], state: dict[str, Any]) -> None:
            self.picks = int(state.get("picks", 0))
            made.append(([m.name for m in members], dict(state)))

        def pick(self, eligible: Sequence[Member], load: Mapping[int, int]) -> Member | None:
            offered.append([m.name for m in eligible])
            self.picks += 1
            return eligible[-1] if eligible else None

        def state(self) -> dict[str, Any]:
            return {"picks": self.picks}

    def crm_register_assignment_strategies(register: Any) -> None:
        register("last_eligible", LastEligible)

    plugin = SimpleNamespace(
        crm_register_assignment_strategies=hookimpl(crm_register_assignment_strategies)
    )
    crm = Crm.open(db_url, clock=clock, extra_plugins=[("laststrategy", plugin)])
    try:
        ours = Flow(crm, flow.dir)
        ours.version, ours.phones = flow.version, flow.phones
        ids = ours.waiting(2)
        ours.apply({"strategy": "last_eligible", "members": ["alice", "bob", "carol"]})
        crm.set_user_active(ADMIN, "carol", False)
        assert assign_one(crm).by_user == {"bob": 2}
        ids += ours.add(1)
        assert owners(crm, ids) == ["bob", "bob", "bob"]
        everyone = ["alice", "bob", "carol"]
        assert made == [(everyone, {}), (everyone, {"picks": 2})]
        assert offered == [["alice", "bob"]] * 3
    finally:
        crm.close()
    # a CRM without that plugin refuses to run a workflow naming its strategy
    with pytest.raises(InvalidInput, match="no assignment strategy 'last_eligible'"):
        flow.crm.assign(ADMIN)


# -- caps ------------------------------------------------------------------------------


def test_max_open_leaves_the_rest_and_a_closed_record_frees_a_slot(flow: Flow) -> None:
    crm = flow.crm
    ids = flow.waiting(5)
    flow.apply({**RR2, "caps": {"max_open": 2}})
    result = assign_one(crm)
    assert (result.assigned, result.by_user) == (4, {"alice": 2, "bob": 2})
    assert result.left == {WAITING: 1}
    assert owners(crm, ids) == ["alice", "bob", "alice", "bob", None]
    assert crm.journal(ADMIN, record_id=ids[4])[0].action == "create"
    # still full: the next pass leaves it again
    assert assign_one(crm).left == {WAITING: 1}
    # won and lost records are not open: alice gets a slot back
    crm.move_record(ADMIN, ids[0], "won")
    result = assign_one(crm)
    assert (result.by_user, result.left) == ({"alice": 1}, {})
    assert owners(crm, ids)[4] == "alice"
    assert_replays(crm)


def test_max_per_day_counts_from_midnight_in_the_workflows_timezone(
    flow: Flow, clock: ManualClock
) -> None:
    crm = flow.crm
    capped = {**RR2, "caps": {"max_per_day": 2}}
    ids = flow.waiting(5)
    flow.apply(capped, timezone="Asia/Shanghai")  # START is Monday 17:00 there
    result = assign_one(crm)
    assert (result.by_user, result.left) == ({"alice": 2, "bob": 2}, {WAITING: 1})
    clock.now = datetime(2026, 3, 2, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    assert assign_one(crm).left == {WAITING: 1}
    clock.now = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # Tuesday 00:00 in Shanghai
    result = assign_one(crm)
    assert (result.by_user, result.left) == ({"alice": 1}, {})
    assert owners(crm, ids) == ["alice", "bob", "alice", "bob", "alice"]
    # the same moment in UTC is still Monday, when both have had their two (alice three)
    more = flow.waiting(4)
    flow.apply(capped, timezone="UTC")
    assert assign_one(crm).left == {WAITING: 4}
    clock.now = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    result = assign_one(crm)
    assert (result.by_user, result.left) == ({"alice": 2, "bob": 2}, {})
    assert owners(crm, more) == ["bob", "alice", "bob", "alice"]
    assert_replays(crm)


def test_max_per_day_still_counts_a_record_closed_the_same_day(flow: Flow) -> None:
    """Regression: the day's count once covered only records still open, so closing one
    gave its owner another slot the same day."""
    crm = flow.crm
    ids = flow.waiting(2)
    flow.apply({"strategy": "round_robin", "members": ["alice"], "caps": {"max_per_day": 1}})
    assert assign_one(crm).left == {WAITING: 1}
    crm.move_record(ADMIN, ids[0], "lost", reason="no_budget")
    # alice has already received her one record today
    assert assign_one(crm).left == {WAITING: 1}
    assert owners(crm, ids) == ["alice", None]


# -- who is skipped ----------------------------------------------------------------------


def test_inactive_and_away_members_are_skipped_until_back(flow: Flow, clock: ManualClock) -> None:
    crm = flow.crm
    flow.apply(RR3)
    crm.set_user_active(ADMIN, "carol", False)
    crm.set_user_away(ADMIN, "bob", clock.now + timedelta(hours=2))
    assert owners(crm, flow.add(3)) == ["alice", "alice", "alice"]
    away = crm.journal(ADMIN, limit=50)
    bob = next(e for e in away if e.entity == "user" and e.action == "away")
    assert bob.after == {"away_until": (clock.now + timedelta(hours=2)).isoformat()}
    clock.advance(timedelta(hours=2))  # away until exactly now: back
    assert owners(crm, flow.add(2)) == ["bob", "alice"]
    crm.set_user_away(ADMIN, "bob", clock.now + timedelta(days=1))
    assert owners(crm, flow.add(1)) == ["alice"]
    crm.set_user_away(ADMIN, "bob", None)
    crm.set_user_active(ADMIN, "carol", True)
    assert owners(crm, flow.add(3)) == ["bob", "carol", "alice"]
    # nobody present at all: the record waits and the pass says why
    for name in ("alice", "bob", "carol"):
        crm.set_user_away(ADMIN, name, clock.now + timedelta(hours=1))
    ids = flow.add(1)
    assert owners(crm, ids) == [None]
    assert assign_one(crm).left == {WAITING: 1}
    assert_replays(crm)


MON_FRI = ["mon", "tue", "wed", "thu", "fri"]


def test_working_days_are_days_of_the_workflows_timezone(flow: Flow, clock: ManualClock) -> None:
    crm = flow.crm
    weekdays_only = {"members": [{"user": "alice", "working_days": MON_FRI}]}
    cases = [
        # (now, timezone, alice works)
        (datetime(2026, 3, 6, 17, 0, tzinfo=UTC), "UTC", True),  # Friday
        (datetime(2026, 3, 6, 17, 0, tzinfo=UTC), "Asia/Shanghai", False),  # Sat 01:00 there
        (datetime(2026, 3, 7, 9, 0, tzinfo=UTC), "UTC", False),  # Saturday
        (datetime(2026, 3, 8, 17, 0, tzinfo=UTC), "UTC", False),  # Sunday
    ]
    off: list[int] = []
    for now, zone, works in cases:
        clock.now = now
        flow.apply(weekdays_only, timezone=zone)
        ids = flow.add(1)
        assert owners(crm, ids) == ["alice" if works else None], (now, zone)
        off += [] if works else ids
    # Sunday 17:00 UTC is Monday 01:00 in Shanghai: she works, and takes what waited
    flow.apply(weekdays_only, timezone="Asia/Shanghai")
    assert owners(crm, flow.add(1)) == ["alice"]
    assert assign_one(crm).by_user == {"alice": 3}
    assert owners(crm, off) == ["alice"] * 3


# -- routing rules -----------------------------------------------------------------------

RULES: dict[str, Any] = {
    "strategy": "round_robin",
    "members": ["bob"],
    "rules": [
        {"id": "east", "when": {"field": "region", "eq": "east"}, "team": "east"},
        {"id": "big", "when": {"field": "budget", "gte": 100000}, "members": ["carol"]},
    ],
}


def test_routing_rules_first_match_wins_then_the_default_members(flow: Flow) -> None:
    crm = flow.crm
    east_big = flow.waiting(1, region="east", budget=500000)
    west_big = flow.waiting(1, region="west", budget=100000)
    small = flow.waiting(1, region="west", budget=99999)
    plain = flow.waiting(1)
    east = flow.waiting(2, region="east")
    event = flow.waiting(1, source="event")
    unnamed = {"when": {"field": "source", "eq": "event"}, "members": ["carol"]}
    flow.apply({**RULES, "rules": [*RULES["rules"], unnamed]})
    result = assign_one(crm)
    assert result.by_rule == {"big": 1, "default": 2, "east": 3, "rule-3": 1}
    assert (result.left, result.problems) == ({}, [])
    # team east is its operators in name order (not the manager mia), in turn
    assert owners(crm, east_big + east) == ["alice", "bob", "alice"]
    assert owners(crm, west_big + small + plain + event) == ["carol", "bob", "bob", "carol"]
    causes = [crm.journal(ADMIN, record_id=i)[0].cause for i in east_big + west_big + small]
    assert causes == ["assign:leads:east", "assign:leads:big", "assign:leads:default"]
    assert crm.journal(ADMIN, record_id=event[0])[0].cause == "assign:leads:rule-3"
    assert_replays(crm)


def test_unplaceable_records_wait_and_the_pass_says_why(flow: Flow) -> None:
    crm = flow.crm
    no_default = {"rules": RULES["rules"]}
    east = flow.waiting(1, region="east")
    plain = flow.waiting(1, region="north")
    flow.apply(no_default)
    result = assign_one(crm)
    assert (result.assigned, result.left) == (1, {NO_RULE: 1})
    assert owners(crm, east + plain) == ["alice", None]
    # a record that matches nothing, added with auto_assign, waits unowned too
    plain += flow.add(1, budget=10)
    assert owners(crm, plain) == [None, None]
    assert assign_one(crm).left == {NO_RULE: 2}
    # a missing member refuses the apply (see test_engine_control); a rule's missing team
    # is reported, not fatal
    with pytest.raises(InvalidInput, match=r"names 1 user\(s\) the database lacks: ghost"):
        flow.apply({"members": ["alice", "ghost"]})
    flow.apply({
        "members": ["alice"],
        "rules": [{"id": "north", "when": {"field": "region", "eq": "north"}, "team": "north"}],
    })  # fmt: skip
    result = assign_one(crm)
    assert result.problems == ["no team 'north': its rule assigns nobody"]
    assert result.left == {"north: every member is away, off today or at a cap": 1}
    assert owners(crm, plain) == [None, "alice"]
    assert_replays(crm)


# -- sticky ------------------------------------------------------------------------------


def _member(crm: Crm, phone: str, owner: str) -> None:
    """A gym member (the testplugin's kind: phone is a dedupe key) with ``owner``."""
    crm.add_record(ADMIN, "member", {"name": f"M {phone}", "phone": phone}, owner=owner)


def test_sticky_gives_a_lead_to_the_owner_of_another_kinds_record_with_its_phone(
    flow: Flow, clock: ManualClock
) -> None:
    crm = flow.crm
    _member(crm, "138 1234 5678", "carol")
    _member(crm, "13700000000", "mia")
    # the same numbers written other ways; the rules alone would say alice, bob, alice
    sticky = flow.waiting(1, phone="+86 138-1234-5678")
    to_mia = flow.waiting(1, phone="137-0000-0000")
    plain = flow.waiting(1)
    flow.apply({**RR2, "sticky": True})
    result = assign_one(crm)
    assert (result.by_rule, result.by_user) == (
        {"default": 1, "sticky": 2}, {"alice": 1, "carol": 1, "mia": 1},
    )  # fmt: skip
    assert owners(crm, sticky + to_mia + plain) == ["carol", "mia", "alice"]
    entry = crm.journal(ADMIN, record_id=sticky[0])[0]
    assert entry.cause.endswith(":sticky")
    assert (entry.action, entry.cause) == ("assign", "assign:leads:sticky")
    assert entry.after == {"owner_id": user_ids(crm)["carol"]}
    # placing one record as it is added follows the same owner
    _member(crm, "13600000000", "carol")
    assert owners(crm, flow.add(1, phone="+8613600000000")) == ["carol"]
    # without sticky, and with the sticky owner away, the rules decide
    _member(crm, "13500000000", "carol")
    _member(crm, "13500000001", "carol")
    flow.apply({**RR2, "sticky": False})
    assert owners(crm, flow.add(1, phone="13500000000")) == ["bob"]
    crm.set_user_away(ADMIN, "carol", clock.now + timedelta(days=1))
    flow.apply({**RR2, "sticky": True})
    assert owners(crm, flow.add(1, phone="13500000001")) == ["alice"]
    assert_replays(crm)


def test_sticky_assignment_uses_up_the_cap_for_the_rules(flow: Flow) -> None:
    """Regression: a sticky assignment that reached the owner's cap left her eligible, so
    the rules gave her more than max_per_day in the same pass."""
    crm = flow.crm
    crm.add_record(ADMIN, "member", {"name": "M", "phone": "13812345678"}, owner="alice")
    sticky = flow.waiting(1, phone="13812345678")
    plain = flow.waiting(1)
    flow.apply({**RR2, "sticky": True, "caps": {"max_per_day": 1}})
    assign_one(crm)
    # alice's one record today came by sticky; the rules must give the next to bob
    assert owners(crm, sticky + plain) == ["alice", "bob"]


# -- dry run, permissions, journal --------------------------------------------------------


def test_dry_run_reports_the_real_figures_and_changes_nothing(flow: Flow) -> None:
    crm = flow.crm
    flow.waiting(2, region="east")
    flow.waiting(2, budget=200000)
    flow.waiting(3)
    flow.apply({**RULES, "members": ["alice", "bob"], "caps": {"max_open": 2}})
    before = (journal_len(crm), crm.record_states(ADMIN))
    dry = crm.assign(ADMIN, dry_run=True)
    assert dry[0].assigned == 6
    assert dry[0].left == {WAITING: 1}
    assert (journal_len(crm), crm.record_states(ADMIN)) == before
    # the dry run saved no cursor either: the same question gets the same answer
    assert crm.assign(ADMIN, dry_run=True) == dry
    real = crm.assign(ADMIN)
    assert real == dry
    assert journal_len(crm) == before[0] + 6
    assert_replays(crm)


def test_only_managers_and_admins_run_the_pass_or_leave_owners_to_the_rules(
    flow: Flow, clock: ManualClock
) -> None:
    crm = flow.crm
    ids = flow.waiting(1)
    flow.apply(RR2)
    for dry_run in (False, True):
        with pytest.raises(PermissionDenied, match="alice may not run the scheduler"):
            crm.assign("alice", dry_run=dry_run)
    with pytest.raises(PermissionDenied):
        crm.sweep("alice")
    with pytest.raises(PermissionDenied, match="may not leave owners to the rules"):
        crm.add_record("alice", "lead", {"name": "X", "phone": flow.phone()}, auto_assign=True)
    with pytest.raises(InvalidInput, match="not both"):
        crm.add_record(
            ADMIN, "lead", {"name": "X", "phone": flow.phone()}, owner="bob", auto_assign=True
        )
    assert owners(crm, ids) == [None]
    (result,) = crm.assign("mia")
    assert result.assigned == 1
    entry = crm.journal(ADMIN, record_id=ids[0])[0]
    assert (entry.actor, entry.cause, entry.action) == ("mia", "assign:leads:default", "assign")
    # availability: one's own, a manager's team members', an admin's anyone's
    later = clock.now + timedelta(days=1)
    assert crm.set_user_away("alice", "alice", later).name == "alice"
    assert crm.set_user_away("mia", "bob", later).name == "bob"
    assert crm.set_user_away(ADMIN, "carol", later).name == "carol"
    with pytest.raises(PermissionDenied, match="may not change bob's availability"):
        crm.set_user_away("alice", "bob", None)
    with pytest.raises(PermissionDenied, match="may not change carol's availability"):
        crm.set_user_away("mia", "carol", None)


# -- invalid configuration ----------------------------------------------------------------

BAD_NAMES = """\
workflow: leads
version: 1
kind: lead
timezone: Mars/Base
stages:
  - id: new
assignment:
  strategy: nope
  members: [alice]
  rules:
    - when: {field: region, eq: east}
      strategy: also_nope
      members: [bob]
"""


def test_unknown_strategies_and_time_zones_are_located_problems(flow: Flow, tmp_path: Path) -> None:
    crm = flow.crm
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_NAMES, encoding="utf-8")
    problems = crm.check_workflow(path).problems
    known = "(known: load_balanced, round_robin, weighted)"
    assert [(p.line, p.key, p.message) for p in problems] == [
        (4, "timezone",
         "unknown time zone 'Mars/Base' (use an IANA name like Asia/Shanghai)"),
        (8, "assignment.strategy", f"no assignment strategy 'nope' {known}"),
        (12, "assignment.rules[0].strategy", f"no assignment strategy 'also_nope' {known}"),
    ]  # fmt: skip
    assert all(p.file == str(path) and p.column > 1 for p in problems)
    assert str(problems[1]).startswith(f"{path}:8:")
    with pytest.raises(InvalidInput, match="no assignment strategy 'nope'"):
        crm.apply_workflow(ADMIN, path)
    assert crm.list_workflows(ADMIN)[0].version == flow.version
    good = flow.write({"strategy": "weighted"}, timezone="Asia/Shanghai")
    assert crm.check_workflow(good).problems == []


# -- SLA ----------------------------------------------------------------------------------

SLA = {"contact_within_hours": 24, "then": "reassign"}


def test_sla_reassigns_an_uncontacted_record_never_back_to_its_owner(
    flow: Flow, clock: ManualClock
) -> None:
    crm = flow.crm
    uid = user_ids(crm)
    early = flow.add(1)  # no rules yet: it waits
    crm.log_activity(ADMIN, early[0], "call")  # before any owner: does not count as contact
    clock.advance(timedelta(minutes=1))
    flow.apply({**RR2, "sla": SLA})
    assert assign_one(crm).by_user == {"alice": 1}
    called = flow.add(1)
    assert owners(crm, early + called) == ["alice", "bob"]
    clock.advance(timedelta(hours=1))
    crm.log_activity("bob", called[0], "call")
    clock.advance(timedelta(hours=22, minutes=58))  # 23:59 after the assignment
    assert crm.sweep(ADMIN)[0].reassigned == 0
    clock.advance(timedelta(hours=1, minutes=1))
    (sweep,) = crm.sweep(ADMIN)
    assert (sweep.reassigned, sweep.by_rule) == (1, {"sla:leads:reassign": 1})
    # round robin would say alice (bob was served last), but she is the one who missed it
    assert owners(crm, early + called) == ["bob", "bob"]
    entry = crm.journal(ADMIN, record_id=early[0])[0]
    assert (entry.action, entry.actor) == ("reassign", ADMIN)
    assert entry.cause.startswith("sla:")
    assert (entry.before, entry.after) == ({"owner_id": uid["alice"]}, {"owner_id": uid["bob"]})
    # the new owner gets the full 24 hours
    clock.advance(timedelta(hours=23))
    assert crm.sweep(ADMIN)[0].reassigned == 0
    clock.advance(timedelta(hours=2))
    assert crm.sweep(ADMIN)[0].reassigned == 1
    assert owners(crm, early + called) == ["alice", "bob"]
    # nobody else to take it: it stays where it is
    flow.apply({"members": ["alice"], "sla": SLA})
    clock.advance(timedelta(hours=25))
    assert crm.sweep(ADMIN)[0].reassigned == 0
    assert owners(crm, early + called) == ["alice", "bob"]
    # the record contacted in time was never touched by the SLA
    history = [(e.entity, e.action) for e in crm.journal(ADMIN, record_id=called[0])]
    assert history == [("activity", "create"), ("record", "assign"), ("record", "create")]
    assert_replays(crm)


def test_a_worker_tick_sweeps_then_assigns_as_the_system_and_the_journal_replays(
    flow: Flow, clock: ManualClock
) -> None:
    crm = flow.crm
    _member(crm, "13812345678", "carol")
    east = flow.waiting(3, region="east")
    sticky = flow.waiting(1, phone="13812345678")
    flow.apply({**RULES, "sticky": True, "sla": {"contact_within_hours": 1, "then": "reassign"}})
    assign_one(crm)
    big = flow.add(2, budget=300000)
    plain = flow.waiting(1)
    assert owners(crm, east + sticky + big + plain) == [
        "alice", "bob", "alice", "carol", "carol", "carol", None,
    ]  # fmt: skip
    clock.advance(timedelta(hours=2))
    tick = crm.tick()
    assert tick.ran and tick.at == clock.now
    # the sweep places each late record again by the rules, away from its owner: the sticky
    # lead (no region, no budget) by the default members; carol's big leads have nobody else
    assert [s.reassigned for s in tick.sweeps] == [4]
    # then the pass places the record that waited
    assert [(a.assigned, a.by_user) for a in tick.assignments] == [(1, {"bob": 1})]
    # team east's late records each go to its other operator
    after = owners(crm, east + sticky + big + plain)
    assert after == ["bob", "alice", "bob", "bob", "carol", "carol", "bob"]
    for rid, cause in ((east[0], "sla:leads:reassign"), (plain[0], "assign:leads:default")):
        entry = crm.journal(ADMIN, record_id=rid)[0]
        assert (entry.actor, entry.cause) == (None, cause)  # the system, not a person
    assert crm.journal(ADMIN, record_id=east[0])[0].action == "reassign"
    assert_replays(crm)


# -- the command line ---------------------------------------------------------------------


@pytest.fixture
def cli(db_url: str) -> Callable[..., Any]:
    """``crm --db URL --as USER ARGS…`` through typer's runner; returns the click Result."""
    runner = CliRunner()

    def run(*args: str, user: str = ADMIN) -> Any:
        return runner.invoke(app, ["--db", db_url, "--as", user, *args], env=CLEAN_ENV)

    return run


def _fails(result: Any, code: int) -> str:
    """One ``error:`` line on stderr, the exit code, no traceback, nothing on stdout."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return str(lines[0])


def test_cli_assign_away_back_auto_assign_and_their_errors(
    flow: Flow, cli: Callable[..., Any]
) -> None:
    crm = flow.crm
    ids = flow.waiting(3)
    flow.apply(RR2)
    # errors: one line on stderr, the documented exit code, nothing changed
    before = journal_len(crm)
    line = _fails(cli("user", "away", "bob", "--until", "notatime"), 2)
    assert line == "error: --until: 'notatime' is not an ISO time like 2026-12-01T09:30"
    line = _fails(cli("assign", user="alice"), 3)
    assert line == "error: alice may not run the scheduler (managers, admins)"
    _fails(cli("record", "add", "lead", "--set", "name=Y", "--set", "phone=13700000002",
               "--auto-assign", user="alice"), 3)  # fmt: skip
    _fails(cli("user", "away", "bob", "--until", "2030-01-01", user="carol"), 3)
    _fails(cli("user", "away", "ghost", "--until", "2030-01-01"), 4)
    assert journal_len(crm) == before
    assert owners(crm, ids) == [None] * 3
    # bob away (the command line runs on the wall clock, before 2030), a dry run, the pass
    out = cli("user", "away", "bob", "--until", "2030-01-01T00:00")
    assert (out.exit_code, out.stderr) == (0, "")
    assert out.stdout == "user bob away until 2030-01-01T00:00\n"
    out = cli("assign", "--dry-run")
    assert (out.exit_code, out.stderr) == (0, "")
    assert out.stdout == "leads: would assign 3 (alice 3)\n  rule default: 3\n"
    assert owners(crm, ids) == [None] * 3
    out = cli("assign", "--json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout) == [
        {"workflow": "leads", "assigned": 3, "by_user": {"alice": 3},
         "by_rule": {"default": 3}, "left": {}, "problems": [], "failures": []},
    ]  # fmt: skip
    assert owners(crm, ids) == ["alice"] * 3
    out = cli("user", "back", "bob")
    assert (out.exit_code, out.stdout) == (0, "user bob is back\n")
    out = cli("record", "add", "lead", "--set", "name=X", "--set", "phone=13700000001",
              "--auto-assign")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    rid = int(out.stdout)
    assert owners(crm, [rid]) == ["bob"]
    assert crm.journal(ADMIN, record_id=rid)[0].cause == "assign:leads:default"
    out = cli("assign")
    assert out.stdout == "leads: assigned 0 (nobody)\n"
