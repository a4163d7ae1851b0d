"""The declarative condition language of workflows, compiled to SQL and to Python.

A condition is a small dict written in YAML::

    {field: budget, gte: 10000}            # also eq, ne, gt, lt, lte, in, exists
    {stage: [new, contacted]}              # the record's stage is one of these
    {days_since: last_activity, gt: 14}    # also created, stage_entered
    {owner_role: operator}                 # operator, manager, admin, none
    {activities: {type: call, min: 2}}     # count of activities (of a type)
    {all: [...]}, {any: [...]}, {not: {...}}
    {near_campus: {km: 5}}                 # an operator a plugin registered

Plugins add operators through ``crm_register_conditions``: each is an
:class:`Operator` with a JSON Schema for its argument, a Python form and, when
it can say it in SQL, an SQL form. Functions here take the registered
operators as ``operators``; a condition naming one that is not registered is
refused.

Both compiled forms follow one rule so they always agree: a test on a value
that is missing, or of the wrong JSON type, is false (never NULL), so ``not``
of it is true. Numbers compare only with numbers; booleans are not numbers.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
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

from crm_core.errors import CrmError, InvalidInput, PluginError
from crm_core.fieldsql import field_text, sql_string
from crm_core.i18n import _
from crm_core.models import Activity, Record, User

COMPARATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "exists")
NUMERIC = ("gt", "gte", "lt", "lte")
DAYS_OF = ("last_activity", "created", "stage_entered")
# The keys of the core's own conditions; a plugin's operator may not take one.
CORE_KEYS = frozenset(
    {"all", "any", "not", "field", "stage", "days_since", "owner_role", "activities"}
)
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


@dataclass(frozen=True)
class Operator:
    """A condition operator a plugin registered: ``{name: argument}`` in the YAML.

    ``python(facts, arg, now)`` decides for one record (``facts`` is a
    :class:`Facts`); ``sql(arg, dialect, now)``, when given, returns a SQL
    boolean over the ``record`` table that selects the same records. Without
    it the operator can be used only where conditions run on one record
    (transition guards), not in the set-based assignment rules and pool sweeps.
    """

    name: str
    plugin: str
    python: Callable[[Facts, Any, datetime], bool]
    sql: Callable[[Any, str, datetime], ColumnElement[bool]] | None
    schema: dict[str, Any]

    def check(self, arg: Any, path: tuple[str | int, ...]) -> None:
        """Refuse an argument its schema rejects, pointing at the bad part."""
        # Imported when a workflow is checked: most commands check none.
        import jsonschema

        validator = jsonschema.Draft202012Validator(self.schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(arg))
        if error is not None:
            where = (*path, self.name, *error.absolute_path)
            raise ConditionError(where, error.message)

    def holds(self, facts: Facts, arg: Any, now: datetime) -> bool:
        """Run the Python form; its failure is the plugin's (exit 6)."""
        try:
            return bool(self.python(facts, arg, now))
        except CrmError:
            raise
        except Exception as exc:
            raise PluginError(self.plugin, f"condition {self.name}", exc) from exc

    def to_sql(self, arg: Any, dialect: str, now: datetime) -> ColumnElement[bool]:
        """Run the SQL form; its failure is the plugin's (exit 6)."""
        if self.sql is None:
            raise InvalidInput(
                _(
                    "condition operator '{name}' of plugin '{plugin}' has no SQL form: use it "
                    "only in transitions' 'when'",
                    name=self.name,
                    plugin=self.plugin,
                )
            )
        try:
            return self.sql(arg, dialect, now)
        except CrmError:
            raise
        except Exception as exc:
            raise PluginError(self.plugin, f"condition {self.name}", exc) from exc


Operators = Mapping[str, Operator]
NO_OPERATORS: Operators = {}


def plugin_operator(cond: dict[str, Any], operators: Operators) -> Operator | None:
    """The registered operator ``cond`` names, or None when it is one of the core's.

    A single-key condition that is neither the core's nor registered is
    refused: its plugin was removed after the workflow was applied.
    """
    if len(cond) != 1 or not CORE_KEYS.isdisjoint(cond):
        return None
    ((name, _arg),) = cond.items()
    if name not in operators:
        raise InvalidInput(
            _(
                "condition operator '{name}' is not registered: is its plugin installed and "
                "enabled?",
                name=name,
            )
        )
    return operators[name]


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


def check(cond: Any, path: tuple[str | int, ...] = (), operators: Operators = NO_OPERATORS) -> None:
    """Refuse a malformed condition with :class:`ConditionError` pointing at the bad part."""
    if not isinstance(cond, dict) or not cond:
        raise ConditionError(path, _("a condition is a mapping such as {field: budget, gte: 1000}"))
    if "all" in cond or "any" in cond:
        key = "all" if "all" in cond else "any"
        _only(cond, {key}, path)
        items = cond[key]
        if not isinstance(items, list) or not items:
            raise ConditionError(
                (*path, key), _("'{key}' needs a non-empty list of conditions", key=key)
            )
        for i, item in enumerate(items):
            check(item, (*path, key, i), operators)
    elif "not" in cond:
        _only(cond, {"not"}, path)
        check(cond["not"], (*path, "not"), operators)
    elif "field" in cond:
        ops = [k for k in cond if k != "field"]
        if not isinstance(cond["field"], str) or not cond["field"]:
            raise ConditionError((*path, "field"), _("'field' names a field"))
        if len(ops) != 1 or ops[0] not in COMPARATORS:
            raise ConditionError(
                path, _("a field test needs exactly one of {names}", names=", ".join(COMPARATORS))
            )
        _check_operand(ops[0], cond[ops[0]], (*path, ops[0]))
    elif "stage" in cond:
        _only(cond, {"stage"}, path)
        stages = cond["stage"]
        if not (isinstance(stages, str) or (isinstance(stages, list) and stages)):
            raise ConditionError((*path, "stage"), _("'stage' is a stage id or a list of them"))
    elif "days_since" in cond:
        if cond["days_since"] not in DAYS_OF:
            raise ConditionError(
                (*path, "days_since"), _("'days_since' is one of {names}", names=", ".join(DAYS_OF))
            )
        ops = [k for k in cond if k != "days_since"]
        if len(ops) != 1 or ops[0] not in NUMERIC:
            raise ConditionError(
                path, _("'days_since' needs exactly one of {names}", names=", ".join(NUMERIC))
            )
        _check_operand(ops[0], cond[ops[0]], (*path, ops[0]))
    elif "owner_role" in cond:
        _only(cond, {"owner_role"}, path)
        if cond["owner_role"] not in ("operator", "manager", "admin", "none"):
            raise ConditionError((*path, "owner_role"), _("operator, manager, admin or none"))
    elif "activities" in cond:
        _only(cond, {"activities"}, path)
        spec = cond["activities"]
        if not isinstance(spec, dict) or not set(spec) <= {"type", "min", "max"}:
            raise ConditionError((*path, "activities"), _("'activities' takes type, min and max"))
        for bound in ("min", "max"):
            if bound in spec and (not isinstance(spec[bound], int) or spec[bound] < 0):
                raise ConditionError((*path, "activities", bound), _("a whole number >= 0"))
    elif len(cond) == 1 and next(iter(cond)) in operators:
        ((name, arg),) = cond.items()
        operators[name].check(arg, path)
    else:
        known = "all, any, not, field, stage, days_since, owner_role, activities"
        extra = "".join(f", {name}" for name in sorted(operators))
        raise ConditionError(
            path,
            _(
                "unknown condition {cond}; use one of {known}{extra}",
                cond=sorted(cond),
                known=known,
                extra=extra,
            ),
        )


def _only(cond: dict[str, Any], allowed: set[str], path: tuple[str | int, ...]) -> None:
    extra = sorted(set(cond) - allowed)
    if extra:
        raise ConditionError((*path, extra[0]), _("unexpected key '{key}' here", key=extra[0]))


def _check_operand(op: str, value: Any, path: tuple[str | int, ...]) -> None:
    if op in NUMERIC and not _is_number(value):
        raise ConditionError(
            path, _("'{op}' compares with a number, not {value!r}", op=op, value=value)
        )
    if op == "in" and (not isinstance(value, list) or not value):
        raise ConditionError(path, _("'in' needs a non-empty list"))
    if op == "exists" and not isinstance(value, bool):
        raise ConditionError(path, _("'exists' is true or false"))
    if op in ("eq", "ne") and value is None:
        raise ConditionError(path, _("'{op}: null' is not allowed; use 'exists: false'", op=op))


# -- Python ------------------------------------------------------------------


def to_python(
    cond: dict[str, Any], now: datetime, operators: Operators = NO_OPERATORS
) -> Predicate:
    """Compile a (checked) condition to a predicate over :class:`Facts`."""
    if "all" in cond:
        parts = [to_python(c, now, operators) for c in cond["all"]]
        return lambda f: all(p(f) for p in parts)
    if "any" in cond:
        parts = [to_python(c, now, operators) for c in cond["any"]]
        return lambda f: any(p(f) for p in parts)
    if "not" in cond:
        inner = to_python(cond["not"], now, operators)
        return lambda f: not inner(f)
    custom = plugin_operator(cond, operators)
    if custom is not None:
        arg = cond[custom.name]
        return lambda f: custom.holds(f, arg, now)
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


def to_sql(
    cond: dict[str, Any], dialect: str, now: datetime, operators: Operators = NO_OPERATORS
) -> ColumnElement[bool]:
    """Compile a (checked) condition to a SQL boolean over the ``record`` table."""
    if "all" in cond:
        return and_(true(), *(to_sql(c, dialect, now, operators) for c in cond["all"]))
    if "any" in cond:
        return or_(false(), *(to_sql(c, dialect, now, operators) for c in cond["any"]))
    if "not" in cond:
        return not_(to_sql(cond["not"], dialect, now, operators))
    custom = plugin_operator(cond, operators)
    leaf = (
        custom.to_sql(cond[custom.name], dialect, now)
        if custom is not None
        else _leaf_sql(cond, dialect, now)
    )
    # Leaves are made two-valued so that NOT of a missing value is true, as in Python.
    return func.coalesce(leaf, false())


def python_only(cond: Any, operators: Operators) -> list[tuple[tuple[str | int, ...], str]]:
    """Where a (checked) condition uses an operator without an SQL form: (path, name) pairs."""
    if not isinstance(cond, dict):
        return []
    out: list[tuple[tuple[str | int, ...], str]] = []
    for key in ("all", "any"):
        for i, inner in enumerate(cond.get(key, [])):
            out += [((key, i, *path), name) for path, name in python_only(inner, operators)]
    if "not" in cond:
        out += [(("not", *path), name) for path, name in python_only(cond["not"], operators)]
    if len(cond) == 1:
        ((name, _arg),) = cond.items()
        if name in operators and operators[name].sql is None:
            out.append(((name,), name))
    return out


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
