"""Who may see and change which records: operators, managers, admins, pools."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from crm_core import records
from crm_core.api import Crm, InvalidInput, NotFound, PermissionDenied
from crm_core.models import Record
from crm_core.permissions import ACTIONS, Actor, allows, load_actor, record_filter, relation


def _snapshot(crm: Crm) -> tuple[int, dict[int, dict[str, Any]]]:
    return len(crm.journal("admin", limit=10_000)), crm.record_states("admin")


def _ids(crm: Crm, actor: str) -> set[int]:
    return {r.id for r in crm.list_records(actor, archived=True, limit=10_000)}


def _user_id(crm: Crm, name: str) -> int:
    return next(u.id for u in crm.list_users("admin") if u.name == name)


def _pool_id(crm: Crm, name: str) -> int:
    return next(p.id for p in crm.list_pools("admin") if p.name == name)


def _place(crm: Crm, record_id: int, owner_id: int | None, pool_id: int | None) -> None:
    """Put a record with an owner and/or in a pool, as the pool rules of the core will."""
    with crm._write("admin") as ctx:
        record = ctx.session.get(Record, record_id)
        assert record is not None
        records.change(ctx, record, "assign", owner_id=owner_id, pool_id=pool_id)


@pytest.fixture
def recs(people: Crm) -> dict[str, int]:
    """One member record each for alice, bob (east), carol (west) and mia (east manager)."""
    crm = people
    return {
        name: crm.add_record(name, "member", {"name": f"{name}'s customer"}).record.id
        for name in ("alice", "bob", "carol", "mia")
    }


# -- operators -------------------------------------------------------------------


def test_operator_sees_only_own_records(people: Crm, recs: dict[str, int]) -> None:
    crm = people
    assert _ids(crm, "alice") == {recs["alice"]}
    assert _ids(crm, "carol") == {recs["carol"]}
    assert crm.count_records("alice") == 1
    assert crm.get_record("alice", recs["alice"]).owner == "alice"


def test_operator_cannot_touch_someone_elses_record(people: Crm, recs: dict[str, int]) -> None:
    crm = people
    bobs = recs["bob"]
    before = _snapshot(crm)
    attempts = [
        lambda: crm.get_record("alice", bobs),
        lambda: crm.update_record("alice", bobs, {"visits": 3}),
        lambda: crm.update_record("alice", bobs, owner="alice"),
        lambda: crm.archive_record("alice", bobs),
        lambda: crm.log_activity("alice", bobs, "call", note="hi"),
        lambda: crm.journal("alice", record_id=bobs),
        lambda: crm.add_contact("alice", bobs, "Wang"),
        lambda: crm.list_activities("alice", bobs),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied) as err:
            attempt()
        assert err.value.exit_code == 3
        assert f"record #{bobs} is owned by bob" in str(err.value)
    assert _snapshot(crm) == before
    assert crm.get_record("bob", bobs).version == 1


def test_a_missing_record_is_not_found_not_denied(people: Crm, recs: dict[str, int]) -> None:
    with pytest.raises(NotFound) as err:
        people.get_record("alice", 9999)
    assert err.value.exit_code == 4


def test_operator_may_not_give_a_record_away(people: Crm, recs: dict[str, int]) -> None:
    crm = people
    before = _snapshot(crm)
    with pytest.raises(PermissionDenied, match="only to themselves, not to bob"):
        crm.update_record("alice", recs["alice"], owner="bob")
    with pytest.raises(PermissionDenied):
        crm.add_record("alice", "member", {"name": "New"}, owner="bob")
    assert _snapshot(crm) == before
    assert crm.get_record("alice", recs["alice"]).owner == "alice"


def test_pool_records_are_seen_by_pool_members(people: Crm, recs: dict[str, int]) -> None:
    crm = people
    pooled = recs["carol"]
    _place(crm, pooled, None, _pool_id(crm, "east-pool"))
    assert crm.get_record("admin", pooled).pool == "east-pool"
    assert crm.get_record("alice", pooled).owner is None
    assert pooled in _ids(crm, "alice")
    assert pooled in _ids(crm, "bob")
    assert pooled in _ids(crm, "mia")  # a pool admin
    assert pooled not in _ids(crm, "carol")  # no longer hers, not her pool
    with pytest.raises(PermissionDenied, match="not in any of your pools"):
        crm.get_record("carol", pooled)


def test_claiming_a_pool_record_takes_it_out_of_the_pool(people: Crm, recs: dict[str, int]) -> None:
    crm = people
    pooled = recs["carol"]
    _place(crm, pooled, None, _pool_id(crm, "east-pool"))
    claimed = crm.update_record("alice", pooled, owner="alice")
    assert (claimed.owner, claimed.pool) == ("alice", None)
    assert pooled in _ids(crm, "alice")
    assert pooled not in _ids(crm, "bob")
    with pytest.raises(PermissionDenied):
        crm.get_record("bob", pooled)
    last = crm.journal("alice", record_id=pooled)[0]
    assert (last.action, last.cause) == ("claim", "claim:east-pool")


# -- managers and admins ---------------------------------------------------------------


def test_manager_sees_the_team_not_other_teams(people: Crm, recs: dict[str, int]) -> None:
    crm = people
    assert _ids(crm, "mia") == {recs["alice"], recs["bob"], recs["mia"]}
    assert crm.get_record("mia", recs["alice"]).owner == "alice"
    with pytest.raises(PermissionDenied):
        crm.get_record("mia", recs["carol"])
    with pytest.raises(PermissionDenied):
        crm.update_record("mia", recs["carol"], {"visits": 1})


def test_admin_sees_everything(people: Crm, recs: dict[str, int]) -> None:
    crm = people
    assert _ids(crm, "admin") == set(recs.values())
    assert crm.count_records("admin") == 4
    for record_id in recs.values():
        crm.get_record("admin", record_id)


def test_manager_reassigns_within_the_team_only(people: Crm, recs: dict[str, int]) -> None:
    crm = people
    moved = crm.update_record("mia", recs["alice"], owner="bob")
    assert moved.owner == "bob"
    assert recs["alice"] not in _ids(crm, "alice")
    assert recs["alice"] in _ids(crm, "bob")
    before = _snapshot(crm)
    with pytest.raises(PermissionDenied, match="only to their team, not to carol"):
        crm.update_record("mia", recs["bob"], owner="carol")
    assert _snapshot(crm) == before
    assert crm.update_record("admin", recs["bob"], owner="carol").owner == "carol"
    assert recs["bob"] in _ids(crm, "carol")
    assert recs["bob"] not in _ids(crm, "mia")


def test_only_admins_manage_users_teams_and_pools(people: Crm) -> None:
    crm = people
    users, teams, pools = crm.list_users("admin"), crm.list_teams("admin"), crm.list_pools("admin")
    journal_rows = len(crm.journal("admin", limit=10_000))
    for actor in ("alice", "mia"):
        for attempt in (
            lambda a=actor: crm.add_user(a, "eve", "operator", "east"),
            lambda a=actor: crm.add_user(a, "eve", "admin"),
            lambda a=actor: crm.add_team(a, "north"),
            lambda a=actor: crm.add_pool(a, "north-pool", ["alice"]),
            lambda a=actor: crm.set_user_active(a, "bob", False),
        ):
            with pytest.raises(PermissionDenied, match="only an admin may") as err:
                attempt()
            assert err.value.exit_code == 3
    assert crm.list_users("admin") == users
    assert crm.list_teams("admin") == teams
    assert crm.list_pools("admin") == pools
    assert len(crm.journal("admin", limit=10_000)) == journal_rows
    assert crm.add_user("admin", "eve", "operator", "west").team == "west"


def test_an_inactive_user_cannot_act(people: Crm, recs: dict[str, int]) -> None:
    crm = people
    crm.set_user_active("admin", "alice", False)
    before = _snapshot(crm)
    for attempt in (
        lambda: crm.get_record("alice", recs["alice"]),
        lambda: crm.list_records("alice"),
        lambda: crm.add_record("alice", "member", {"name": "New"}),
        lambda: crm.update_record("alice", recs["alice"], {"visits": 1}),
        lambda: crm.journal("alice"),
    ):
        with pytest.raises(PermissionDenied, match="'alice' is inactive"):
            attempt()
    with pytest.raises(InvalidInput, match="inactive"):
        crm.update_record("mia", recs["bob"], owner="alice")
    assert _snapshot(crm) == before
    crm.set_user_active("admin", "alice", True)
    assert crm.get_record("alice", recs["alice"]).id == recs["alice"]


def test_an_unknown_user_cannot_act(people: Crm) -> None:
    with pytest.raises(NotFound, match="no user 'mallory'"):
        people.list_records("mallory")


def test_journal_is_filtered_like_records(people: Crm, recs: dict[str, int]) -> None:
    crm = people
    crm.log_activity("bob", recs["bob"], "call")
    seen = {j.record_id for j in crm.journal("alice", limit=10_000)}
    assert seen == {recs["alice"]}
    seen = {j.record_id for j in crm.journal("mia", limit=10_000)}
    assert seen == {recs["alice"], recs["bob"], recs["mia"]}
    # admins also see the rows that are about no record (users, teams, pools)
    entities = {j.entity for j in crm.journal("admin", limit=10_000)}
    assert {"user", "team", "pool", "record", "activity"} <= entities


# -- the rule itself: the Python predicate -------------------------------------------------


def _actor(
    role: str,
    uid: int,
    pools: frozenset[int] = frozenset(),
    team: frozenset[int] = frozenset(),
    team_pools: frozenset[int] = frozenset(),
) -> Actor:
    return Actor(uid, "x", role, None, frozenset(pools), frozenset({uid, *team}), team_pools)


def test_relation_and_allows() -> None:
    operator = _actor("operator", 1, pools=frozenset({10}), team=frozenset({2}),
                      team_pools=frozenset({11}))  # fmt: skip
    assert relation(operator, 1, None) == "own"
    assert relation(operator, 2, None) == "team"
    assert relation(operator, None, 10) == "pool_member"
    assert relation(operator, None, 11) == "pool_team"
    assert relation(operator, 3, None) == relation(operator, None, 12) == "other"
    assert allows(operator, "update", 1, None)
    assert allows(operator, "show", None, 10) and allows(operator, "claim", None, 10)
    assert not allows(operator, "update", None, 10)  # claim first
    assert not allows(operator, "show", 2, None)  # a teammate's record
    assert not allows(operator, "show", None, 11)
    manager = _actor("manager", 5, team=frozenset({1, 2}), team_pools=frozenset({11}))
    assert allows(manager, "reassign", 2, None)
    assert allows(manager, "assign", None, 11) and not allows(manager, "claim", None, 11)
    assert not allows(manager, "show", 3, None)
    admin = _actor("admin", 9)
    assert all(allows(admin, a, None, None) for a in ACTIONS)


# -- the SQL filter and the Python predicate agree ---------------------------------------------

EXTRA_USERS = [("wes", "manager", "west"), ("nia", "operator", None), ("max", "manager", None)]
N_RECORDS = 6


def test_sql_filter_and_python_rule_agree(people: Crm) -> None:
    """For random owners and pools, every way of reading records agrees with the rules."""
    crm = people
    for name, role, team in EXTRA_USERS:
        crm.add_user("admin", name, role, team)
    crm.add_pool("admin", "west-pool", ["carol", "nia"], ["wes"])
    ids = [
        crm.add_record("admin", "member", {"name": f"customer {i}"}).record.id
        for i in range(N_RECORDS)
    ]
    crm.log_activity("admin", ids[0], "call")
    users = {u.name: u.id for u in crm.list_users("admin")}
    pools = [_pool_id(crm, "east-pool"), _pool_id(crm, "west-pool")]
    owner_ids = st.one_of(st.none(), st.sampled_from(sorted(users.values())))
    pool_ids = st.one_of(st.none(), st.sampled_from(pools))
    layouts = st.lists(st.tuples(owner_ids, pool_ids), min_size=N_RECORDS, max_size=N_RECORDS)

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(layout=layouts)
    def check(layout: list[tuple[int | None, int | None]]) -> None:
        with crm._write("admin") as ctx:
            for record_id, (owner_id, pool_id) in zip(ids, layout, strict=True):
                record = ctx.session.get(Record, record_id)
                assert record is not None
                records.change(ctx, record, "assign", owner_id=owner_id, pool_id=pool_id)
        placed = dict(zip(ids, layout, strict=True))
        with crm._read("admin") as (session, _who):
            actors = {name: load_actor(session, name) for name in users}
            sql = {
                (name, action): set(
                    session.exec(select(Record.id).where(record_filter(a, action))).all()
                )
                for name, a in actors.items()
                for action in ACTIONS
            }
        for name, actor in actors.items():
            for action in ACTIONS:
                wanted = {rid for rid, (o, p) in placed.items() if allows(actor, action, o, p)}
                assert sql[name, action] == wanted, (name, action)
            expected = {rid for rid, (o, p) in placed.items() if allows(actor, "show", o, p)}
            assert _ids(crm, name) == expected, name
            assert crm.count_records(name) == len(expected), name
            for record_id in ids:
                if record_id in expected:
                    assert crm.get_record(name, record_id).id == record_id
                else:
                    with pytest.raises(PermissionDenied):
                        crm.get_record(name, record_id)
            seen = {j.record_id for j in crm.journal(name, limit=10_000)}
            if actor.is_admin:
                assert set(ids) <= seen
            else:
                assert seen == expected, name

    check()
