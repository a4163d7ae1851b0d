"""Delivery channels: where outbox notices go (the core's e-mail and webhook, plugins' own).

Channels register through ``crm_register_channels``; each reads its own table
of ``[channels]`` in ``crm.toml`` and is enabled when that table is there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crm_core.errors import ConfigError
from crm_core.i18n import _

if TYPE_CHECKING:
    from crm_core.outbox import OutboxMessage

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class Channel:
    """A registered channel: its name, the plugin that registered it and its ``deliver``."""

    name: str
    plugin: str
    deliver: Callable[[OutboxMessage], None]


class Options:
    """One ``[channels.NAME]`` table, read with the types a channel needs.

    Values from environment variables arrive as text, so numbers and booleans
    are accepted as text too; a wrong one is refused naming the table and key.
    """

    def __init__(self, name: str, table: Mapping[str, Any]) -> None:
        self.name = name
        self.table = table

    def _where(self, key: str) -> str:
        return f"crm.toml [channels.{self.name}] {key}"

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        """A string option; ``required`` refuses a missing or empty one."""
        value = self.table.get(key, default)
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                _("{key} must be text, not {value!r}", key=self._where(key), value=value)
            )
        if required and not value:
            raise ConfigError(_("{key} is required", key=self._where(key)))
        return value

    def number(self, key: str, default: float, *, integer: bool = False) -> float:
        """A positive number (``integer``: a whole one) option."""
        value = self.table.get(key, default)
        try:
            number = int(value) if integer else float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                _("{key} must be a number, not {value!r}", key=self._where(key), value=value)
            ) from None
        if isinstance(value, bool) or number <= 0:
            raise ConfigError(
                _(
                    "{key} must be a number above 0, not {value!r}",
                    key=self._where(key),
                    value=value,
                )
            )
        return number

    def flag(self, key: str, default: bool = False) -> bool:
        """A boolean option (``true``/``false``; from the environment also 1/0, yes/no)."""
        value = self.table.get(key, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
            return value.strip().lower() in TRUE
        raise ConfigError(
            _("{key} must be true or false, not {value!r}", key=self._where(key), value=value)
        )
