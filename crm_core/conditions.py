"""The declarative condition language of workflows, compiled to SQL and to Python.

A condition is a small dict written in YAML::

    {field: budget, gte: 10000}            # also eq, ne, gt, lt, lte, in, exists
    {stage: [new, contacted]}              # the record's stage is one of these
    {days_since: last_activity, gt: 14}    # also created, stage_entered
    {owner_role: operator}                 # operator, manager, admin, none
    {activities: {type: call, min: 2}}     # count of activities (of a type)
    {all: [...]}, {any: [...]}, {not: {...}}

Both compiled forms follow one rule so they always agree: a test on a value
that is missing, or of the wrong JSON type, is false (never NULL), so ``not``
of it is true. Numbers compare only with numbers; booleans are not numbers.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import col

from crm_core.fieldsql import field_text, sql_string
from crm_core.models import Activity, Record, User

COMPARATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "exists")
NUMERIC = ("gt", "gte", "lt", "lte")
DAYS_OF = ("last_activity", "created", "stage_entered")
# The same operators compare Python values and build SQL expressions.
ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


class ConditionError(ValueError):
    """A condition is malformed; ``path`` locates the bad part inside it."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        self.path = path
        super().__init__(message)


@dataclass
class Facts:
    """What a condition can look at for one record (the Python side)."""

    stage: str | None
    fields: dict[str, Any]
    created_at: datetime
    stage_entered_at: datetime
    last_activity_at: datetime | None
    owner_role: str | None
    activity_counts: dict[str, int] = field(default_factory=dict)
    assigned_at: datetime | None = None

    @property
    def idle_since(self) -> datetime:
        """Since when the record waits for its owner: the last activity or the hand-over,
        whichever is later; its creation when it has had neither."""
        moments = [m for m in (self.last_activity_at, self.assigned_at) if m is not None]
        return max(moments) if moments else self.created_at

    def activities(self, type_: str | None) -> int:
        """Count the activities, of one type or of all types."""
        if type_ is None:
            return sum(self.activity_counts.values())
        return self.activity_counts.get(type_, 0)


Predicate = Callable[[Facts], bool]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _same(a: Any, b: Any) -> bool:
    return _json_type(a) == _json_type(b) and a == b


# -- checking ----------------------------------------------------------------


def check(cond: Any, path: tuple[str | int, ...] = ()) -> None:
    """Refuse a malformed condition with :class:`ConditionError` pointing at the bad part."""
    if not isinstance(cond, dict) or not cond:
        raise ConditionError(path, "a condition is a mapping such as {field: budget, gte: 1000}")
    if "all" in cond or "any" in cond:
        key = "all" if "all" in cond else "any"
        _only(cond, {key}, path)
        items = cond[key]
        if not isinstance(items, list) or not items:
            raise ConditionError((*path, key), f"'{key}' needs a non-empty list of conditions")
        for i, item in enumerate(items):
            check(item, (*path, key, i))
    elif "not" in cond:
        _only(cond, {"not"}, path)
        check(cond["not"], (*path, "not"))
    elif "field" in cond:
        ops = [k for k in cond if k != "field"]
        if not isinstance(cond["field"], str) or not cond["field"]:
            raise ConditionError((*path, "field"), "'field' names a field")
        if len(ops) != 1 or ops[0] not in COMPARATORS:
            raise ConditionError(
                path, f"a field test needs exactly one of {', '.join(COMPARATORS)}"
            )
        _check_operand(ops[0], cond[ops[0]], (*path, ops[0]))
    elif "stage" in cond:
        _only(cond, {"stage"}, path)
        stages = cond["stage"]
        if not (isinstance(stages, str) or (isinstance(stages, list) and stages)):
            raise ConditionError((*path, "stage"), "'stage' is a stage id or a list of them")
    elif "days_since" in cond:
        if cond["days_since"] not in DAYS_OF:
            raise ConditionError(
                (*path, "days_since"), f"'days_since' is one of {', '.join(DAYS_OF)}"
            )
        ops = [k for k in cond if k != "days_since"]
        if len(ops) != 1 or ops[0] not in NUMERIC:
            raise ConditionError(path, f"'days_since' needs exactly one of {', '.join(NUMERIC)}")
        _check_operand(ops[0], cond[ops[0]], (*path, ops[0]))
    elif "owner_role" in cond:
        _only(cond, {"owner_role"}, path)
        if cond["owner_role"] not in ("operator", "manager", "admin", "none"):
            raise ConditionError((*path, "owner_role"), "operator, manager, admin or none")
    elif "activities" in cond:
        _only(cond, {"activities"}, path)
        spec = cond["activities"]
        if not isinstance(spec, dict) or not set(spec) <= {"type", "min", "max"}:
            raise ConditionError((*path, "activities"), "'activities' takes type, min and max")
        for bound in ("min", "max"):
            if bound in spec and (not isinstance(spec[bound], int) or spec[bound] < 0):
                raise ConditionError((*path, "activities", bound), "a whole number >= 0")
    else:
        known = "all, any, not, field, stage, days_since, owner_role, activities"
        raise ConditionError(path, f"unknown condition {sorted(cond)}; use one of {known}")


def _only(cond: dict[str, Any], allowed: set[str], path: tuple[str | int, ...]) -> None:
    extra = sorted(set(cond) - allowed)
    if extra:
        raise ConditionError((*path, extra[0]), f"unexpected key '{extra[0]}' here")


def _check_operand(op: str, value: Any, path: tuple[str | int, ...]) -> None:
    if op in NUMERIC and not _is_number(value):
        raise ConditionError(path, f"'{op}' compares with a number, not {value!r}")
    if op == "in" and (not isinstance(value, list) or not value):
        raise ConditionError(path, "'in' needs a non-empty list")
    if op == "exists" and not isinstance(value, bool):
        raise ConditionError(path, "'exists' is true or false")
    if op in ("eq", "ne") and value is None:
        raise ConditionError(path, f"'{op}: null' is not allowed; use 'exists: false'")


# -- Python ------------------------------------------------------------------


def to_python(cond: dict[str, Any], now: datetime) -> Predicate:
    """Compile a (checked) condition to a predicate over :class:`Facts`."""
    if "all" in cond:
        parts = [to_python(c, now) for c in cond["all"]]
        return lambda f: all(p(f) for p in parts)
    if "any" in cond:
        parts = [to_python(c, now) for c in cond["any"]]
        return lambda f: any(p(f) for p in parts)
    if "not" in cond:
        inner = to_python(cond["not"], now)
        return lambda f: not inner(f)
    if "field" in cond:
        return _field_python(cond)
    if "stage" in cond:
        stages = [cond["stage"]] if isinstance(cond["stage"], str) else list(cond["stage"])
        return lambda f: f.stage in stages
    if "days_since" in cond:
        op = next(k for k in cond if k != "days_since")
        threshold = now - timedelta(days=cond[op])
        stamp: Callable[[Facts], datetime] = {
            "created": lambda f: f.created_at,
            "stage_entered": lambda f: f.stage_entered_at,
            "last_activity": lambda f: f.idle_since,
        }[cond["days_since"]]
        # days since ts > N  <=>  ts < now - N days: the inequality flips.
        flipped = ORDER[_FLIP[op]]
        return lambda f: bool(flipped(stamp(f), threshold))
    if "owner_role" in cond:
        role = cond["owner_role"]
        return lambda f: (f.owner_role is None) if role == "none" else f.owner_role == role
    spec = cond["activities"]
    lo, hi, type_ = spec.get("min"), spec.get("max"), spec.get("type")
    return lambda f: (
        (lo is None or f.activities(type_) >= lo) and (hi is None or f.activities(type_) <= hi)
    )


_FLIP = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}


def _field_python(cond: dict[str, Any]) -> Predicate:
    name = cond["field"]
    op = next(k for k in cond if k != "field")
    want = cond[op]
    if op == "exists":
        return lambda f: (f.fields.get(name) is not None) == want
    if op == "eq":
        return lambda f: name in f.fields and _same(f.fields[name], want)
    if op == "ne":
        return lambda f: name in f.fields and not _same(f.fields[name], want)
    if op == "in":
        return lambda f: name in f.fields and any(_same(f.fields[name], w) for w in want)
    order = ORDER[op]
    return lambda f: _is_number(f.fields.get(name)) and bool(order(f.fields[name], want))


# -- SQL ---------------------------------------------------------------------


def to_sql(cond: dict[str, Any], dialect: str, now: datetime) -> ColumnElement[bool]:
    """Compile a (checked) condition to a SQL boolean over the ``record`` table."""
    if "all" in cond:
        return and_(true(), *(to_sql(c, dialect, now) for c in cond["all"]))
    if "any" in cond:
        return or_(false(), *(to_sql(c, dialect, now) for c in cond["any"]))
    if "not" in cond:
        return not_(to_sql(cond["not"], dialect, now))
    # Leaves are made two-valued so that NOT of a missing value is true, as in Python.
    return func.coalesce(_leaf_sql(cond, dialect, now), false())


def _leaf_sql(cond: dict[str, Any], dialect: str, now: datetime) -> ColumnElement[bool]:
    if "field" in cond:
        return _field_sql(cond, dialect)
    if "stage" in cond:
        stages = [cond["stage"]] if isinstance(cond["stage"], str) else list(cond["stage"])
        return col(Record.stage).in_(stages)
    if "days_since" in cond:
        op = next(k for k in cond if k != "days_since")
        threshold = now - timedelta(days=cond[op])
        column = {
            "created": col(Record.created_at),
            "stage_entered": col(Record.stage_entered_at),
            "last_activity": idle_since(dialect),
        }[cond["days_since"]]
        return ORDER[_FLIP[op]](column, threshold)
    if "owner_role" in cond:
        if cond["owner_role"] == "none":
            return col(Record.owner_id).is_(None)
        role = select(col(User.role)).where(col(User.id) == col(Record.owner_id)).scalar_subquery()
        return role == cond["owner_role"]
    spec = cond["activities"]
    count = select(func.count()).where(col(Activity.record_id) == col(Record.id))
    if spec.get("type"):
        count = count.where(col(Activity.type) == spec["type"])
    n = count.scalar_subquery()
    clauses = []
    if "min" in spec:
        clauses.append(n >= spec["min"])
    if "max" in spec:
        clauses.append(n <= spec["max"])
    return and_(true(), *clauses)


def idle_since(dialect: str) -> ColumnElement[datetime]:
    """SQL for :attr:`Facts.idle_since`: later of last activity and hand-over, else creation."""
    created = col(Record.created_at)
    last = func.coalesce(col(Record.last_activity_at), created)
    handed = func.coalesce(col(Record.assigned_at), created)
    # SQLite's two-argument max() is scalar; PostgreSQL spells it greatest().
    later = func.greatest if dialect == "postgresql" else func.max
    result: ColumnElement[datetime] = later(last, handed)
    return result


def _field_sql(cond: dict[str, Any], dialect: str) -> ColumnElement[bool]:
    name = cond["field"]
    op = next(k for k in cond if k != "field")
    want = cond[op]
    data = col(Record.data)
    if dialect == "postgresql":
        node = data.op("->")(sql_string(name))
        kind = func.jsonb_typeof(node)
        if op == "exists":
            present = and_(node.is_not(None), kind != "null")
            return present if want else not_(present)
        if op in NUMERIC:
            number = case((kind == "number", cast(field_text(dialect, name), Numeric)))
            return ORDER[op](number, want)

        def equals(value: Any) -> ColumnElement[bool]:
            return node == cast(literal(json.dumps(value)), JSONB)

    else:
        path = sql_string("$." + name)
        kind = func.json_type(data, path)
        value_sql = field_text(dialect, name)
        if op == "exists":
            present = and_(kind.is_not(None), kind != "null")
            return present if want else not_(present)
        if op in NUMERIC:
            return and_(kind.in_(["integer", "real"]), ORDER[op](value_sql, want))

        def equals(value: Any) -> ColumnElement[bool]:
            json_types = {
                "boolean": ["true"] if value is True else ["false"],
                "number": ["integer", "real"],
                "string": ["text"],
            }.get(_json_type(value))
            if json_types is None:  # lists and objects compare as canonical JSON text
                return func.json(value_sql) == func.json(json.dumps(value))
            if _json_type(value) == "boolean":
                return kind.in_(json_types)
            return and_(kind.in_(json_types), value_sql == value)

    if op == "eq":
        return equals(want)
    if op == "ne":
        return and_(kind.is_not(None), kind != "null", not_(func.coalesce(equals(want), false())))
    return or_(*(func.coalesce(equals(w), false()) for w in want))
