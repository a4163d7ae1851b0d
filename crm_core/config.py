"""Settings: database URL, workflow folder, disabled plugins, delivery channels, plugins' own.

Precedence: explicit arguments (CLI flags), then environment variables, then
``crm.toml`` in the working directory, then defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm_core.errors import InvalidInput
from crm_core.i18n import _

DEFAULT_DB_FILE = "crm.db"
CONFIG_FILE = "crm.toml"
CHANNEL_ENV = "CRM_CHANNELS_"
PLUGIN_ENV = "CRM_PLUGIN_"
# The core's channels, so that their environment variables work without a crm.toml table.
CORE_CHANNELS = ("email", "webhook")


@dataclass(frozen=True)
class PluginConfig:
    """The plugins' own settings as given: ``[plugins.NAME]`` tables and ``CRM_PLUGIN_*``.

    They are checked against each plugin's schema when the CRM opens
    (:mod:`crm_core.plugin_settings`), once the plugins are known.
    """

    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one CRM process."""

    database_url: str
    workflows_dir: Path
    disabled_plugins: frozenset[str] = field(default_factory=frozenset)
    channels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    plugins: PluginConfig = field(default_factory=PluginConfig)


SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite connection waits for another's write to finish before it gives up."""

CONNECT_TIMEOUT_S = 5
"""How long to wait for a PostgreSQL server to answer before saying it cannot be reached."""


def sqlite_url(path: str | Path) -> str:
    """Return the SQLAlchemy URL of a SQLite database file."""
    return f"sqlite:///{Path(path)}"


def _file(cwd: Path) -> dict[str, Any]:
    path = cwd / CONFIG_FILE
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(_("{file}: {exc}", file=CONFIG_FILE, exc=exc)) from None


def _file_settings(data: dict[str, Any]) -> dict[str, object]:
    section = data.get("crm", {})
    return section if isinstance(section, dict) else {}


def channel_settings(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The ``[channels.NAME]`` tables, with ``CRM_CHANNELS_NAME_KEY`` variables over them.

    A variable names a channel of the file or one of the core's (``email``,
    ``webhook``), so secrets such as ``CRM_CHANNELS_EMAIL_PASSWORD`` can stay
    out of the file; a variable alone enables the channel.
    """
    tables = data.get("channels", {})
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise InvalidInput(_("crm.toml: [channels] must hold one table per channel"))
    out = {name: dict(table) for name, table in tables.items()}
    names = sorted(set(out) | set(CORE_CHANNELS), key=len, reverse=True)
    for variable, value in environ.items():
        if not variable.startswith(CHANNEL_ENV):
            continue
        rest = variable[len(CHANNEL_ENV) :].lower()
        for name in names:
            if rest.startswith(name + "_") and len(rest) > len(name) + 1:
                out.setdefault(name, {})[rest[len(name) + 1 :]] = value
                break
    return out


def plugin_config(data: dict[str, Any], environ: Mapping[str, str]) -> PluginConfig:
    """The ``[plugins.NAME]`` tables and the ``CRM_PLUGIN_*`` variables, not yet checked."""
    tables = data.get("plugins", {})
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise InvalidInput(_("crm.toml: [plugins] must hold one table per plugin, [plugins.NAME]"))
    variables = {k: v for k, v in environ.items() if k.startswith(PLUGIN_ENV)}
    return PluginConfig(tables, variables)


def _split(value: object) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    return frozenset()


def load_settings(
    database_url: str | None = None,
    disabled_plugins: frozenset[str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve settings from arguments, ``CRM_*`` environment variables and ``crm.toml``."""
    cwd = cwd or Path.cwd()
    data = _file(cwd)
    file = _file_settings(data)
    url = (
        database_url
        or os.environ.get("CRM_DATABASE_URL")
        or str(file.get("database_url") or "")
        or sqlite_url(cwd / DEFAULT_DB_FILE)
    )
    if "://" not in url:
        url = sqlite_url(url)
    workflows = os.environ.get("CRM_WORKFLOWS") or str(file.get("workflows_dir") or "workflows")
    if disabled_plugins is None:
        disabled_plugins = _split(os.environ.get("CRM_DISABLED_PLUGINS")) | _split(
            file.get("disabled_plugins")
        )
    channels = channel_settings(data, os.environ)
    plugins = plugin_config(data, os.environ)
    return Settings(url, Path(workflows), disabled_plugins, channels, plugins)
