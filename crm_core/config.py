"""Settings: database URL, workflow folder and disabled plugins.

Precedence: explicit arguments (CLI flags), then environment variables, then
``crm.toml`` in the working directory, then defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB_FILE = "crm.db"
CONFIG_FILE = "crm.toml"


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one CRM process."""

    database_url: str
    workflows_dir: Path
    disabled_plugins: frozenset[str] = field(default_factory=frozenset)


def sqlite_url(path: str | Path) -> str:
    """Return the SQLAlchemy URL of a SQLite database file."""
    return f"sqlite:///{Path(path)}"


def _file_settings(cwd: Path) -> dict[str, object]:
    path = cwd / CONFIG_FILE
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    section = data.get("crm", {})
    return section if isinstance(section, dict) else {}


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
    file = _file_settings(cwd)
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
    return Settings(url, Path(workflows), disabled_plugins)
