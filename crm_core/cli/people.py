"""``crm user``, ``crm team`` and ``crm pool``: who works in the CRM."""

from __future__ import annotations

import typer

from crm_core.cli import render
from crm_core.cli.state import state

user_app = typer.Typer(help="Users: operators, managers, admins.", no_args_is_help=True)
team_app = typer.Typer(help="Teams of users.", no_args_is_help=True)
pool_app = typer.Typer(help="Public pools (公海) of records.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print exact JSON.")


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: str,
    role: str = typer.Option(..., "--role", help="operator, manager or admin."),
    team: str | None = typer.Option(None, "--team", help="The user's team."),
) -> None:
    """Add a user (admins only)."""
    s = state(ctx)
    user = s.crm.add_user(s.actor, name, role, team)
    typer.echo(f"user {user.name} ({user.role}) added")


@user_app.command("list")
def user_list(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List users."""
    s = state(ctx)
    render.views(s.crm.list_users(s.actor), ["name", "role", "team", "active"], as_json, "users")


@user_app.command("deactivate")
def user_deactivate(ctx: typer.Context, name: str) -> None:
    """Stop a user from acting (admins only); their records stay as they are."""
    s = state(ctx)
    s.crm.set_user_active(s.actor, name, False)
    typer.echo(f"user {name} deactivated")


@user_app.command("activate")
def user_activate(ctx: typer.Context, name: str) -> None:
    """Let a deactivated user act again (admins only)."""
    s = state(ctx)
    s.crm.set_user_active(s.actor, name, True)
    typer.echo(f"user {name} activated")


@team_app.command("add")
def team_add(ctx: typer.Context, name: str) -> None:
    """Add a team (admins only)."""
    s = state(ctx)
    s.crm.add_team(s.actor, name)
    typer.echo(f"team {name} added")


@team_app.command("list")
def team_list(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List teams and their members."""
    s = state(ctx)
    render.views(s.crm.list_teams(s.actor), ["name", "members"], as_json, "teams")


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


@pool_app.command("pools")
def pool_pools(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List the pools and their members."""
    s = state(ctx)
    render.views(s.crm.list_pools(s.actor), ["name", "members", "admins"], as_json, "pools")


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.add_typer(user_app, name="user")
    app.add_typer(team_app, name="team")
    app.add_typer(pool_app, name="pool")
