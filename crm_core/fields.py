"""Kinds and their field schemas, composed from plugins and compiled once."""

from __future__ import annotations

import functools
import json
import math
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema

from crm_core import money, plainschema
from crm_core.channels import Channel, Options
from crm_core.errors import (
    CrmError,
    FieldError,
    InvalidInput,
    NotFound,
    PluginError,
    RegistrationError,
    excerpt,
    quote,
)
from crm_core.i18n import Message, _
from crm_core.limits import FIELD_TEXT_MAX
from crm_core.plainvalues import INT64, PlainRules
from crm_core.plugins import PluginHost
from crm_core.revisions import plugin_migrations

if TYPE_CHECKING:
    from crm_core.conditions import Operator

CRM_KEYS = {"label", "required", "dedupe", "indexed", "searchable"}
SCHEMA_KEYS = {
    "type", "enum", "pattern", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "format", "items", "default",
    "description", "const", "multipleOf", "minItems", "maxItems", "uniqueItems",
}  # fmt: skip
FIELD_TYPES = {"string", "integer", "number", "boolean", "array"}
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
TRUE_WORDS = {"true", "yes", "y", "1", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}

Label = dict[str, str]
EMPTY_BRACKETS = re.compile(r"\(\s*\)|（\s*）|\[\s*\]|【\s*】")
DANGLING = " ·-–—|,，/:：;；"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a kind: its JSON Schema plus the CRM's flags."""

    name: str
    schema: dict[str, Any]
    label: Label
    plugin: str
    required: bool = False
    dedupe: str | None = None
    indexed: bool = False
    searchable: bool = False

    @property
    def type(self) -> str:
        """The JSON type of the value."""
        return str(self.schema["type"])

    def to_dict(self) -> dict[str, Any]:
        """Return the stable JSON form."""
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label,
            "required": self.required,
            "dedupe": self.dedupe,
            "indexed": self.indexed,
            "searchable": self.searchable,
            "plugin": self.plugin,
            "schema": self.schema,
        }


@dataclass
class KindSpec:
    """A kind of record and its fields, as composed from every plugin.

    ``title`` is the kind's title template (``"{name} ({company})"``), if its
    plugin gave one; ``aliases`` maps import column headers (``"姓名"``) to
    the field (or ``title``, ``stage``, ``owner``) they fill.
    """

    name: str
    label: Label
    plugin: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    title: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)

    @functools.cached_property
    def title_fields(self) -> frozenset[str]:
        """The fields the title template reads; empty without a template.

        Worked out once: every update asks it. The template is set when the
        kind is registered, before anything reads this.
        """
        return template_fields(self.title) if self.title else frozenset()

    @functools.cached_property
    def _title_parts(self) -> tuple[tuple[str, str | None], ...]:
        """The title template as (literal text, the field after it or None), parsed once."""
        if not self.title:
            return ()
        return tuple((text, name) for text, name, _, _ in string.Formatter().parse(self.title))

    def render_title(self, values: dict[str, Any]) -> str:
        """The title template filled with ``values``; a missing value is empty.

        Blanks are collapsed, and the empty brackets and end separators a
        missing value leaves (``"Li ()"``, ``"Li ·"``) dropped. Empty when the
        kind has no template or the template gives nothing.
        """
        if not self.title:
            return ""
        # The template's pieces joined, as format_map would fill them (an import titles
        # every row: this skips parsing the template and a dictionary of the values).
        text = "".join(
            [
                literal
                if name is None
                else literal
                + ("" if (v := values.get(name)) is None else v if type(v) is str else format(v))
                for literal, name in self._title_parts
            ]
        )
        if "(" in text or "（" in text or "[" in text or "【" in text:  # else nothing to drop
            text = EMPTY_BRACKETS.sub("", text)
        return " ".join(text.split()).strip(DANGLING)

    def json_schema(self) -> dict[str, Any]:
        """Return the JSON Schema that every write of this kind must pass."""
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {name: f.schema for name, f in self.fields.items()},
            "required": sorted(n for n, f in self.fields.items() if f.required),
            "additionalProperties": False,
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the stable JSON form."""
        return {
            "name": self.name,
            "label": self.label,
            "plugin": self.plugin,
            "fields": [f.to_dict() for f in self.fields.values()],
            "title": self.title,
            "aliases": self.aliases,
        }


def template_fields(template: str) -> frozenset[str]:
    """The field names a title template reads; refuse anything but plain ``{field}`` slots.

    Conversions, format specs and attribute or index access are refused: a
    missing value is an empty string, which no number format accepts, and
    ``{name.__class__}`` must not reach into Python objects.
    """
    names = set()
    for _text, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not NAME.match(name) or spec or conversion:
            raise ValueError(f"{{{name}}} is not a plain {{field}} slot")
        names.add(name)
    return frozenset(names)


@dataclass(frozen=True)
class _Compiled:
    """What the per-write methods need of one kind's fields, worked out once.

    Fields are only added while the registry is built; adding one drops its kind's entry.
    """

    spec: KindSpec
    types: dict[str, str]  # field -> JSON type, or "money" for money fields
    defaults: tuple[tuple[str, Any], ...]  # (field, default) in field order
    dedupe: tuple[tuple[str, str], ...]  # (field, normaliser name) in field order
    money: tuple[str, ...]  # the money fields, checked for exactness on every write
    plain: PlainRules  # what most values are judged by before the full validation


@dataclass(frozen=True)
class ActivityType:
    """A kind of touchpoint that can be logged on a record."""

    name: str
    label: Label
    plugin: str


# The actions of the workflow language itself (on_enter, max_days, the SLA's then);
# a plugin's action may not take one.
CORE_ACTIONS = frozenset(
    {"assign", "set", "task", "notify", "move_to_pool", "escalate", "return_to_pool", "reassign"}
)


def _check_arg_schema(schema: Any, who: str) -> None:
    if not isinstance(schema, dict):
        raise RegistrationError(f"{who}: schema must be a JSON Schema (a dict)")
    # Imported here: only plugins' conditions and actions have argument schemas.
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise RegistrationError(f"{who}: invalid schema: {exc.message}") from None


def _check_field_schema(schema: dict[str, Any], who: str) -> None:
    """Refuse an invalid field schema, or a default it rejects, in jsonschema's words."""
    # Imported here: opening a CRM checks plain schemas without it (crm_core.plainschema).
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise RegistrationError(f"{who}: invalid schema: {exc.message}") from exc
    if "default" in schema:
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(schema["default"]))
        if errors:
            raise RegistrationError(f"{who}: default: {errors[0].message}")


def label_of(value: Any, default: str, who: str) -> Label:
    """A registered label as {"en": ..., "zh": ...}; a bad one is refused naming ``who``."""
    if value is None:
        return {"en": default, "zh": default}
    if isinstance(value, str):
        return {"en": value, "zh": value}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise RegistrationError(f"{who}: label must be a string or {{'en': ..., 'zh': ...}}")
    return {"en": value.get("en", default), "zh": value.get("zh", value.get("en", default))}


@dataclass(frozen=True)
class ReportSpec:
    """A registered report: its name, labels, the plugin that gave it and how to run it."""

    name: str
    label: dict[str, str]
    plugin: str
    run: Callable[..., Any]
    needs_kind: bool = False
    description: str = ""
    kind: str | None = None


@dataclass(frozen=True)
class ActionSpec:
    """A workflow action a plugin registered: ``{name: argument}`` in a transition's
    ``on_enter``, as a stage's ``max_days`` action or as the SLA's ``then``.

    ``run(ctx, arg)`` gets a :class:`crm_core.workflow.actions.ActionContext`
    and the argument, which ``schema`` (a JSON Schema) has validated.
    """

    name: str
    plugin: str
    run: Callable[..., None]
    schema: dict[str, Any]


class Registry:
    """Everything plugins registered: kinds, fields, activity types, normalisers, strategies,
    reports, delivery channels, condition operators, workflow actions and migrations.

    ``channel_config`` is the ``[channels]`` part of the settings: each
    channel's table, handed to ``crm_register_channels``.
    """

    def __init__(
        self, host: PluginHost, channel_config: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.kinds: dict[str, KindSpec] = {}
        self.activity_types: dict[str, ActivityType] = {}
        self.normalizers: dict[str, Callable[[str], str]] = {}
        self.strategies: dict[str, Callable[..., Any]] = {}
        # who registered each normaliser and strategy: a failure names that plugin
        self.normalizer_plugins: dict[str, str] = {}
        self.strategy_plugins: dict[str, str] = {}
        self.reports: dict[str, ReportSpec] = {}
        self.channels: dict[str, Channel] = {}
        self.operators: dict[str, Operator] = {}
        self.actions: dict[str, ActionSpec] = {}
        self._validators: dict[str, Callable[[Any], Any]] = {}
        self._compiled: dict[str, _Compiled] = {}
        host.call_each("crm_register_normalizers", lambda p: {"register": self._normalizer(p)})
        host.call_each("crm_register_activity_types", lambda p: {"register": self._activity(p)})
        host.call_each("crm_register_kinds", lambda p: {"register": self._kind(p)})
        host.call_each("crm_register_fields", lambda p: {"register": self._extra_field(p)})
        host.call_each(
            "crm_register_assignment_strategies", lambda p: {"register": self._strategy(p)}
        )
        host.call_each("crm_register_reports", lambda p: {"register": self._report(p)})
        config = {name: Options(name, table) for name, table in (channel_config or {}).items()}
        host.call_each(
            "crm_register_channels", lambda p: {"register": self._channel(p), "config": config}
        )
        host.call_each("crm_register_conditions", lambda p: {"register": self._operator(p)})
        host.call_each("crm_register_actions", lambda p: {"register": self._action(p)})
        # plugin name -> the folder of its alembic revisions (its own version branch)
        self.migrations: dict[str, Path] = plugin_migrations(host)

    # -- registration callbacks handed to plugins ---------------------------

    def _normalizer(self, plugin: str) -> Callable[..., None]:
        def register(name: str, function: Callable[[str], str]) -> None:
            if name in self.normalizers:
                raise RegistrationError(f"plugin '{plugin}': normaliser '{name}' already exists")
            self.normalizers[name] = function
            self.normalizer_plugins[name] = plugin

        return register

    def _strategy(self, plugin: str) -> Callable[..., None]:
        def register(name: str, factory: Callable[..., Any]) -> None:
            if not NAME.match(name):
                raise RegistrationError(f"plugin '{plugin}': bad strategy name {name!r}")
            if name in self.strategies:
                raise RegistrationError(f"plugin '{plugin}': strategy '{name}' already exists")
            self.strategies[name] = factory
            self.strategy_plugins[name] = plugin

        return register

    def _channel(self, plugin: str) -> Callable[..., None]:
        def register(name: str, deliver: Callable[..., None]) -> None:
            if not NAME.match(name):
                raise RegistrationError(f"plugin '{plugin}': bad channel name {name!r}")
            if name in self.channels:
                raise RegistrationError(f"plugin '{plugin}': channel '{name}' already exists")
            if not callable(deliver):
                raise RegistrationError(f"plugin '{plugin}': channel '{name}' needs a deliver()")
            self.channels[name] = Channel(name, plugin, deliver)

        return register

    def _operator(self, plugin: str) -> Callable[..., None]:
        # conditions imports fieldsql, which imports this module: import it when first used
        from crm_core.conditions import CORE_KEYS, Operator

        def register(
            name: str,
            *,
            python: Callable[..., bool],
            sql: Callable[..., Any] | None = None,
            schema: dict[str, Any],
        ) -> None:
            who = f"plugin '{plugin}': condition operator"
            if not NAME.match(name) or name in CORE_KEYS:
                raise RegistrationError(f"{who} {name!r}: bad or reserved name")
            if name in self.operators:
                raise RegistrationError(f"{who} '{name}' already exists")
            if not callable(python) or (sql is not None and not callable(sql)):
                raise RegistrationError(f"{who} '{name}': python and sql must be functions")
            _check_arg_schema(schema, f"{who} '{name}'")
            self.operators[name] = Operator(name, plugin, python, sql, schema)

        return register

    def _action(self, plugin: str) -> Callable[..., None]:
        def register(name: str, run: Callable[..., None], *, schema: dict[str, Any]) -> None:
            who = f"plugin '{plugin}': workflow action"
            if not NAME.match(name) or name in CORE_ACTIONS:
                raise RegistrationError(f"{who} {name!r}: bad or reserved name")
            if name in self.actions:
                raise RegistrationError(f"{who} '{name}' already exists")
            if not callable(run):
                raise RegistrationError(f"{who} '{name}' needs a run(ctx, arg) function")
            _check_arg_schema(schema, f"{who} '{name}'")
            self.actions[name] = ActionSpec(name, plugin, run, schema)

        return register

    def _report(self, plugin: str) -> Callable[..., None]:
        def register(
            name: str,
            run: Callable[..., Any],
            *,
            label: Any = None,
            needs_kind: bool = False,
            description: str = "",
            kind: str | None = None,
        ) -> None:
            if not NAME.match(name):
                raise RegistrationError(f"plugin '{plugin}': bad report name {name!r}")
            if name in self.reports:
                raise RegistrationError(f"plugin '{plugin}': report '{name}' already exists")
            who = f"plugin '{plugin}' report '{name}'"
            spec = ReportSpec(
                name, label_of(label, name, who), plugin, run, needs_kind, description or "", kind
            )
            self.reports[name] = spec

        return register

    def _activity(self, plugin: str) -> Callable[..., None]:
        def register(name: str, label: Any = None) -> None:
            if not NAME.match(name):
                raise RegistrationError(f"plugin '{plugin}': bad activity type name {name!r}")
            if name in self.activity_types:
                raise RegistrationError(f"plugin '{plugin}': activity type '{name}' already exists")
            who = f"plugin '{plugin}' activity '{name}'"
            self.activity_types[name] = ActivityType(name, label_of(label, name, who), plugin)

        return register

    def _kind(self, plugin: str) -> Callable[..., None]:
        def register(
            name: str,
            *,
            label: Any = None,
            fields: dict[str, Any] | None = None,
            title: str | None = None,
            aliases: dict[str, str] | None = None,
        ) -> None:
            if not NAME.match(name):
                raise RegistrationError(f"plugin '{plugin}': bad kind name {name!r}")
            if name in self.kinds:
                other = self.kinds[name].plugin
                raise RegistrationError(
                    f"plugin '{plugin}': kind '{name}' is already registered by '{other}'"
                )
            who = f"plugin '{plugin}' kind '{name}'"
            kind = KindSpec(name, label_of(label, name, who), plugin)
            for field_name, spec in (fields or {}).items():
                self._add_field(plugin, kind, field_name, spec)
            kind.title = self._title(who, kind, title)
            kind.aliases = self._aliases(who, kind, aliases)
            self.kinds[name] = kind

        return register

    @staticmethod
    def _title(who: str, kind: KindSpec, title: Any) -> str | None:
        if title is None:
            return None
        if not isinstance(title, str) or not title.strip():
            raise RegistrationError(f"{who}: title must be a template such as '{{name}}'")
        try:
            names = template_fields(title)
        except ValueError as exc:
            raise RegistrationError(f"{who}: title {title!r}: {exc}") from None
        unknown = sorted(names - set(kind.fields))
        if unknown:
            raise RegistrationError(f"{who}: title {title!r} names unknown field(s) {unknown}")
        return title

    @staticmethod
    def _aliases(who: str, kind: KindSpec, aliases: Any) -> dict[str, str]:
        if aliases is None:
            return {}
        if not isinstance(aliases, dict):
            raise RegistrationError(f"{who}: aliases must map a column header to a field")
        targets = {*kind.fields, "title", "stage", "owner"}
        bad = {h: t for h, t in aliases.items() if not isinstance(h, str) or t not in targets}
        if bad:
            raise RegistrationError(
                f"{who}: aliases {bad} name no field (fields: {', '.join(kind.fields)}; "
                "or title, stage, owner)"
            )
        return dict(aliases)

    def _extra_field(self, plugin: str) -> Callable[..., None]:
        def register(kind: str, name: str, spec: dict[str, Any]) -> None:
            if kind not in self.kinds:
                raise RegistrationError(f"plugin '{plugin}': no kind '{kind}' to add '{name}' to")
            self._add_field(plugin, self.kinds[kind], name, spec)

        return register

    def _add_field(self, plugin: str, kind: KindSpec, name: str, spec: Any) -> None:
        who = f"plugin '{plugin}', kind '{kind.name}', field '{name}'"
        if not isinstance(name, str) or not NAME.match(name):
            raise RegistrationError(f"{who}: a field name is lower case letters, digits and _")
        if name in kind.fields:
            raise RegistrationError(f"{who}: the field already exists")
        if not isinstance(spec, dict):
            raise RegistrationError(f"{who}: the spec must be a dict")
        unknown = set(spec) - CRM_KEYS - SCHEMA_KEYS
        if unknown:
            raise RegistrationError(f"{who}: unknown key(s) {', '.join(sorted(unknown))}")
        schema = {k: v for k, v in spec.items() if k in SCHEMA_KEYS}
        if schema.get("type") not in FIELD_TYPES:
            raise RegistrationError(f"{who}: type must be one of {', '.join(sorted(FIELD_TYPES))}")
        if not plainschema.plainly_valid(schema):
            _check_field_schema(schema, who)
        schema = _capped(schema)
        dedupe = spec.get("dedupe")
        if dedupe is True:
            dedupe = "exact"
        if dedupe and dedupe not in self.normalizers:
            known = ", ".join(sorted(self.normalizers))
            raise RegistrationError(f"{who}: no dedupe normaliser '{dedupe}' (known: {known})")
        kind.fields[name] = FieldSpec(
            name=name,
            schema=schema,
            label=label_of(spec.get("label"), name, who),
            plugin=plugin,
            required=bool(spec.get("required", False)),
            dedupe=dedupe or None,
            indexed=bool(spec.get("indexed", False)),
            searchable=bool(spec.get("searchable", False)),
        )
        self._validators.pop(kind.name, None)
        self._compiled.pop(kind.name, None)

    # -- lookups ------------------------------------------------------------

    def kind(self, name: str) -> KindSpec:
        """Return the kind called ``name``; unknown kinds are refused with the known ones."""
        try:
            return self.kinds[name]
        except KeyError:
            known = ", ".join(sorted(self.kinds)) or "none: install a plugin"
            raise NotFound(
                _("no kind '{name}' (known kinds: {known})", name=excerpt(name), known=known)
            ) from None

    def activity_type(self, name: str) -> ActivityType:
        """Return the activity type ``name`` or refuse it, listing the known ones."""
        try:
            return self.activity_types[name]
        except KeyError:
            known = ", ".join(sorted(self.activity_types))
            raise InvalidInput(
                _("no activity type '{name}' (known: {known})", name=excerpt(name), known=known)
            ) from None

    def kinds_by_plugin(self) -> dict[str, list[str]]:
        """Map each plugin name to the kinds it registered."""
        out: dict[str, list[str]] = {}
        for kind in self.kinds.values():
            out.setdefault(kind.plugin, []).append(kind.name)
        return out

    # -- values -------------------------------------------------------------

    def _compile(self, kind: str) -> _Compiled:
        """One kind's fields as :meth:`coerce`, :meth:`with_defaults`, :meth:`dedupe_keys` use them.

        An import calls those for every row, so they are not worked out each time.
        """
        compiled = self._compiled.get(kind)
        if compiled is None:
            spec = self.kind(kind)
            fields = spec.fields.values()
            compiled = _Compiled(
                spec,
                {f.name: money.FORMAT if money.is_money(f.schema) else f.type for f in fields},
                tuple((f.name, f.schema["default"]) for f in fields if "default" in f.schema),
                tuple((f.name, f.dedupe) for f in fields if f.dedupe),
                tuple(f.name for f in fields if money.is_money(f.schema)),
                PlainRules.of(
                    {f.name: f.schema for f in fields}, (f.name for f in fields if f.required)
                ),
            )
            self._compiled[kind] = compiled
        return compiled

    def defaults(self, kind: str) -> tuple[tuple[str, Any], ...]:
        """(field, default) of each field of ``kind`` that has a default, in field order."""
        return self._compile(kind).defaults

    def with_defaults(self, kind: str, values: dict[str, Any]) -> dict[str, Any]:
        """Return ``values`` with each missing field that has a default filled in."""
        out = dict(values)
        for name, default in self._compile(kind).defaults:
            if name not in out:
                out[name] = default
        return out

    def validate(self, kind: str, values: dict[str, Any]) -> None:
        """Refuse ``values`` unless they pass the kind's schema; name every bad field."""
        compiled = self._compile(kind)
        if not compiled.plain.passes(values):
            self._validate_fully(compiled, values)

    def checker(self, kind: str) -> Callable[[dict[str, Any]], dict[str, str]]:
        """:meth:`validate` then :meth:`dedupe_keys` of ``kind``, for many values.

        The kind's rules and normalisers are looked up once: an import checks
        every row with one. Normalisers registered after it was made are not used.
        """
        compiled = self._compile(kind)
        passes = compiled.plain.passes
        dedupe = self._dedupe(compiled)

        def check(values: dict[str, Any]) -> dict[str, str]:
            if not passes(values):
                self._validate_fully(compiled, values)
            return self._keys(kind, dedupe, values)

        return check

    def _validate_fully(self, compiled: _Compiled, values: dict[str, Any]) -> None:
        spec = compiled.spec
        kind = spec.name
        validator = self._validators.get(kind)
        if validator is None:
            validator = fastjsonschema.compile(spec.json_schema(), use_default=False)
            self._validators[kind] = validator
        # JSON has no NaN or infinity, and the databases keep 64-bit integers.
        # A clean string, most values, is answered here without a call.
        out_of_range: list[tuple[str, str]] = [
            (name, _("{value} {why}", value=quote(v), why=why))
            for name, v in values.items()
            if (type(v) is not str or "\x00" in v) and (why := _unstorable(v))
        ]
        if out_of_range:
            raise FieldError(kind, out_of_range)
        # An import validates every row: only the kind's money fields present are looked at.
        not_money: list[tuple[str, str]] = [
            (name, _("{value} {why}", value=quote(v), why=why))
            for name in compiled.money
            if name in values and (why := money.problem(v := values[name]))
        ]
        if not_money:
            raise FieldError(kind, not_money)
        try:
            validator(values)
        except fastjsonschema.JsonSchemaException:
            raise FieldError(kind, self._explain(spec, values)) from None

    def _explain(self, spec: KindSpec, values: dict[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        known = ", ".join(sorted(spec.fields))
        for name in values:
            if name not in spec.fields:
                problems.append((name, _("unknown field (known fields: {known})", known=known)))
        for name in spec.json_schema()["required"]:
            if name not in values:
                problems.append((name, _("is required")))
        for name, value in values.items():
            if name in spec.fields:
                problems.extend((name, why) for why in _field_errors(spec.fields[name], value))
        return problems or [("?", _("invalid values"))]

    def coerce(self, kind: str, raw: dict[str, str]) -> dict[str, Any]:
        """Turn text from a command line into typed values; an empty text unsets the field.

        Returns field name to value, with ``None`` for "unset".
        """
        compiled = self._compile(kind)
        out: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for name, text in raw.items():
            type_ = compiled.types.get(name)
            if type_ is None:
                known = ", ".join(sorted(compiled.spec.fields))
                problems.append((name, _("unknown field (known fields: {known})", known=known)))
                continue
            if text == "":
                out[name] = None
                continue
            try:
                out[name] = _parse(type_, text)
            except ValueError as exc:
                problems.append((name, reason_of(exc)))
        if problems:
            raise FieldError(kind, problems)
        return out

    def normalize(self, name: str, text: str) -> str:
        """The dedupe key normaliser ``name`` gives ``text``.

        ValueError means the text is not valid (a bad phone number); any other
        exception is the plugin's fault and becomes a :class:`PluginError`.
        """
        try:
            return self.normalizers[name](text)
        except (ValueError, CrmError):
            raise
        except Exception as exc:
            raise self._failed(name, exc) from exc

    def dedupe_keys(self, kind: str, values: dict[str, Any]) -> dict[str, str]:
        """Return field name to normalised key for every dedupe field that has a value."""
        return self._keys(kind, self._dedupe(self._compile(kind)), values)

    def _dedupe(self, compiled: _Compiled) -> tuple[tuple[str, str, Callable[[str], str]], ...]:
        """(field, normaliser name, normaliser) of each dedupe field, in field order."""
        return tuple((name, n, self.normalizers[n]) for name, n in compiled.dedupe)

    def _keys(
        self,
        kind: str,
        dedupe: tuple[tuple[str, str, Callable[[str], str]], ...],
        values: dict[str, Any],
    ) -> dict[str, str]:
        keys = {}
        problems: list[tuple[str, str]] = []
        for name, normalizer, normalize in dedupe:
            value = values.get(name)
            if value is None or value == "":
                continue
            try:
                keys[name] = normalize(value if type(value) is str else str(value))
            except ValueError as exc:
                problems.append((name, reason_of(exc)))
            except CrmError:
                raise
            except Exception as exc:
                raise self._failed(normalizer, exc) from exc
        if problems:
            raise FieldError(kind, problems)
        return keys

    def _failed(self, normalizer: str, exc: Exception) -> PluginError:
        """The error for normaliser ``normalizer`` failing with ``exc``: the plugin's fault."""
        plugin = self.normalizer_plugins.get(normalizer, "core")
        return PluginError(plugin, f"normalizer {normalizer}", exc)


def _capped(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with ``maxLength`` FIELD_TEXT_MAX on strings (or list items) that set none."""
    if schema["type"] == "string" and "maxLength" not in schema and "enum" not in schema:
        return {**schema, "maxLength": FIELD_TEXT_MAX}
    items = schema.get("items")
    if schema["type"] == "array" and isinstance(items, dict) and items.get("type") == "string":
        return {**schema, "items": _capped(items)}
    return schema


def _field_errors(spec: FieldSpec, value: Any) -> list[str]:
    # Imported for the words of an error: the compiled validator found one.
    import jsonschema

    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    validator = jsonschema.Draft202012Validator(spec.schema, format_checker=checker)
    # jsonschema's messages start with the whole value; a message quotes at most its start.
    errors: list[str] = [
        Message(e.message.replace(repr(e.instance), quote(e.instance), 1))
        for e in validator.iter_errors(value)
    ]
    if errors:
        return errors
    # Some formats (uri, time) need optional jsonschema extras; fastjsonschema checks them.
    try:
        fastjsonschema.compile(spec.schema, use_default=False)(value)
    except fastjsonschema.JsonSchemaException as exc:
        return [Message(str(exc).replace("data ", f"{quote(value)} ", 1))]
    return []


def reason_of(exc: ValueError) -> str:
    """Why a value was refused: the message the refusing code wrote, else its plain text."""
    first = exc.args[0] if exc.args else ""
    return first if isinstance(first, Message) else Message(str(exc))


def _unstorable(value: Any) -> str | None:
    if isinstance(value, str):  # most values: answered before the other types are tried
        return _("contains a NUL character") if "\x00" in value else None
    if isinstance(value, float) and not math.isfinite(value):
        return _("is not a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value < INT64:
        return _("is beyond the 64-bit integer range")
    if isinstance(value, list):
        return next((why for v in value if (why := _unstorable(v))), None)
    return None


def _parse(type_: str, text: str) -> Any:
    if type_ == "string":
        return text
    if type_ == money.FORMAT:
        return money.parse(text)
    if type_ in ("integer", "number"):
        integer = type_ == "integer"
        try:
            number = int(text) if integer else float(text)
        except ValueError:
            what = _("a whole number") if integer else _("a number")
            raise ValueError(_("{value} is not {what}", value=quote(text), what=what)) from None
        why = _unstorable(number)
        if why:
            raise ValueError(_("{value} {why}", value=quote(text), why=why))
        return number
    if type_ == "boolean":
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise ValueError(_("{value} is not yes/no", value=quote(text)))
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(_("not a JSON list: {error}", error=exc.msg)) from None
    return [part.strip() for part in text.split(",") if part.strip()]
