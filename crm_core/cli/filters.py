"""``crm filter``: each user's saved list filters, as the TUI's Records list saves them."""

from __future__ import annotations

import typer

from crm_core.cli import render
from crm_core.cli.state import state

filter_app = typer.Typer(help="Your saved list filters.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print exact JSON.")


@filter_app.command("list")
def filter_list(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List your saved filters, numbered as the TUI's picker numbers them."""
    s = state(ctx)
    rows = s.crm.list_filters(s.actor)
    if as_json:
        render.emit_json(rows)
        return
    table = [
        {"n": n, "name": f.name, "filters": ", ".join(f"{k}={v}" for k, v in f.filters.items())}
        for n, f in enumerate(rows, 1)
    ]
    render.table(table, ["n", "name", "filters"], "saved filters")


@filter_app.command("save")
def filter_save(
    ctx: typer.Context,
    name: str,
    kind: str = typer.Option(..., "--kind", help="The kind the list shows."),
    search: str | None = typer.Option(None, "--search", help="Title, phone, e-mail or #id."),
    stage: str | None = typer.Option(None, "--stage"),
    owner: str | None = typer.Option(None, "--owner", help="A user, or - for unowned."),
    pool: str | None = typer.Option(None, "--pool"),
    where: str | None = typer.Option(None, "--where", help="FIELD=VALUE."),
    sort: str | None = typer.Option(None, "--sort", help="newest, oldest, updated, title, idle."),
) -> None:
    """Save a filter under NAME (replacing yours of that name)."""
    s = state(ctx)
    s.crm.kind(kind)  # an unknown kind is refused now, not when the filter is recalled
    filters = {"kind": kind, "search": search, "stage": stage, "owner": owner, "pool": pool,
               "where": where, "sort": sort}  # fmt: skip
    saved = s.crm.save_filter(s.actor, name, filters)
    typer.echo(f"filter {saved.name!r} saved")


@filter_app.command("delete")
def filter_delete(ctx: typer.Context, name: str) -> None:
    """Delete your saved filter NAME."""
    s = state(ctx)
    s.crm.delete_filter(s.actor, name)
    typer.echo(f"filter {name!r} deleted")


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.add_typer(filter_app, name="filter")
