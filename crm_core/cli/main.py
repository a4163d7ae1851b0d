"""The ``crm`` application: global options, error handling and the sub-apps."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from crm_core.cli import (
    alerts,
    bench,
    demo,
    outbox,
    people,
    plugin_commands,
    pools,
    records,
    reports,
    scheduler,
    system,
    touchpoints,
    transfer,
    tui,
    workflows,
)
from crm_core.cli.state import CliState
from crm_core.errors import CrmError, PluginError

# Where resolve_command leaves the plugin that owns the running command, for invoke.
PLUGIN_OWNER = "crm.plugin_command"


class CrmGroup(TyperGroup):
    """Turns the API's errors into one line on stderr and the documented exit code.

    It also adds the plugins' commands (``crm_register_commands``) next to the
    core's before the command line is parsed, so ``crm --help`` lists them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plugin_commands: dict[str, str] = {}

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Add the plugins' commands, then parse; a broken plugin is one line and its code."""
        extra = ctx.obj.extra_plugins if isinstance(ctx.obj, CliState) else ()
        try:
            loaded = plugin_commands.load(extra, taken=set(self.commands))
        except CrmError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        for command in loaded:
            self.commands[command.name] = command.command
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


system.register(app)
people.register(app)
records.register(app)
touchpoints.register(app)
workflows.register(app)
pools.register(app)
scheduler.register(app)
bench.register(app)
demo.register(app)
reports.register(app)
alerts.register(app)
transfer.register(app)
outbox.register(app)
tui.register(app)


def run() -> None:
    """Entry point of the ``crm`` console script."""
    sys.exit(app(prog_name="crm") or 0)
