"""The commands plugins add through ``crm_register_commands``: collected and checked."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

import typer

from crm_core.config import load_settings
from crm_core.errors import PluginError
from crm_core.plugins import PluginHost

HOOK = "crm_register_commands"
NAME = re.compile(r"^[a-z][a-z0-9-]*$")


class CommandClash(PluginError):
    """Two plugins, or a plugin and the core, want the same command name (exit 6)."""

    def __init__(self, plugin: str, name: str, other: str | None) -> None:
        owner = f"plugin '{other}'" if other else "crm-core"
        super().__init__(plugin, HOOK, LookupError(f"command '{name}' is taken by {owner}"))
        if other:
            message = f"plugins '{other}' and '{plugin}' both register the command '{name}'"
        else:
            message = f"plugin '{plugin}' registers the command '{name}', which crm-core has"
        self.args = (f"{message}; disable one of them (CRM_DISABLED_PLUGINS)",)


@dataclass(frozen=True)
class PluginCommand:
    """One top-level command a plugin added: ``crm NAME``."""

    name: str
    plugin: str
    command: Any  # typer's click Command; typer vendors click, so it has no public name


def load(extra: Iterable[tuple[str, object]], taken: Collection[str]) -> list[PluginCommand]:
    """Collect the commands of the installed (and ``extra``) plugins, enabled ones only.

    ``taken`` is the core's command names. A clash or a bad name is a
    :class:`PluginError` naming the plugins.
    """
    host = PluginHost(load_settings().disabled_plugins, extra)
    found: dict[str, PluginCommand] = {}

    def register_for(plugin: str) -> Callable[..., None]:
        def register(name: str, command: Any) -> None:
            if not isinstance(name, str) or not NAME.match(name):
                problem = f"command name {name!r}: use lower case letters, digits and dashes"
                raise PluginError(plugin, HOOK, ValueError(problem))
            if name in taken or name in found:
                raise CommandClash(plugin, name, found[name].plugin if name in found else None)
            found[name] = PluginCommand(name, plugin, _click_command(plugin, name, command))

        return register

    host.call_each(HOOK, lambda plugin: {"register": register_for(plugin)})
    return list(found.values())


def _click_command(plugin: str, name: str, command: Any) -> Any:
    """The click command ``crm NAME`` runs, named so that help and usage show ``NAME``."""
    if isinstance(command, typer.Typer):
        out = typer.main.get_command(command)
    elif callable(command):
        single = typer.Typer()
        single.command(name)(command)
        out = typer.main.get_command(single)
    else:
        problem = f"command '{name}' is a {type(command).__name__}, not a typer.Typer or a function"
        raise PluginError(plugin, HOOK, TypeError(problem))
    out.name = name
    return out
