"""The journal: one row per write, rolled back with a failed write, and replayable."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crm_core.api import Conflict, Crm, CrmError, JournalEntry, PluginError
from crm_core.clock import ManualClock

START_STATE = {
    "kind": "member",
    "title": "Li Lei",
    "stage": None,
    "pool_id": None,
    "archived": False,
}


def _rows(crm: Crm) -> list[JournalEntry]:
    return crm.journal("admin", limit=10_000)


@dataclass
class Step:
    """The journal rows one write added."""

    rows: list[JournalEntry]

    @property
    def row(self) -> JournalEntry:
        assert len(self.rows) == 1, [(r.entity, r.action) for r in self.rows]
        return self.rows[0]


class Recorder:
    """Runs a write and returns the journal rows it added."""

    def __init__(self, crm: Crm) -> None:
        self.crm = crm
        self.seen = {r.id for r in _rows(crm)}

    def __call__(self, write: Any) -> Step:
        write()
        new = [r for r in _rows(self.crm) if r.id not in self.seen]
        self.seen |= {r.id for r in new}
        return Step(new)


def test_every_write_journals_one_row(people: Crm, clock: ManualClock) -> None:
    crm = people
    record = Recorder(crm)
    alice, mia = ({u.name: u.id for u in crm.list_users("admin")}[n] for n in ("alice", "mia"))
    added: dict[str, Any] = {}

    def add() -> None:
        added["r"] = crm.add_record("alice", "member", {"name": "Li Lei", "visits": 1}).record

    row = record(add).row
    rid = added["r"].id
    assert (row.entity, row.entity_id, row.record_id, row.action) == ("record", rid, rid, "create")
    assert (row.actor, row.cause, row.at) == ("alice", "user:alice", clock())
    assert row.before is None
    assert row.after == {
        **START_STATE,
        "owner_id": alice,
        "fields": {"name": "Li Lei", "visits": 1, "plan": "monthly"},
    }

    clock.advance(timedelta(minutes=5))
    row = record(lambda: crm.update_record("alice", rid, {"visits": 2, "vip": True})).row
    assert (row.action, row.actor, row.cause, row.at) == ("update", "alice", "user:alice", clock())
    assert row.before == {"fields": {"visits": 1, "vip": None}}
    assert row.after == {"fields": {"visits": 2, "vip": True}}

    row = record(lambda: crm.update_record("alice", rid, {"vip": None})).row
    assert (row.before, row.after) == ({"fields": {"vip": True}}, {"fields": {"vip": None}})

    row = record(lambda: crm.update_record("alice", rid, title="Mr Li")).row
    assert (row.before, row.after) == ({"title": "Li Lei"}, {"title": "Mr Li"})

    row = record(lambda: crm.update_record("mia", rid, owner="mia")).row
    assert (row.action, row.actor, row.cause) == ("assign", "mia", "user:mia")
    assert (row.before, row.after) == ({"owner_id": alice}, {"owner_id": mia})

    row = record(lambda: crm.log_activity("mia", rid, "tour", note="showed the pool")).row
    assert (row.entity, row.record_id, row.action, row.actor) == ("activity", rid, "create", "mia")
    assert row.after is not None and row.after["note"] == "showed the pool"

    row = record(lambda: crm.archive_record("admin", rid)).row
    assert (row.action, row.actor, row.cause) == ("archive", "admin", "user:admin")
    assert (row.before, row.after) == ({"archived": False}, {"archived": True})

    assert [r.action for r in crm.journal("mia", record_id=rid)] == [
        "archive",
        "create",
        "assign",
        "update",
        "update",
        "update",
        "create",
    ]
    assert crm.replay_journal("admin") == crm.record_states("admin")


def test_a_write_that_changes_nothing_journals_nothing(people: Crm) -> None:
    crm = people
    rid = crm.add_record("alice", "member", {"name": "Li", "visits": 1}).record.id
    record = Recorder(crm)
    step = record(lambda: crm.update_record("alice", rid, {"visits": 1, "vip": None}))
    assert step.rows == []
    step = record(lambda: crm.update_record("alice", rid, owner="alice"))
    assert step.rows == []
    assert crm.get_record("alice", rid).version == 1


def test_archived_records_refuse_more_changes(people: Crm) -> None:
    crm = people
    rid = crm.add_record("alice", "member", {"name": "Li"}).record.id
    archived = crm.archive_record("alice", rid)
    assert archived.archived_at is not None
    assert crm.list_records("alice") == []
    assert [r.id for r in crm.list_records("alice", archived=True)] == [rid]
    states, rows = crm.record_states("admin"), _rows(crm)
    for attempt in (
        lambda: crm.archive_record("alice", rid),
        lambda: crm.update_record("alice", rid, {"visits": 1}),
        lambda: crm.update_record("alice", rid, title="New"),
    ):
        with pytest.raises(Conflict, match=f"record #{rid} is") as err:
            attempt()
        assert err.value.exit_code == 5
    assert crm.record_states("admin") == states
    assert _rows(crm) == rows
    assert crm.get_record("alice", rid).archived_at == archived.archived_at


def test_a_stale_version_is_refused(people: Crm) -> None:
    crm = people
    rec = crm.add_record("alice", "member", {"name": "Li"}).record
    crm.update_record("alice", rec.id, {"visits": 1}, expected_version=rec.version)
    rows = _rows(crm)
    with pytest.raises(Conflict, match="is at version 2, not 1"):
        crm.update_record("alice", rec.id, {"visits": 2}, expected_version=rec.version)
    assert crm.get_record("alice", rec.id).fields["visits"] == 1
    assert _rows(crm) == rows


def test_a_failing_change_hook_rolls_back_a_create(people: Crm) -> None:
    crm = people
    journal_before = _rows(crm)
    with pytest.raises(PluginError) as err:
        crm.add_record("alice", "member", {"name": "Li", "phone": "13812345678"}, title="EXPLODE")
    assert err.value.exit_code == 6
    assert err.value.plugin == "testplugin"
    assert err.value.hook == "crm_record_changed"
    assert str(err.value).startswith("plugin 'testplugin' failed in crm_record_changed")
    assert crm.count_records("admin") == 0
    assert crm.record_states("admin") == {}
    assert _rows(crm) == journal_before
    # the dedupe key went with it: the same phone can be added now
    crm.add_record("alice", "member", {"name": "Li", "phone": "13812345678"})


def test_a_failing_change_hook_rolls_back_an_update(people: Crm) -> None:
    crm = people
    rec = crm.add_record("alice", "member", {"name": "Li", "visits": 1}).record
    states, journal_before = crm.record_states("admin"), _rows(crm)
    with pytest.raises(PluginError, match="testplugin"):
        crm.update_record("alice", rec.id, {"visits": 5}, title="EXPLODE now")
    assert crm.record_states("admin") == states
    assert _rows(crm) == journal_before
    after = crm.get_record("alice", rec.id)
    assert (after.title, after.fields, after.version) == (rec.title, rec.fields, rec.version)


# -- replay equals the stored state, for random histories ------------------------------------

USERS = ["admin", "alice", "bob", "mia"]
NAMES = ["Li Lei", "Wang Fang", "Zhang Wei", "Zhao Min", "EXPLODE"]
PHONES = ["13800000001", "138 0000 0001", "+86 138-0000-0002", "13800000003", "bad phone"]
EMAILS = ["a@example.com", "A@Example.com", "b@example.com"]
TITLES = ["VIP", "call back", "EXPLODE it"]
START_CLOCK = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Mostly valid values, with a few that the schema, the dedupe normalisers or the
# plugins refuse, so that histories mix writes and refusals.
name = st.sampled_from(NAMES)
member_values = {
    "phone": st.sampled_from(PHONES),
    "email": st.sampled_from(EMAILS),
    "plan": st.sampled_from(["monthly", "monthly", "yearly"]),
    "visits": st.integers(-1, 20),
    "vip": st.booleans(),
}
lead_values = {
    "email": st.sampled_from(EMAILS),
    "company": st.sampled_from(["Acme Co., Ltd.", "ACME Limited", "北京阿里巴巴有限公司"]),
    "source": st.sampled_from(["web", "event", "referral"]),
    "budget": st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
    "region": st.sampled_from(["华东", "华北"]),
}
new_fields = st.one_of(
    st.tuples(st.just("member"), st.fixed_dictionaries({"name": name}, optional=member_values)),
    st.tuples(
        st.just("lead"),
        st.fixed_dictionaries(
            {"name": name, "phone": st.sampled_from(PHONES)}, optional=lead_values
        ),
    ),
)


def _changes(values: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Field changes for one kind: a new value, or None (about one in three) to clear it."""
    return st.dictionaries(st.sampled_from(sorted(values)), st.integers(0, 2), min_size=1).flatmap(
        lambda picks: st.fixed_dictionaries(
            {k: st.none() if pick == 0 else values[k] for k, pick in picks.items()}
        )
    )


member_changes = _changes({"name": name, **member_values})
lead_changes = _changes({"name": name, "phone": st.sampled_from(PHONES), **lead_values})
# admin and mia (the east manager) may change every record; alice and bob only theirs
user = st.sampled_from(["admin", "admin", "mia", "alice", "bob"])
which = st.integers(0, 30)
add = st.tuples(st.just("add"), user, new_fields, st.sampled_from([None, *TITLES]), st.booleans())
update = st.tuples(
    st.just("update"),
    user,
    which,
    member_changes,
    lead_changes,
    st.one_of(st.none(), st.sampled_from(TITLES)),
    st.one_of(st.none(), user),
)
operations = st.one_of(
    add,
    add,
    update,
    update,
    update,
    st.tuples(st.just("assign"), user, which, user),
    st.tuples(st.just("archive"), user, which),
    st.tuples(st.just("activity"), user, which, st.sampled_from(["call", "tour", "note"])),
)
# every history starts with a record that can be written to
FIRST = ("add", "alice", ("member", {"name": "Zhou Jie", "visits": 1}), None, False)
histories = st.lists(operations, max_size=12).map(lambda ops: [FIRST, *ops])


@pytest.fixture
def fresh_crm(db_url: str, tmp_path: Path, reset_pg: Callable[[str], None]) -> Iterator[Any]:
    """A factory of CRMs on an empty database, a new one on every call."""
    opened: list[Crm] = []

    def make(clock: ManualClock) -> Crm:
        for old in opened:
            old.close()
        if db_url.startswith("sqlite"):
            # db_url is a pristine copy of the migrated template: copy it again
            path = tmp_path / f"{uuid.uuid4().hex}.db"
            shutil.copy(db_url.removeprefix("sqlite:///"), path)
            crm = Crm.open(f"sqlite:///{path}", clock=clock)
        else:
            reset_pg(db_url)
            crm = Crm.open(db_url, clock=clock)
        opened.append(crm)
        crm.add_team("admin", "east")
        crm.add_user("admin", "alice", "operator", "east")
        crm.add_user("admin", "bob", "operator", "east")
        crm.add_user("admin", "mia", "manager", "east")
        return crm

    yield make
    for old in opened:
        old.close()


def _apply(crm: Crm, ids: list[tuple[int, str]], op: tuple[Any, ...]) -> None:
    name, actor = op[0], op[1]
    if name == "add":
        _, _, (kind, fields), title, merge = op
        result = crm.add_record(actor, kind, fields, title=title, merge=merge)
        if not result.merged:
            ids.append((result.record.id, kind))
        return
    if not ids:
        return
    record_id, kind = ids[op[2] % len(ids)]
    if name == "update":
        _, _, _, member, lead, title, owner = op
        fields = member if kind == "member" else lead
        crm.update_record(actor, record_id, fields, title=title, owner=owner)
    elif name == "assign":
        crm.update_record(actor, record_id, owner=op[3])
    elif name == "archive":
        crm.archive_record(actor, record_id)
    else:
        crm.log_activity(actor, record_id, op[3], note="touch")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories)
def test_replaying_the_journal_rebuilds_every_record(fresh_crm: Any, history: list[Any]) -> None:
    clock = ManualClock(START_CLOCK)
    crm = fresh_crm(clock)
    ids: list[tuple[int, str]] = []
    for op in history:
        clock.advance(timedelta(minutes=1))
        states, rows = crm.record_states("admin"), len(_rows(crm))
        try:
            _apply(crm, ids, op)
            event(f"{op[0]}: done")
        except CrmError as exc:
            event(f"{op[0]}: {type(exc).__name__}")
            # a refusal is a clean one (not a database error) and changes nothing
            assert exc.exit_code != 1, exc
            assert crm.record_states("admin") == states
            assert len(_rows(crm)) == rows
    assert crm.replay_journal("admin") == crm.record_states("admin")
