"""``crm user`` and ``crm team``: who works in the CRM."""

from __future__ import annotations

import typer

from crm_core.cli import render
from crm_core.cli.state import parse_when, state

user_app = typer.Typer(help="Users: operators, managers, admins.", no_args_is_help=True)
team_app = typer.Typer(help="Teams of users.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print exact JSON.")


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: str,
    role: str = typer.Option(..., "--role", help="operator, manager or admin."),
    team: str | None = typer.Option(None, "--team", help="The user's team."),
    email: str | None = typer.Option(None, "--email", help="Where the e-mail channel writes."),
    phone: str | None = typer.Option(None, "--phone", help="The user's phone (E.164 kept)."),
) -> None:
    """Add a user (admins only)."""
    s = state(ctx)
    user = s.crm.add_user(s.actor, name, role, team, email=email, phone=phone)
    typer.echo(f"user {user.name} ({user.role}) added")


@user_app.command("update")
def user_update(
    ctx: typer.Context,
    name: str,
    email: str | None = typer.Option(None, "--email", help="New e-mail; '' clears it."),
    phone: str | None = typer.Option(None, "--phone", help="New phone; '' clears it."),
) -> None:
    """Change a user's e-mail or phone (admins only)."""
    s = state(ctx)
    user = s.crm.update_user(s.actor, name, email=email, phone=phone)
    typer.echo(f"user {user.name}: email {user.email or '-'}, phone {user.phone or '-'}")


@user_app.command("list")
def user_list(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List users."""
    s = state(ctx)
    columns = ["name", "role", "team", "active", "email", "phone"]
    render.views(s.crm.list_users(s.actor), columns, as_json, "users")


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
def team_add(
    ctx: typer.Context,
    name: str,
    region: str | None = typer.Option(None, "--region", help="The team's region (reports)."),
) -> None:
    """Add a team (admins only)."""
    s = state(ctx)
    s.crm.add_team(s.actor, name, region=region)
    typer.echo(f"team {name} added")


@team_app.command("list")
def team_list(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List teams and their members."""
    s = state(ctx)
    render.views(s.crm.list_teams(s.actor), ["name", "members"], as_json, "teams")


@user_app.command("away")
def user_away(
    ctx: typer.Context,
    name: str,
    until: str = typer.Option(..., "--until", help="Back at this ISO time."),
) -> None:
    """Mark a user away: the rules hand them no records until they are back."""
    s = state(ctx)
    s.crm.set_user_away(s.actor, name, parse_when(until, "--until"))
    typer.echo(f"user {name} away until {until}")


@user_app.command("back")
def user_back(ctx: typer.Context, name: str) -> None:
    """Mark a user back: the rules hand them records again."""
    s = state(ctx)
    s.crm.set_user_away(s.actor, name, None)
    typer.echo(f"user {name} is back")


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.add_typer(user_app, name="user")
    app.add_typer(team_app, name="team")
