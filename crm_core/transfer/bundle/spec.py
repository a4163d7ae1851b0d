"""Reading an import spec (``bundle.yaml``): YAML, the published JSON Schema, then the rules
a schema cannot say (entities, kinds, fields, files, headers, date formats, links).

Problems are located (file:line:column and the key path) by the same machinery
as workflow files (:mod:`crm_core.workflow.yamlmarks`); a spec with problems
imports nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from crm_core.errors import InvalidInput
from crm_core.i18n import _
from crm_core.transfer import encoding
from crm_core.transfer.bundle.entity import ImportEntity, Target
from crm_core.transfer.bundle.read import header
from crm_core.workflow.calendar import zone_named
from crm_core.workflow.yamlmarks import Located, Problem, load

SCHEMA_FILE = Path(__file__).with_name("spec.schema.json")
DATE_TYPES = ("datetime", "date")


@cache
def spec_schema() -> dict[str, Any]:
    """The JSON Schema of an import spec (shipped as ``spec.schema.json``)."""
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


@dataclass(frozen=True)
class Link:
    """How a reference field finds its row: the entity, its kind (records) and the key field."""

    entity: str
    kind: str | None
    by: str


@dataclass
class FileSpec:
    """One file of a spec, every setting resolved (the file's own, else the defaults)."""

    path: Path
    name: str
    entity: str
    kind: str | None
    key: str
    targets: dict[str, Target]
    columns: dict[str, str]
    values: dict[str, dict[str, Any]]
    date_format: str | None
    dates: dict[str, str]
    zone: tzinfo
    currency: str
    defaults: dict[str, Any]
    links: dict[str, Link]
    stages: dict[str, str]
    on_duplicate: str
    codec: str
    delimiter: str


@dataclass
class Spec:
    """A checked import spec: its files in import order."""

    path: Path
    files: list[FileSpec] = field(default_factory=list)


def load_spec(path: Path, registry: Any, entities: dict[str, ImportEntity]) -> Spec:
    """Read and check the spec at ``path``; InvalidInput lists every located problem."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            _("{name}: cannot read the import spec: {exc}", name=name, exc=exc)
        ) from None
    located = load(text, name)
    problems = list(located.problems)
    if not problems and not isinstance(located.data, dict):
        problems.append(located.problem((), "an import spec is a mapping"))
    if not problems:
        problems = _schema_problems(located)
    spec = Spec(path)
    if not problems:
        checker = _Checker(located, path.parent, registry, entities)
        spec.files = checker.files()
        problems = checker.problems
    if problems:
        problems.sort(key=lambda p: (p.line, p.column))
        raise InvalidInput("; ".join(str(p) for p in problems))
    return spec


def _schema_problems(located: Located) -> list[Problem]:
    import jsonschema  # only when a spec is read: `crm record show` should not pay for it

    validator = jsonschema.Draft202012Validator(spec_schema())
    out = []
    for error in validator.iter_errors(located.data):
        unknown = located.unknown_keys(error)
        out.extend(
            unknown
            if unknown is not None
            else [located.problem(tuple(error.absolute_path), error.message)]
        )
    return out


class _Checker:
    """The rules a schema cannot say, file by file; problems collect in ``problems``."""

    def __init__(
        self, located: Located, folder: Path, registry: Any, entities: dict[str, ImportEntity]
    ) -> None:
        self.located = located
        self.folder = folder
        self.registry = registry
        self.entities = entities
        self.defaults: dict[str, Any] = located.data.get("defaults", {})
        self.problems: list[Problem] = []
        self.record_kinds = [
            f.get("kind") for f in located.data["files"] if f.get("entity") == "record"
        ]

    def bad(self, path: tuple[str | int, ...], message: str, key: bool = False) -> None:
        self.problems.append(self.located.problem(path, message, key))

    def files(self) -> list[FileSpec]:
        out = []
        for i, data in enumerate(self.located.data["files"]):
            before = len(self.problems)
            made = self._file(i, data)
            if made is not None and len(self.problems) == before:
                out.append(made)
        return out

    def setting(self, data: dict[str, Any], name: str, default: Any = None) -> Any:
        return data.get(name, self.defaults.get(name, default))

    def _file(self, i: int, data: dict[str, Any]) -> FileSpec | None:
        at: tuple[str | int, ...] = ("files", i)
        entity = self.entities.get(data["entity"])
        if entity is None:
            known = ", ".join(sorted(self.entities))
            self.bad((*at, "entity"), f"unknown entity '{data['entity']}' (known: {known})")
            return None
        kind = self._kind(at, data, entity)
        if entity.kinds and kind is None:
            return None
        targets = entity.targets(self.registry, kind)
        zone = self._zone(at, data)
        codec = self._codec(at, data)
        path = self.folder / data["path"]
        if not path.is_file():
            self.bad((*at, "path"), f"no file {path}")
            return None
        delimiter = self.setting(data, "delimiter", ",")
        try:
            headers = header(path, codec, delimiter)
        except InvalidInput as exc:
            self.bad((*at, "path"), str(exc))
            return None
        columns = self._columns(at, data, targets, headers, kind)
        for section in ("values", "defaults"):
            for name in data.get(section, {}):
                if name not in targets:
                    self._unknown_target(at, section, name, targets)
        date_format = self.setting(data, "date_format")
        if date_format is not None:
            where = (*at, "date_format") if "date_format" in data else ("defaults", "date_format")
            self._date_format(where, date_format)
        for name, fmt in data.get("dates", {}).items():
            if name not in targets or targets[name].type not in DATE_TYPES:
                self.bad((*at, "dates", name), f"'{name}' is not a date field of {entity.name}",
                         True)  # fmt: skip
            else:
                self._date_format((*at, "dates", name), fmt)
        links = self._links(at, data, entity, targets, {*columns, *data.get("defaults", {})})
        stages = self._stages(at, data, entity, headers)
        key = data.get("key") or (
            "external_id" if "external_id" in columns else entity.natural_key(self.registry, kind)
        )
        if key == "external_id" and "external_id" not in columns and entity.keyed:
            self.bad(at, f"{entity.name} rows are found again by their external_id: map a "
                     "column to it (it makes a second run update, not duplicate)")  # fmt: skip
        elif key not in entity.key_fields(self.registry, kind):
            known = ", ".join(entity.key_fields(self.registry, kind))
            self.bad((*at, "key"), f"{entity.name} rows cannot be keyed by '{key}' (by: {known})")
        for name, target in targets.items():
            if target.required and name not in columns and name not in data.get("defaults", {}):
                self.bad(at, f"{entity.name} needs '{name}': map a column to it in columns "
                         f"(the file's columns: {', '.join(headers)})")  # fmt: skip
        return FileSpec(
            path, data["path"], entity.name, kind, key, targets, columns,
            {k: {str(s): v for s, v in m.items()} for k, m in data.get("values", {}).items()},
            date_format, data.get("dates", {}), zone,
            str(self.setting(data, "currency", "CNY")).upper(), data.get("defaults", {}), links,
            stages, data.get("on_duplicate", "update"), codec, delimiter,
        )  # fmt: skip

    def _kind(self, at: tuple[str | int, ...], data: dict[str, Any], entity: Any) -> str | None:
        kind = data.get("kind")
        if not entity.kinds:
            if kind is not None:
                self.bad((*at, "kind"), f"only record files take a kind, not {entity.name}", True)
            return None
        if kind is None:
            self.bad(at, f"a {entity.name} file needs a kind")
            return None
        if kind not in self.registry.kinds:
            known = ", ".join(sorted(self.registry.kinds)) or "none: install a plugin"
            self.bad((*at, "kind"), f"no kind '{kind}' (known: {known})")
            return None
        return str(kind)

    def _zone(self, at: tuple[str | int, ...], data: dict[str, Any]) -> tzinfo:
        name = self.setting(data, "timezone")
        if name is None:
            return UTC
        try:
            return zone_named(name)
        except ValueError as exc:
            where = (*at, "timezone") if "timezone" in data else ("defaults", "timezone")
            self.bad(where, str(exc))
            return UTC

    def _codec(self, at: tuple[str | int, ...], data: dict[str, Any]) -> str:
        try:
            return encoding.codec_of(self.setting(data, "encoding"))
        except InvalidInput as exc:
            where = (*at, "encoding") if "encoding" in data else ("defaults", "encoding")
            self.bad(where, str(exc).removeprefix("--encoding: "))
            return "utf-8-sig"

    def _columns(
        self,
        at: tuple[str | int, ...],
        data: dict[str, Any],
        targets: dict[str, Target],
        headers: list[str],
        kind: str | None,
    ) -> dict[str, str]:
        """Target field to source header: the explicit map, then headers named as a field."""
        columns: dict[str, str] = {}
        aliases = self.registry.kinds[kind].aliases if kind else {}
        for column in headers:
            target = column if column in targets else aliases.get(column)
            if target in targets and target not in columns:
                columns[target] = column
        for name, column in data.get("columns", {}).items():
            if name not in targets:
                self._unknown_target(at, "columns", name, targets)
            elif column not in headers:
                shown = ", ".join(headers)
                self.bad((*at, "columns", name), f"no column '{column}' in {data['path']} "
                         f"(columns: {shown})")  # fmt: skip
            else:
                columns[name] = column
        return columns

    def _unknown_target(
        self,
        at: tuple[str | int, ...],
        section: str,
        name: str,
        targets: dict[str, Target],
    ) -> None:
        known = ", ".join(targets)
        self.bad((*at, section, name), f"unknown field '{name}' (fields: {known})", True)

    def _date_format(self, where: tuple[str | int, ...], fmt: str) -> None:
        sample = datetime(2024, 11, 23, 14, 5, 6)
        try:
            ok = "%" in fmt and datetime.strptime(sample.strftime(fmt), fmt).year in (2024, 1900)
        except ValueError:
            ok = False
        if not ok:
            self.bad(where, f"bad date format '{fmt}' (a strptime format such as %d.%m.%Y)")

    def _links(
        self,
        at: tuple[str | int, ...],
        data: dict[str, Any],
        entity: ImportEntity,
        targets: dict[str, Target],
        mapped: set[str],
    ) -> dict[str, Link]:
        given = data.get("links", {})
        out = {}
        for name, target in targets.items():
            if target.ref is None or name not in mapped:
                continue
            link = given.get(name, {})
            ref = entity.ref_of(name, data.get("defaults", {})) or target.ref
            kind = link.get("kind")
            if ref == "record" and kind is None and len(set(self.record_kinds)) == 1:
                kind = self.record_kinds[0]
            if kind is not None and ref != "record":
                self.bad((*at, "links", name, "kind"), "only links to records take a kind")
            elif kind is not None and kind not in self.registry.kinds:
                self.bad((*at, "links", name, "kind"), f"no kind '{kind}'")
                continue
            elif ref == "record" and kind is None:
                known = ", ".join(sorted(self.registry.kinds))
                self.bad((*at, "links", name) if name in given else at,
                         f"name the kind of the records '{name}' points at in "
                         f"links.{name}.kind (kinds: {known})")  # fmt: skip
                continue
            by = link.get("by") or (
                self.setting(data, "owners", "name") if ref == "user" else target.by[0]
            )
            found = self.entities.get(ref)
            allowed = found.key_fields(self.registry, kind) if found else ()
            if by not in allowed:
                where = (*at, "links", name, "by") if "by" in link else (*at, "links", name)
                self.bad(where, f"{ref} cannot be found by '{by}' (by: {', '.join(allowed)})")
                continue
            out[name] = Link(ref, kind, by)
        for name in given:
            if name not in targets or targets[name].ref is None:
                refs = ", ".join(n for n, t in targets.items() if t.ref) or "none"
                self.bad((*at, "links", name), f"'{name}' is not a reference (references: {refs})",
                         True)  # fmt: skip
        return out

    def _stages(
        self, at: tuple[str | int, ...], data: dict[str, Any], entity: Any, headers: list[str]
    ) -> dict[str, str]:
        stages: dict[str, str] = data.get("stages", {})
        if stages and entity.name not in ("record", "deal"):
            self.bad((*at, "stages"), "only record and deal files take stages", True)
            return {}
        for column in stages:
            if column not in headers:
                self.bad((*at, "stages", column), f"no column '{column}' in {data['path']}", True)
        return stages
