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
    people,
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
from crm_core.errors import CrmError


class CrmGroup(TyperGroup):
    """Turns the API's errors into one line on stderr and the documented exit code."""

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
    ctx.obj = CliState(db, user)


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
tui.register(app)


def run() -> None:
    """Entry point of the ``crm`` console script."""
    sys.exit(app(prog_name="crm") or 0)
