"""``crm pool``: public pools (公海), what waits in them, claims and releases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from crm_core.cli import render
from crm_core.cli.state import state

if TYPE_CHECKING:
    from crm_core.views import PoolEntry

pool_app = typer.Typer(help="Public pools (公海) of records.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print exact JSON.")


@pool_app.command("add")
def pool_add(
    ctx: typer.Context,
    name: str,
    member: list[str] | None = typer.Option(None, "--member", help="A member (repeat)."),
    admin: list[str] | None = typer.Option(None, "--admin", help="A pool admin (repeat)."),
) -> None:
    """Add a public pool with its members (admins only)."""
    s = state(ctx)
    pool = s.crm.add_pool(s.actor, name, member or [], admin or [])
    typer.echo(f"pool {pool.name} added with {len(pool.members)} member(s)")


@pool_app.command("list")
def pool_list(
    ctx: typer.Context,
    pool: str | None = typer.Argument(None, help="A pool: list what waits in it."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="Records per page."),
    before: int | None = typer.Option(None, "--before", help="Page on: records below this id."),
    as_json: bool = JSON,
) -> None:
    """List the pools, or the records waiting in one with how they came back."""
    s = state(ctx)
    if pool is None:
        render.views(s.crm.list_pools(s.actor), ["name", "members", "admins"], as_json, "pools")
        return
    page = s.crm.pool_page(s.actor, pool, limit=limit, before_id=before)
    if as_json:
        render.emit_json(page)
        return
    typer.echo(f"pool {page.pool}: {page.total} record(s) waiting")
    typer.echo(_allowance_line(page.allowance))
    columns = ["record_id", "kind", "title", "stage", "since", "how", "reason", "claimable"]
    rows = [{**e.to_dict(), "claimable": _claimable(e)} for e in page.entries]
    render.table(rows, columns, "records")
    if len(page.entries) == limit:
        typer.echo(f"more: crm pool list {pool} --before {page.entries[-1].record_id}")


def _claimable(entry: PoolEntry) -> str:
    """``yes``, or from when (if it passes by itself) and why not yet."""
    if entry.not_claimable_because is None:
        return "yes"
    if entry.claimable_from is None:
        return f"no ({entry.not_claimable_because})"
    return f"from {render.cell(entry.claimable_from)} ({entry.not_claimable_because})"


def _allowance_line(allowance: dict[str, Any]) -> str:
    parts = []
    if allowance.get("max_per_day") is not None:
        left = allowance["max_per_day"] - allowance["claimed_today"]
        parts.append(f"{max(left, 0)} of {allowance['max_per_day']} claims left today")
    if allowance.get("max_held") is not None:
        parts.append(f"holding {allowance['held']} of at most {allowance['max_held']}")
    return "you: " + ("; ".join(parts) if parts else "no claim limits")


@pool_app.command("claim")
def pool_claim(ctx: typer.Context, record_id: int) -> None:
    """Take a record from a pool you belong to."""
    s = state(ctx)
    record = s.crm.claim(s.actor, record_id)
    typer.echo(f"#{record.id} {record.title} is now yours")


@pool_app.command("release")
def pool_release(
    ctx: typer.Context,
    record_id: int,
    reason: str = typer.Option(..., "--reason", help="Why you give it back."),
    pool: str | None = typer.Option(None, "--pool", help="Which pool [the workflow's first]."),
) -> None:
    """Give a record back to a pool, with a reason the next owner will see."""
    s = state(ctx)
    record = s.crm.release(s.actor, record_id, reason, pool=pool)
    typer.echo(f"#{record.id} {record.title} released to pool {record.pool}")


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.add_typer(pool_app, name="pool")
