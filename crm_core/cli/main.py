"""The ``crm`` application: global options, error handling and the sub-apps."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from crm_core.cli import index, plugin_commands
from crm_core.cli.state import CliState
from crm_core.errors import CrmError, PluginError

# Where resolve_command leaves the plugin that owns the running command, for invoke.
PLUGIN_OWNER = "crm.plugin_command"
# Set while help is formatted: listing a command then needs its name and help only.
LISTING = "crm.listing"


class Listed(TyperCommand):
    """A core command as ``crm --help`` lists it, before its module is imported."""

    def __init__(self, entry: index.Entry) -> None:
        super().__init__(entry.name, help=entry.help, hidden=entry.hidden)
        self.entry = entry


def plain(command: Any) -> Any:
    """``command`` and its sub-commands with click's plain help, not typer's rich panels.

    typer's rich help imports rich, markdown-it and pygments: three times the
    start-up of `crm --help` itself.
    """
    command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        plain(sub)
    return command


class CrmGroup(TyperGroup):
    """Turns the API's errors into one line on stderr and the documented exit code.

    It also adds the plugins' commands (``crm_register_commands``) next to the
    core's before the command line is parsed, so ``crm --help`` lists them.
    The core's commands start as :class:`Listed` entries of
    :mod:`crm_core.cli.index`; a command's module is imported when the
    command is looked up for any other use than listing it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plugin_commands: dict[str, str] = {}
        for entry in index.COMMANDS:
            self.commands.setdefault(entry.name, Listed(entry))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command ``cmd_name``, its module imported unless help is only listing it."""
        command = super().get_command(ctx, cmd_name)
        if isinstance(command, Listed) and not ctx.meta.get(LISTING):
            command = self._load(command)
        return command

    def _load(self, listed: Listed) -> Any:
        """Import a core command's module and put every command it registers in place."""
        module = importlib.import_module(f"crm_core.cli.{listed.entry.module}")
        registered = typer.Typer()
        module.register(registered)
        for name, command in typer.main.get_group(registered).commands.items():
            if isinstance(self.commands.get(name), Listed):
                self.commands[name] = plain(command)
        return self.commands[listed.entry.name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Format help, listing the core's commands from the index."""
        ctx.meta[LISTING] = True
        try:
            super().format_help(ctx, formatter)
        finally:
            del ctx.meta[LISTING]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Add the plugins' commands, then parse; a broken plugin is one line and its code."""
        extra = ctx.obj.extra_plugins if isinstance(ctx.obj, CliState) else ()
        try:
            loaded = plugin_commands.load(extra, taken=set(self.commands))
        except CrmError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        for command in loaded:
            self.commands[command.name] = plain(command.command)
            self.plugin_commands[command.name] = command.plugin
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[Any, Any, list[str]]:
        """Find the command, noting the plugin that owns it, if any."""
        name, command, rest = super().resolve_command(ctx, args)
        if name in self.plugin_commands:
            ctx.meta[PLUGIN_OWNER] = (self.plugin_commands[name], name)
        return name, command, rest

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CrmError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            # Usage errors and exits belong to typer's own handling (exit 2 with usage).
            if os.environ.get("CRM_DEBUG") or type(exc).__module__.startswith(("typer", "click")):
                raise
            if PLUGIN_OWNER in ctx.meta:
                plugin, name = ctx.meta[PLUGIN_OWNER]
                failure = PluginError(plugin, f"command 'crm {name}'", exc)
                typer.echo(f"error: {failure}", err=True)
                raise typer.Exit(failure.exit_code) from None
            typer.echo(
                f"internal error: {type(exc).__name__}: {exc} (set CRM_DEBUG=1 for details)",
                err=True,
            )
            raise typer.Exit(1) from None
        finally:
            obj = ctx.obj
            if isinstance(obj, CliState) and obj._crm is not None:
                obj._crm.close()


app = typer.Typer(
    cls=CrmGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Help and usage errors in click's plain text: see plain(). Wide terminals get whole lines.
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},
    help="crm-core: a scriptable, plugin-based CRM. Exit codes: 0 ok, 2 invalid input, "
    "3 permission denied, 4 not found, 5 conflict, 6 plugin failure, "
    "7 scheduler skipped records it could not process.",
)


@app.callback()
def main(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None, "--db", envvar="CRM_DATABASE_URL", help="Database URL or SQLite file [./crm.db]."
    ),
    user: str | None = typer.Option(None, "--as", envvar="CRM_USER", help="The user you act as."),
) -> None:
    """Global options shared by every command."""
    seam = ctx.obj if isinstance(ctx.obj, CliState) else CliState(None, None)
    ctx.obj = CliState(db, user, seam.extra_plugins, seam.entry_points)


def run() -> None:
    """Entry point of the ``crm`` console script."""
    sys.exit(app(prog_name="crm") or 0)
