"""Dashboard figures with thresholds (超量预警): a YAML file of figures, each one number
taken from a report, and the figures that crossed their threshold.

A dashboard file is checked like a workflow: YAML syntax and duplicate keys,
then a JSON Schema, then the names a schema cannot know (reports, kinds,
fields); every problem is located (file, line, column, key). The example is
``dashboards/dashboard.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm_core.errors import InvalidInput
from crm_core.fields import Registry
from crm_core.i18n import _
from crm_core.reports.spec import ReportResult
from crm_core.views import View
from crm_core.workflow.yamlmarks import Located, Problem, load
from crm_core.workflow.yamlmarks import Path as KeyPath

AGGREGATES = ("sum", "max", "min", "avg", "first", "count")
_NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
_LABEL = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "properties": {"en": {"type": "string"}, "zh": {"type": "string"}},
            "additionalProperties": False,
            "minProperties": 1,
        },
    ]
}
_SCALAR = {"type": ["string", "number", "boolean"]}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "crm-core dashboard",
    "type": "object",
    "required": ["figures"],
    "additionalProperties": False,
    "properties": {
        "dashboard": {"type": "string", "description": "A name for the dashboard."},
        "figures": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "report", "value", "alert"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
                    "label": _LABEL,
                    "report": _NAME,
                    "kind": _NAME,
                    "by": _NAME,
                    "since_days": {"type": "integer", "minimum": 1},
                    "params": {"type": "object", "additionalProperties": _SCALAR},
                    "value": {
                        "type": "object",
                        "required": ["aggregate"],
                        "additionalProperties": False,
                        "properties": {
                            "column": {"type": "string", "minLength": 1},
                            "aggregate": {"enum": list(AGGREGATES)},
                            "where": {"type": "object", "additionalProperties": _SCALAR},
                        },
                        "if": {"properties": {"aggregate": {"not": {"const": "count"}}}},
                        "then": {"required": ["column"]},
                    },
                    "alert": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": False,
                        "properties": {"above": {"type": "number"}, "below": {"type": "number"}},
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Figure:
    """One checked figure of a dashboard file; ``index`` is its place in ``figures``."""

    index: int
    id: str
    label: dict[str, str]
    report: str
    kind: str | None
    by: str | None
    since_days: int | None
    params: dict[str, str]
    column: str | None
    aggregate: str
    where: dict[str, Any]
    above: float | None
    below: float | None


@dataclass
class Dashboard:
    """A checked dashboard file: its figures, and where each value came from."""

    file: str
    figures: list[Figure]
    located: Located

    def problem(self, figure: Figure, keys: KeyPath, message: str) -> Problem:
        """A problem located at a key of ``figure`` (e.g. ``("value", "column")``)."""
        return self.located.problem(("figures", figure.index, *keys), message)


@dataclass
class FigureView(View):
    """A computed figure: its value, its thresholds, and whether it crossed one."""

    id: str
    label: dict[str, str]
    report: str
    kind: str | None
    value: int | float | None
    above: float | None
    below: float | None
    alert: bool
    rows: int


def check_text(text: str, file: str, registry: Registry) -> tuple[Dashboard | None, list[Problem]]:
    """Check dashboard YAML given as text; return the dashboard, or the problems."""
    located = load(text, file)
    if located.problems:
        return None, located.problems
    if not isinstance(located.data, dict):
        return None, [located.problem((), "a dashboard file is a mapping with `figures:`")]
    problems = _schema_problems(located)
    if not problems:
        problems = _name_problems(located, registry)
    if problems:
        return None, sorted(problems, key=lambda p: (p.line, p.column))
    figures = [_figure(i, raw) for i, raw in enumerate(located.data["figures"])]
    return Dashboard(file, figures, located), []


def load_dashboard(path: str | Path, registry: Registry) -> Dashboard:
    """Read and check ``path``; refuse it with every located problem (exit 2)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            _("{name}: cannot read: {strerror}", name=name, strerror=exc.strerror)
        ) from None
    dashboard, problems = check_text(text, name, registry)
    if dashboard is None:
        raise InvalidInput("\n".join(str(p) for p in problems))
    return dashboard


def _schema_problems(located: Located) -> list[Problem]:
    # Imported when a dashboard file is checked: most commands read none.
    import jsonschema

    out = []
    for error in jsonschema.Draft202012Validator(SCHEMA).iter_errors(located.data):
        path: KeyPath = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = sorted(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - set(allowed)):
                message = f"unknown key (expected one of: {', '.join(allowed)})"
                out.append(located.problem((*path, key), message, key=True))
            continue
        out.append(located.problem(path, error.message))
    return out


def _name_problems(located: Located, registry: Registry) -> list[Problem]:
    """Unknown reports, kinds and fields; a missing ``kind``; ids used twice."""
    out = []
    seen: set[str] = set()
    for i, raw in enumerate(located.data["figures"]):
        at = ("figures", i)
        if raw["id"] in seen:
            out.append(located.problem((*at, "id"), f"figure id '{raw['id']}' is used twice"))
        seen.add(raw["id"])
        spec = registry.reports.get(raw["report"])
        if spec is None:
            known = ", ".join(sorted(registry.reports))
            message = f"no report '{raw['report']}' (reports: {known})"
            out.append(located.problem((*at, "report"), message))
        elif spec.needs_kind and "kind" not in raw:
            out.append(located.problem(at, f"report {spec.name} needs `kind:`"))
        kind = registry.kinds.get(raw.get("kind", ""))
        if "kind" in raw and kind is None:
            known = ", ".join(sorted(registry.kinds))
            out.append(located.problem((*at, "kind"), f"no kind '{raw['kind']}' ({known})"))
        if "by" in raw and kind is not None and raw["by"] not in kind.fields:
            message = f"no field '{raw['by']}' in {kind.name}"
            out.append(located.problem((*at, "by"), message))
    return out


def _figure(index: int, raw: dict[str, Any]) -> Figure:
    label = raw.get("label", raw["id"])
    if isinstance(label, str):
        label = {"en": label, "zh": label}
    label = {"en": label.get("en", label.get("zh")), "zh": label.get("zh", label.get("en"))}
    value, alert = raw["value"], raw["alert"]
    return Figure(
        index=index,
        id=raw["id"],
        label=label,
        report=raw["report"],
        kind=raw.get("kind"),
        by=raw.get("by"),
        since_days=raw.get("since_days"),
        params={k: _text(v) for k, v in raw.get("params", {}).items()},
        column=value.get("column"),
        aggregate=value["aggregate"],
        where=dict(value.get("where", {})),
        above=alert.get("above"),
        below=alert.get("below"),
    )


def _text(value: Any) -> str:
    """A parameter as the report reads it (``--param NAME=VALUE``): YAML true is ``true``."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def compute(dashboard: Dashboard, run: Callable[[Figure], ReportResult]) -> list[FigureView]:
    """Every figure's value from its report (``run`` runs one), in file order.

    A report that refuses its options, or a column the report does not have,
    is refused with the figure's location.
    """
    out = []
    for figure in dashboard.figures:
        try:
            result = run(figure)
        except InvalidInput as exc:
            raise InvalidInput(str(dashboard.problem(figure, ("report",), str(exc)))) from None
        out.append(measure(dashboard, figure, result))
    return out


def measure(dashboard: Dashboard, figure: Figure, result: ReportResult) -> FigureView:
    """One figure's value: its rows (those matching ``where``), one column, aggregated."""
    for key in [*figure.where, *([figure.column] if figure.column else [])]:
        if key not in result.columns:
            keys = ("value", "where", key) if key in figure.where else ("value", "column")
            message = f"report {result.name} has no column '{key}' ({', '.join(result.columns)})"
            raise InvalidInput(str(dashboard.problem(figure, keys, message)))
    rows = [
        row
        for row in result.rows
        if all(row[result.columns.index(k)] == v for k, v in figure.where.items())
    ]
    value = _aggregate(dashboard, figure, result, rows)
    return FigureView(
        figure.id,
        figure.label,
        figure.report,
        figure.kind,
        value,
        figure.above,
        figure.below,
        crossed(value, figure.above, figure.below),
        len(rows),
    )


def _aggregate(
    dashboard: Dashboard, figure: Figure, result: ReportResult, rows: list[list[Any]]
) -> int | float | None:
    if figure.aggregate == "count":
        return len(rows)
    assert figure.column is not None  # the schema requires it for every other aggregate
    at = result.columns.index(figure.column)
    cells = [row[at] for row in rows if row[at] is not None]
    for cell in cells:
        if isinstance(cell, bool) or not isinstance(cell, (int, float)):
            message = f"column '{figure.column}' holds {cell!r}, not a number"
            raise InvalidInput(str(dashboard.problem(figure, ("value", "column"), message)))
    if figure.aggregate == "first":
        first = rows[0][at] if rows else None
        return first if isinstance(first, (int, float)) else None
    if figure.aggregate == "sum":
        return sum(cells)
    if not cells:
        return None
    if figure.aggregate == "avg":
        return round(sum(cells) / len(cells), 4)
    return max(cells) if figure.aggregate == "max" else min(cells)


def crossed(value: int | float | None, above: float | None, below: float | None) -> bool:
    """True when ``value`` is over ``above`` or under ``below`` (a missing value crosses none)."""
    if value is None:
        return False
    return (above is not None and value > above) or (below is not None and value < below)
