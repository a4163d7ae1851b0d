"""The condition language: its SQL and Python forms agree on random records and conditions,
plugins' operators included."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import ColumnElement
from sqlmodel import col, select

from crm_core import conditions
from crm_core.api import Crm, InvalidInput, PluginError
from crm_core.clock import ManualClock
from crm_core.conditions import ConditionError, Facts, Operator
from crm_core.db import read_session, transaction
from crm_core.models import Activity, Record, User

FIELD_VALUES = st.one_of(
    st.integers(-5, 5), st.floats(-5, 5, allow_nan=False), st.booleans(),
    st.sampled_from(["east", "west", "5", ""]),
)  # fmt: skip
NUMBERS = st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False))
FIELDS = st.sampled_from(["budget", "region", "vip"])


def _touched_sql(arg: dict[str, int], dialect: str, now: datetime) -> ColumnElement[bool]:
    return col(Record.last_activity_at) >= now - timedelta(days=arg["days"])


def _touched_python(facts: Facts, arg: dict[str, int], now: datetime) -> bool:
    last = facts.last_activity_at
    return last is not None and last >= now - timedelta(days=arg["days"])


# Operators as a plugin registers them (crm_register_conditions), in both forms.
OPERATORS = {
    "stage_starts": Operator(
        "stage_starts", "test",
        python=lambda facts, arg, now: (facts.stage or "").startswith(arg),
        sql=lambda arg, dialect, now: col(Record.stage).startswith(arg, autoescape=True),
        schema={"type": "string", "minLength": 1},
    ),
    "touched_within": Operator(
        "touched_within", "test", python=_touched_python, sql=_touched_sql,
        schema={"type": "object", "properties": {"days": {"type": "integer"}}},
    ),
}  # fmt: skip


def _activities(type_: str | None, lo: int | None, hi: int | None) -> dict[str, Any]:
    spec = {"type": type_, "min": lo, "max": hi}
    return {"activities": {k: v for k, v in spec.items() if v is not None}}


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    field_test = st.one_of(
        st.builds(lambda f, op, v: {"field": f, op: v}, FIELDS,
                  st.sampled_from(["gt", "gte", "lt", "lte"]), NUMBERS),
        st.builds(lambda f, op, v: {"field": f, op: v}, FIELDS, st.sampled_from(["eq", "ne"]),
                  FIELD_VALUES),
        st.builds(lambda f, v: {"field": f, "in": v}, FIELDS,
                  st.lists(FIELD_VALUES, min_size=1, max_size=3)),
        st.builds(lambda f, v: {"field": f, "exists": v}, FIELDS, st.booleans()),
    )  # fmt: skip
    return st.one_of(
        field_test,
        st.builds(lambda s: {"stage": s}, st.sampled_from(["new", "won", ["new", "lost"]])),
        st.builds(lambda w, op, n: {"days_since": w, op: n},
                  st.sampled_from(["last_activity", "created", "stage_entered"]),
                  st.sampled_from(["gt", "gte", "lt", "lte"]), st.integers(0, 40)),
        st.builds(lambda r: {"owner_role": r}, st.sampled_from(["operator", "manager", "none"])),
        st.builds(_activities, st.sampled_from([None, "call", "visit"]),
                  st.one_of(st.none(), st.integers(0, 3)), st.one_of(st.none(), st.integers(0, 3))),
        st.builds(lambda p: {"stage_starts": p}, st.sampled_from(["n", "ne", "w", "lo", "_"])),
        st.builds(lambda d: {"touched_within": {"days": d}}, st.integers(0, 40)),
    )  # fmt: skip


CONDITIONS = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)


@pytest.fixture
def population(request: pytest.FixtureRequest, people: Crm, clock: ManualClock) -> list[Facts]:
    """Sixty records with random fields, stages, owners, ages and activities."""
    # Made-up histories (ages, hand-overs) that no API write could produce, so unjournaled.
    request.node.add_marker(pytest.mark.no_journal_check)
    rng = random.Random(7)
    now = clock()
    facts = []
    with transaction(people.engine) as session:
        users = {u.name: u for u in session.exec(select(User)).all()}
        for i in range(60):
            data = {
                name: rng.choice([3, -2, 0, 2.5, True, False, "east", "west", "5", ""])
                for name in ("budget", "region", "vip")
                if rng.random() < 0.7
            }
            owner = rng.choice([None, users["alice"], users["mia"], users["admin"]])
            created = now - timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 23))
            entered = created + timedelta(days=rng.randint(0, 3))
            last = None if rng.random() < 0.3 else created + timedelta(days=rng.randint(0, 5))
            handed = None if rng.random() < 0.5 else created + timedelta(days=rng.randint(0, 8))
            record = Record(
                kind="member", title=f"r{i}", stage=rng.choice([None, "new", "won", "lost"]),
                owner_id=owner.id if owner else None, data=data, created_at=created,
                updated_at=created, stage_entered_at=entered, last_activity_at=last,
                assigned_at=handed,
            )  # fmt: skip
            session.add(record)
            session.flush()
            counts: dict[str, int] = {}
            for _ in range(rng.randint(0, 3)):
                type_ = rng.choice(["call", "visit", "note"])
                counts[type_] = counts.get(type_, 0) + 1
                session.add(Activity(record_id=record.id, type=type_, occurred_at=created))
            facts.append(
                Facts(record.stage, data, created, entered, last,
                      owner.role if owner else None, counts, handed)
            )  # fmt: skip
    return facts


def _sql_ids(crm: Crm, cond: dict[str, Any], now: Any) -> list[int]:
    where = conditions.to_sql(cond, crm.engine.dialect.name, now, OPERATORS)
    with read_session(crm.engine) as session:
        return list(session.exec(select(Record.id).where(where).order_by(col(Record.id))).all())


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cond=CONDITIONS)
def test_sql_and_python_agree(
    people: Crm, population: list[Facts], clock: ManualClock, cond: dict[str, Any]
) -> None:
    conditions.check(cond, operators=OPERATORS)
    predicate = conditions.to_python(cond, clock(), OPERATORS)
    expected = [i + 1 for i, facts in enumerate(population) if predicate(facts)]
    assert _sql_ids(people, cond, clock()) == expected, cond


def test_days_since_counts_from_creation_when_never_contacted(
    people: Crm, population: list[Facts], clock: ManualClock
) -> None:
    cond = {"days_since": "last_activity", "gt": 10}
    predicate = conditions.to_python(cond, clock())
    never = [f for f in population if f.last_activity_at is None and f.assigned_at is None]
    assert never, "the population has records that were never contacted"
    assert {predicate(f) for f in never} == {
        clock() - f.created_at > timedelta(days=10) for f in never
    }


def test_days_since_last_activity_restarts_when_the_record_changes_hands(
    people: Crm, population: list[Facts], clock: ManualClock
) -> None:
    cond = {"days_since": "last_activity", "gt": 3}
    predicate = conditions.to_python(cond, clock())
    handed_late = [
        f for f in population
        if f.assigned_at is not None and (f.last_activity_at or f.created_at) < f.assigned_at
    ]  # fmt: skip
    assert handed_late, "the population has records handed over after their last activity"
    assert {predicate(f) for f in handed_late} == {
        clock() - f.assigned_at > timedelta(days=3) for f in handed_late if f.assigned_at
    }


def test_not_of_a_missing_field_is_true(people: Crm, clock: ManualClock) -> None:
    facts = Facts(None, {}, clock(), clock(), None, None)
    assert not conditions.to_python({"field": "budget", "gt": 1}, clock())(facts)
    assert conditions.to_python({"not": {"field": "budget", "gt": 1}}, clock())(facts)


@pytest.mark.parametrize(
    ("cond", "path", "words"),
    [
        ({"field": "budget", "gt": "a lot"}, ("gt",), "compares with a number"),
        ({"field": "budget"}, (), "exactly one of"),
        ({"all": []}, ("all",), "non-empty list"),
        ({"any": [{"stage": "new"}, {"colour": "red"}]}, ("any", 1), "unknown condition"),
        ({"days_since": "birthday", "gt": 3}, ("days_since",), "one of"),
        ({"not": {"field": "x", "eq": None}}, ("not", "eq"), "exists: false"),
        ({"stage": "new", "extra": 1}, ("extra",), "unexpected key"),
        (
            {"not": {"touched_within": {"days": "2"}}},
            ("not", "touched_within", "days"),
            "is not of type 'integer'",
        ),
        (
            {"colour": "red"},
            (),
            "use one of all, any, not, field, stage, days_since, owner_role, "
            "activities, stage_starts, touched_within",
        ),
    ],
)
def test_malformed_conditions_are_located(cond: Any, path: tuple[Any, ...], words: str) -> None:
    with pytest.raises(ConditionError) as err:
        conditions.check(cond, operators=OPERATORS)
    assert err.value.path == path
    assert words in str(err.value)


def test_a_failing_operator_names_its_plugin_and_an_unknown_one_its_name(
    clock: ManualClock,
) -> None:
    def broken(facts: Facts, arg: Any, now: datetime) -> bool:
        raise KeyError("course")

    operators = {"course_in": Operator("course_in", "school", broken, None, {})}
    facts = Facts("new", {}, clock(), clock(), None, None)
    with pytest.raises(PluginError, match="plugin 'school' failed in condition course_in"):
        conditions.to_python({"not": {"course_in": 1}}, clock(), operators)(facts)
    with pytest.raises(InvalidInput, match="'course_in' of plugin 'school' has no SQL form"):
        conditions.to_sql({"course_in": 1}, "sqlite", clock(), operators)
    with pytest.raises(InvalidInput, match="operator 'course_in' is not registered"):
        conditions.to_python({"course_in": 1}, clock())
