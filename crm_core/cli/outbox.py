"""``crm outbox``: the notices waiting for, or done with, delivery (admins)."""

from __future__ import annotations

import typer

from crm_core.cli import render
from crm_core.cli.state import state

outbox_app = typer.Typer(help="Notices queued for e-mail, webhook and other channels.",
                         no_args_is_help=True)  # fmt: skip

JSON = typer.Option(False, "--json", help="Print exact JSON.")


@outbox_app.command("list")
def outbox_list(
    ctx: typer.Context,
    status: str | None = typer.Option(
        None, "--status", help="pending, sending, sent, failed or skipped."
    ),
    limit: int = typer.Option(100, "--limit", help="The newest N rows."),
    as_json: bool = JSON,
) -> None:
    """List the outbox, newest first: channel, person, status, attempts, last error."""
    s = state(ctx)
    rows = s.crm.outbox(s.actor, status=status, limit=limit)
    columns = ["id", "created_at", "channel", "user", "record_id", "cause", "status", "attempts",
               "next_attempt_at", "last_error"]  # fmt: skip
    render.views(rows, columns, as_json, "outbox rows")


@outbox_app.command("retry")
def outbox_retry(
    ctx: typer.Context,
    ids: list[int] | None = typer.Argument(None, help="Outbox row ids."),
    all_failed: bool = typer.Option(False, "--all-failed", help="Every failed row."),
) -> None:
    """Send failed rows again (or rows a crash left sending); the next delivery takes them."""
    s = state(ctx)
    done = s.crm.retry_outbox(s.actor, ids or [], all_failed=all_failed)
    typer.echo(f"{len(done)} outbox row(s) pending again")


@outbox_app.command("deliver")
def outbox_deliver(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Deliver the due notices now, as the worker does after each tick."""
    s = state(ctx)
    report = s.crm.deliver_outbox(s.actor)
    if as_json:
        render.emit_json(report)
        return
    typer.echo(
        f"outbox: sent {report.sent}, retrying {report.retrying}, failed {report.failed}, "
        f"skipped {report.skipped}"
    )


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.add_typer(outbox_app, name="outbox")
