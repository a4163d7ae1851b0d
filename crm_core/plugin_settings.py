"""Plugins' own settings: declared as a JSON Schema, given in crm.toml or the environment.

A plugin declares the schema of its ``[plugins.NAME]`` table through
``crm_register_settings``; an admin fills the table in ``crm.toml`` or sets
``CRM_PLUGIN_NAME_KEY`` variables, which win. When the CRM opens, each
plugin's values are completed with the schema's defaults and checked; the
first problem stops the CRM with the table and key named (exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crm_core.config import PLUGIN_ENV, PluginConfig
from crm_core.errors import InvalidInput
from crm_core.fields import RegistrationError
from crm_core.i18n import _
from crm_core.plugins import PluginHost

# Keys whose values ``crm plugins show`` masks: credentials by their usual names.
SECRET = re.compile(r"password|passwd|secret|token|(^|_)(api_?)?key$", re.IGNORECASE)
MASK = "********"
TYPES = {"string", "integer", "number", "boolean", "array"}
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class PluginSettings:
    """One plugin's settings: the schema it declared and the checked values, defaults in."""

    plugin: str
    schema: dict[str, Any]
    values: dict[str, Any]

    def secret(self, key: str) -> bool:
        """True when ``key`` holds a credential: named like one, or ``writeOnly`` in the schema."""
        spec = self.schema.get("properties", {}).get(key, {})
        return bool(SECRET.search(key)) or bool(spec.get("writeOnly"))

    def masked(self) -> dict[str, Any]:
        """The values with every secret one replaced by ``********``, for display."""
        return {k: MASK if self.secret(k) and v is not None else v for k, v in self.values.items()}

    def rows(self) -> list[dict[str, Any]]:
        """One row per key of the schema: key, type, value, default, description; secrets masked."""
        values = self.masked()
        return [
            {
                "key": key,
                "type": spec.get("type"),
                "value": values.get(key),
                "default": MASK if "default" in spec and self.secret(key) else spec.get("default"),
                "description": spec.get("description"),
            }
            for key, spec in self.schema.get("properties", {}).items()
        ]

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form, secrets masked."""
        return {"plugin": self.plugin, "schema": self.schema, "values": self.masked()}


def collect(
    host: PluginHost, config: PluginConfig, installed: set[str]
) -> dict[str, PluginSettings]:
    """Ask every plugin for its schema, then read and check its values from ``config``.

    ``installed`` is the names of the registered plugins: a table for any
    other (and not disabled) plugin is refused, as a typo would be.
    """
    schemas: dict[str, dict[str, Any]] = {}

    def register_for(plugin: str) -> Callable[..., None]:
        def register(schema: dict[str, Any]) -> None:
            if plugin in schemas:
                raise RegistrationError(f"plugin '{plugin}' registers its settings twice")
            schemas[plugin] = _checked_schema(plugin, schema)

        return register

    host.call_each("crm_register_settings", lambda plugin: {"register": register_for(plugin)})
    for name in config.tables:
        if name in host.disabled:
            continue
        if name not in installed:
            raise InvalidInput(
                _("crm.toml [plugins.{name}]: no plugin named {name} is installed", name=name)
            )
        if name not in schemas:
            raise InvalidInput(
                _("crm.toml [plugins.{name}]: plugin {name} has no settings", name=name)
            )
    given = {name: _given(name, schema, config) for name, schema in schemas.items()}
    return {name: _check(name, schemas[name], values) for name, values in given.items()}


def _checked_schema(plugin: str, schema: Any) -> dict[str, Any]:
    where = f"plugin '{plugin}': settings schema"
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise RegistrationError(f"{where} must be an object schema ({{'type': 'object', …}})")
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not all(
        isinstance(p, dict) for p in properties.values()
    ):
        raise RegistrationError(f"{where} needs 'properties': a schema for each key")
    for key, spec in properties.items():
        if spec.get("type") not in TYPES:
            raise RegistrationError(
                f"{where}: {key} needs a type, one of {', '.join(sorted(TYPES))}"
            )
    # Imported when a plugin registers settings: most installs have none.
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise RegistrationError(f"{where}: {exc.message}") from None
    return schema


@dataclass(frozen=True)
class _Given:
    """A plugin's values and where each came from, for the error messages."""

    values: dict[str, Any]
    sources: dict[str, str]


def _given(plugin: str, schema: dict[str, Any], config: PluginConfig) -> _Given:
    properties = schema["properties"]
    values = {k: spec["default"] for k, spec in properties.items() if "default" in spec}
    sources = {k: f"crm.toml [plugins.{plugin}] {k}" for k in properties}
    for key, value in config.tables.get(plugin, {}).items():
        if key not in properties:
            known = ", ".join(sorted(properties))
            raise InvalidInput(
                _(
                    "crm.toml [plugins.{plugin}] {key}: unknown key (known: {known})",
                    plugin=plugin,
                    key=key,
                    known=known,
                )
            )
        values[key] = value
    prefix = PLUGIN_ENV + plugin.upper().replace("-", "_") + "_"
    for variable, text in config.environ.items():
        if not variable.startswith(prefix):
            continue
        key = variable[len(prefix) :].lower()
        if key not in properties:
            known = ", ".join(sorted(properties))
            raise InvalidInput(
                _(
                    "{variable}: [plugins.{plugin}] has no key {key} (known: {known})",
                    variable=variable,
                    plugin=plugin,
                    key=key,
                    known=known,
                )
            )
        sources[key] = f"{variable} ([plugins.{plugin}] {key})"
        values[key] = _from_text(sources[key], properties[key].get("type"), text)
    return _Given(values, sources)


def _from_text(where: str, kind: str | None, text: str) -> Any:
    """An environment variable's text read as the key's type."""
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        what = _("an integer") if kind == "integer" else _("a number")
        raise InvalidInput(
            _("{where}: {text!r} is not {what}", where=where, text=text, what=what)
        ) from None
    if kind == "boolean":
        if text.strip().lower() not in TRUE | FALSE:
            raise InvalidInput(_("{where}: {text!r} is not true or false", where=where, text=text))
        return text.strip().lower() in TRUE
    if kind == "array":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _check(plugin: str, schema: dict[str, Any], given: _Given) -> PluginSettings:
    for key in schema.get("required", []):
        if key not in given.values:
            variable = f"{PLUGIN_ENV}{plugin.upper().replace('-', '_')}_{key.upper()}"
            raise InvalidInput(
                _(
                    "crm.toml [plugins.{plugin}] {key}: required; set it there or in {variable}",
                    plugin=plugin,
                    key=key,
                    variable=variable,
                )
            )
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(given.values), key=lambda e: list(map(str, e.path)))
    for error in errors:
        key = str(error.path[0]) if error.path else ""
        where = given.sources.get(key, f"crm.toml [plugins.{plugin}]")
        raise InvalidInput(_("{where}: {message}", where=where, message=error.message))
    return PluginSettings(plugin, schema, dict(given.values))


def by_plugin(settings: Mapping[str, PluginSettings], plugin: str) -> PluginSettings:
    """The settings of ``plugin``: an empty set when it declares none."""
    return settings.get(plugin) or PluginSettings(plugin, {}, {})
