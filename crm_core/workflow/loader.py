"""Reading a workflow file: YAML, then the JSON Schema, then the rules a schema cannot say.

Every problem is located (file, line, column, key); a file with problems is
never applied.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_core import conditions
from crm_core.fields import Registry
from crm_core.i18n import _
from crm_core.workflow.calendar import zone_named
from crm_core.workflow.yamlmarks import Located, Problem, load
from crm_core.workflow.yamlmarks import Path as KeyPath

if TYPE_CHECKING:
    import jsonschema

SCHEMA_FILE = Path(__file__).with_name("schema.json")


@cache
def _core_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


def workflow_schema(registry: Registry | None = None) -> dict[str, Any]:
    """The JSON Schema of a workflow file (``crm workflow schema`` prints it).

    With ``registry``, the plugins' condition operators and workflow actions
    are added to it, each with its argument's schema: a workflow may name them
    only while their plugin is installed.
    """
    if registry is None or not (registry.operators or registry.actions):
        return _core_schema()
    schema = copy.deepcopy(_core_schema())
    defs = schema["$defs"]
    for name, op in sorted(registry.operators.items()):
        defs["condition"]["oneOf"].append(
            {"required": [name], "additionalProperties": False, "properties": {name: op.schema},
             "description": f"{name}: a condition of plugin {op.plugin}"}
        )  # fmt: skip
    if not registry.actions:
        return schema
    plugin_actions = {
        name: {
            **action.schema,
            "description": f"{name}: a workflow action of plugin {action.plugin}",
        }
        for name, action in sorted(registry.actions.items())
    }
    defs["action"]["properties"].update(plugin_actions)
    defs["plugin_action"] = {
        "type": "object", "minProperties": 1, "maxProperties": 1,
        "additionalProperties": False, "properties": plugin_actions,
    }  # fmt: skip
    # A stage limit and the SLA name a built-in behaviour or one plugin action.
    limit = defs["stage"]["properties"]["max_days"]["properties"]
    limit["action"] = {"oneOf": [limit["action"], {"$ref": "#/$defs/plugin_action"}]}
    sla = defs["assignment"]["properties"]["sla"]["properties"]
    sla["then"] = {"oneOf": [sla["then"], {"$ref": "#/$defs/plugin_action"}]}
    return schema


def action_name(action: str | dict[str, Any]) -> str:
    """The name of a stage limit's ``action`` or the SLA's ``then``: a built-in or a plugin's."""
    return action if isinstance(action, str) else next(iter(action))


@dataclass
class Workflow:
    """A checked workflow definition."""

    file: str
    data: dict[str, Any]

    @property
    def name(self) -> str:
        """The workflow's id."""
        return str(self.data["workflow"])

    @property
    def stage_ids(self) -> list[str]:
        """Stage ids in pipeline order."""
        return [s["id"] for s in self.data["stages"]]

    def moves(self) -> dict[str, set[str]]:
        """Allowed moves, stage to stages: the transitions given, else one step on plus lost."""
        ids = self.stage_ids
        lost = {s["id"] for s in self.data["stages"] if s.get("outcome") == "lost"}
        terminal = {s["id"] for s in self.data["stages"] if s.get("outcome")}
        out: dict[str, set[str]] = {s: set() for s in ids}
        if "transitions" not in self.data:
            for here, there in itertools.pairwise(ids):
                if here not in terminal and there not in lost:
                    out[here].add(there)
            for here in ids:
                if here not in terminal:
                    out[here] |= lost
            return out
        for t in self.data["transitions"]:
            sources = ids if t["from"] == "*" else [t["from"]]
            for source in sources:
                out.setdefault(source, set()).update(x for x in targets(t) if x != source)
        return out

    def transitions(self, source: str, target: str) -> list[dict[str, Any]]:
        """The declared transitions that allow ``source`` → ``target``, in file order."""
        return [
            t
            for t in self.data.get("transitions", [])
            if t["from"] in (source, "*") and target in targets(t)
        ]


def targets(transition: dict[str, Any]) -> list[str]:
    """A transition's ``to``, which may be one stage or a list, as a list."""
    to = transition["to"]
    return [to] if isinstance(to, str) else list(to)


@dataclass
class LoadResult:
    """A workflow, or the problems that stopped it."""

    file: str
    workflow: Workflow | None
    problems: list[Problem] = field(default_factory=list)


def load_workflow(path: str | Path, registry: Registry | None = None) -> LoadResult:
    """Read and check ``path``; with ``registry``, also check kinds and fields exist."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return LoadResult(
            name, None, [Problem(name, 1, 1, "", _("cannot read: {error}", error=exc.strerror))]
        )
    return check_text(text, name, registry)


def check_text(text: str, name: str, registry: Registry | None = None) -> LoadResult:
    """Check workflow YAML given as text (``name`` is used in messages)."""
    located = load(text, name)
    if located.problems:
        return LoadResult(name, None, located.problems)
    if not isinstance(located.data, dict):
        return LoadResult(name, None, [located.problem((), _("a workflow file is a mapping"))])
    problems = _schema_problems(located, registry)
    if not problems:
        problems = _semantic_problems(located, registry)
    problems.sort(key=lambda p: (p.line, p.column))
    workflow = None if problems else Workflow(name, located.data)
    return LoadResult(name, workflow, problems)


def _schema_problems(located: Located, registry: Registry | None) -> list[Problem]:
    # Imported when a workflow is validated: most commands validate none.
    import jsonschema

    validator = jsonschema.Draft202012Validator(workflow_schema(registry))
    operators = registry.operators if registry else conditions.NO_OPERATORS
    out = []
    for error in validator.iter_errors(located.data):
        error = _member_error(_plugin_action_error(error))
        path: KeyPath = tuple(error.absolute_path)
        unknown = located.unknown_keys(error)
        if unknown is not None:
            out.extend(unknown)
            continue
        if error.validator == "oneOf" and _is_condition(path):
            try:
                conditions.check(error.instance, operators=operators)
            except conditions.ConditionError as bad:
                out.append(located.problem((*path, *bad.path), str(bad)))
                continue
        out.append(located.problem(path, error.message))
    return _dedupe(out)


def _plugin_action_error(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For a mapping where a stage limit's ``action`` or the SLA's ``then`` goes, the error
    inside the plugin-action branch: it points at the bad key or argument."""
    if error.validator != "oneOf" or not isinstance(error.instance, dict):
        return error
    if tuple(error.absolute_path)[-1:] not in (("action",), ("then",)):
        return error
    return _second_branch_error(error)


def _member_error(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For a mapping in a members list, the error inside the mapping branch (a bad cap,
    weight or key), not "is not valid under any of the given schemas"."""
    if error.validator != "oneOf" or not isinstance(error.instance, dict):
        return error
    if tuple(error.absolute_path)[-2:-1] != ("members",):
        return error
    return _second_branch_error(error)


def _second_branch_error(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The best error inside a ``oneOf``'s second branch (the mapping form), else ``error``."""
    import jsonschema

    inner = [e for e in error.context or [] if e.relative_schema_path[0] == 1]
    return jsonschema.exceptions.best_match(inner) or error


def _is_condition(path: KeyPath) -> bool:
    return "when" in path or "exempt" in path


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen = set()
    out = []
    for p in problems:
        if (p.line, p.column, p.message) not in seen:
            seen.add((p.line, p.column, p.message))
            out.append(p)
    return out


def _semantic_problems(located: Located, registry: Registry | None) -> list[Problem]:
    data = located.data
    out: list[Problem] = []
    stages = data["stages"]
    ids: list[str] = []
    for i, stage in enumerate(stages):
        if stage["id"] in ids:
            out.append(
                located.problem(("stages", i, "id"), _("stage '{id}' twice", id=stage["id"]))
            )
        ids.append(stage["id"])
        if stage.get("outcome") == "lost" and not stage.get("lost_reasons"):
            out.append(located.problem(("stages", i), _("a lost stage needs lost_reasons")))
    pools = [p["id"] for p in data.get("pools", [])]
    for i, pool_id in enumerate(pools):
        if pool_id in pools[:i]:
            out.append(
                located.problem(("pools", i, "id"), _("pool '{pool_id}' twice", pool_id=pool_id))
            )
    for i, t in enumerate(data.get("transitions", [])):
        if t["from"] != "*" and t["from"] not in ids:
            out.append(located.problem(("transitions", i, "from"), _unknown_stage(t["from"], ids)))
        for j, target in enumerate(targets(t)):
            where = (
                ("transitions", i, "to")
                if isinstance(t["to"], str)
                else ("transitions", i, "to", j)
            )
            if target not in ids:
                out.append(located.problem(where, _unknown_stage(target, ids)))
    out += _pool_references(located, set(pools))
    out += _member_lists(located)
    out += _names(located, registry)
    out += _condition_fields(located, registry)
    if not out:
        out += _unreachable(located)
        out += _stuck(located)
        out += _conflicting_rules(located)
    return out


def _names(located: Located, registry: Registry | None) -> list[Problem]:
    out = []
    data = located.data
    if "timezone" in data:
        try:
            zone_named(data["timezone"])
        except ValueError as exc:
            out.append(located.problem(("timezone",), str(exc)))
    if registry is None:
        return out
    assignment = data.get("assignment", {})
    named: list[tuple[KeyPath, Any]] = [(("assignment", "strategy"), assignment.get("strategy"))]
    for i, rule in enumerate(assignment.get("rules", [])):
        named.append((("assignment", "rules", i, "strategy"), rule.get("strategy")))
    for place, name in named:
        if name is not None and name not in registry.strategies:
            known = ", ".join(sorted(registry.strategies))
            out.append(
                located.problem(
                    place,
                    _("no assignment strategy '{name}' (known: {known})", name=name, known=known),
                )
            )
    return out


def _member_lists(located: Located) -> list[Problem]:
    """A user listed twice in one members list (which entry's weight and caps would count?)
    or declared twice in ``users``."""
    assignment = located.data.get("assignment", {})
    lists: list[tuple[KeyPath, list[Any]]] = [
        (("assignment", "members"), assignment.get("members", []))
    ]
    for i, rule in enumerate(assignment.get("rules", [])):
        lists.append((("assignment", "rules", i, "members"), rule.get("members", [])))
    lists.append((("users",), [u["name"] for u in located.data.get("users", [])]))
    out = []
    for place, entries in lists:
        seen: set[str] = set()
        for j, entry in enumerate(entries):
            user = entry if isinstance(entry, str) else entry["user"]
            if user in seen:
                out.append(
                    located.problem((*place, j), _("user '{user}' is listed twice", user=user))
                )
            seen.add(user)
    return out


def _unknown_stage(stage: str, ids: list[str]) -> str:
    return _("unknown stage '{stage}' (stages: {stages})", stage=stage, stages=", ".join(ids))


def _pool_references(located: Located, pools: set[str]) -> list[Problem]:
    out = []
    data = located.data
    for i, stage in enumerate(data["stages"]):
        pool = stage.get("max_days", {}).get("pool")
        if pool is not None and pool not in pools:
            out.append(
                located.problem(
                    ("stages", i, "max_days", "pool"), _("unknown pool '{pool}'", pool=pool)
                )
            )
        if stage.get("max_days", {}).get("action") == "return_to_pool" and not pools:
            out.append(located.problem(("stages", i, "max_days"), _("return_to_pool needs a pool")))
    for i, t in enumerate(data.get("transitions", [])):
        for j, action in enumerate(t.get("on_enter", [])):
            pool = action.get("move_to_pool")
            if pool is not None and pool not in pools:
                where = ("transitions", i, "on_enter", j, "move_to_pool")
                out.append(located.problem(where, _("unknown pool '{pool}'", pool=pool)))
    return out


def _walk_conditions(data: Any, path: KeyPath) -> list[tuple[KeyPath, dict[str, Any]]]:
    found: list[tuple[KeyPath, dict[str, Any]]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("when", "exempt") and isinstance(value, dict):
                found.append(((*path, key), value))
            else:
                found += _walk_conditions(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _walk_conditions(value, (*path, i))
    return found


def _field_tests(cond: Any, path: KeyPath) -> list[tuple[KeyPath, str]]:
    if not isinstance(cond, dict):
        return []
    if "field" in cond:
        return [((*path, "field"), cond["field"])]
    out = []
    for key in ("all", "any"):
        for i, inner in enumerate(cond.get(key, [])):
            out += _field_tests(inner, (*path, key, i))
    if "not" in cond:
        out += _field_tests(cond["not"], (*path, "not"))
    return out


def _condition_fields(located: Located, registry: Registry | None) -> list[Problem]:
    data = located.data
    out = []
    operators = registry.operators if registry else conditions.NO_OPERATORS
    for path, cond in _walk_conditions(data, ()):
        try:
            conditions.check(cond, operators=operators)
        except conditions.ConditionError as bad:
            out.append(located.problem((*path, *bad.path), str(bad)))
            continue
        if path[0] == "transitions":
            continue  # guards run on one record, in Python
        for where, name in conditions.python_only(cond, operators):
            message = _(
                "condition operator '{name}' of plugin '{plugin}' has no SQL form: assignment "
                "rules and pool sweeps run in SQL; use it in transitions' when",
                name=name,
                plugin=operators[name].plugin,
            )
            out.append(located.problem((*path, *where), message))
    if registry is None:
        return out
    if data["kind"] not in registry.kinds:
        known = ", ".join(sorted(registry.kinds)) or "none: install a plugin"
        return [
            *out,
            located.problem(
                ("kind",), _("no kind '{kind}' (known: {known})", kind=data["kind"], known=known)
            ),
        ]
    fields = registry.kinds[data["kind"]].fields
    known_fields = ", ".join(sorted(fields))
    named = [where_name for path, cond in _walk_conditions(data, ())
             for where_name in _field_tests(cond, path)]  # fmt: skip
    named += [(("stages", i, "require", j), name)
              for i, stage in enumerate(data["stages"])
              for j, name in enumerate(stage.get("require", []))]  # fmt: skip
    for where, name in named:
        if name not in fields:
            why = _("no field '{name}' in {kind} ({known_fields})", name=name, kind=data["kind"],
                    known_fields=known_fields)  # fmt: skip
            out.append(located.problem(where, why))
    return out


def _unreachable(located: Located) -> list[Problem]:
    workflow = Workflow(located.file, located.data)
    moves = workflow.moves()
    ids = workflow.stage_ids
    seen = {ids[0]}
    todo = [ids[0]]
    while todo:
        for nxt in moves.get(todo.pop(), set()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return [
        located.problem(
            ("stages", i, "id"),
            _("stage '{stage}' cannot be reached from '{first}'", stage=s, first=ids[0]),
        )
        for i, s in enumerate(ids)
        if s not in seen
    ]


def _stuck(located: Located) -> list[Problem]:
    """The stages a record can enter but never leave for an outcome (won or lost).

    Found backwards from the outcome stages over the allowed moves, so a loop
    (a → b → a) with no way out is reported at each of its stages.
    """
    workflow = Workflow(located.file, located.data)
    outcomes = {s["id"] for s in located.data["stages"] if s.get("outcome")}
    comes_from: dict[str, set[str]] = {}
    for here, theres in workflow.moves().items():
        for there in theres:
            comes_from.setdefault(there, set()).add(here)
    finishing = set(outcomes)
    todo = list(outcomes)
    while todo:
        for earlier in comes_from.get(todo.pop(), set()):
            if earlier not in finishing:
                finishing.add(earlier)
                todo.append(earlier)
    named = ", ".join(sorted(outcomes)) or _("no stage has outcome: won or lost")
    what = _("an outcome ({named})", named=named)
    return [
        located.problem(
            ("stages", i, "id"), _("stage '{stage}' can never reach {what}", stage=s, what=what)
        )
        for i, s in enumerate(workflow.stage_ids)
        if s not in finishing
    ]


def _conflicting_rules(located: Located) -> list[Problem]:
    out = []
    rules = located.data.get("assignment", {}).get("rules", [])
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        key = json.dumps(rule["when"], sort_keys=True)
        if key in seen:
            first = seen[key]
            message = _(
                "same condition as rules[{first}], which always wins: this rule never fires",
                first=first,
            )
            out.append(located.problem(("assignment", "rules", i, "when"), message))
        else:
            seen[key] = i
    return out
