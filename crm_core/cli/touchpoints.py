"""``crm activity``, ``crm task``, ``crm contact`` and ``crm deal``."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import typer

from crm_core.cli import render
from crm_core.cli.state import parse_sets, parse_when, state
from crm_core.errors import InvalidInput, quote
from crm_core.i18n import _

activity_app = typer.Typer(help="Touchpoints logged on records.", no_args_is_help=True)
task_app = typer.Typer(help="Reminders and to-dos.", no_args_is_help=True)
contact_app = typer.Typer(help="People at a customer.", no_args_is_help=True)
deal_app = typer.Typer(help="Deals (opportunities) of a record.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print exact JSON.")


def _time(text: str | None, option: str) -> datetime | None:
    return None if text is None else parse_when(text, option)


@activity_app.command("log")
def activity_log(
    ctx: typer.Context,
    record_id: int,
    type: str,
    note: str | None = typer.Option(None, "--note"),
    at: str | None = typer.Option(None, "--at", help="When it happened (ISO) [now]."),
    data: list[str] | None = typer.Option(
        None, "--data", help="KEY=VALUE kept with it, e.g. score=4 for feedback (repeat)."
    ),
) -> None:
    """Log a touchpoint (call, visit, email, message, meeting, feedback, complaint, note…)."""
    s = state(ctx)
    extra = {k: _scalar(v) for k, v in parse_sets(data).items()}
    activity = s.crm.log_activity(
        s.actor, record_id, type, note=note, at=_time(at, "--at"), data=extra
    )
    typer.echo(f"activity #{activity.id} logged on record #{record_id}")


def _scalar(text: str) -> Any:
    """A number or true/false when the text is one, else the text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float, bool)) else text


@activity_app.command("list")
def activity_list(ctx: typer.Context, record_id: int, as_json: bool = JSON) -> None:
    """List a record's activities, newest first."""
    s = state(ctx)
    rows = s.crm.list_activities(s.actor, record_id)
    render.views(rows, ["id", "occurred_at", "type", "actor", "note"], as_json, "activities")


@activity_app.command("types")
def activity_types(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List the activity types plugins registered."""
    types = state(ctx).crm.activity_types()
    rows = [{"type": t.name, "en": t.label["en"], "zh": t.label["zh"], "plugin": t.plugin}
            for t in types]  # fmt: skip
    if as_json:
        render.emit_json(rows)
    else:
        render.table(rows, ["type", "en", "zh", "plugin"], "activity types")


@task_app.command("add")
def task_add(
    ctx: typer.Context,
    record_id: int,
    due: str = typer.Option(..., "--due", help="Due time (ISO)."),
    note: str = typer.Option(..., "--note"),
    assignee: str | None = typer.Option(None, "--for", help="Assignee [you]."),
) -> None:
    """Add a reminder about a record."""
    s = state(ctx)
    task = s.crm.add_task(s.actor, record_id, parse_when(due, "--due"), note, assignee=assignee)
    typer.echo(f"task #{task.id} due {task.due_at.isoformat()} for {task.assignee}")


@task_app.command("list")
def task_list(
    ctx: typer.Context,
    due_before: str | None = typer.Option(None, "--due-before", help="ISO time."),
    done: bool = typer.Option(False, "--done", help="Include done tasks."),
    as_json: bool = JSON,
) -> None:
    """List open tasks by due time (yours; a manager's team; an admin's all)."""
    s = state(ctx)
    rows = s.crm.list_tasks(
        s.actor, due_before=_time(due_before, "--due-before"), include_done=done
    )
    columns = ["id", "due_at", "assignee", "record_id", "note", "done_at"]
    render.views(rows, columns, as_json, "tasks")


@task_app.command("done")
def task_done(ctx: typer.Context, task_id: int) -> None:
    """Mark a task done."""
    s = state(ctx)
    s.crm.complete_task(s.actor, task_id)
    typer.echo(f"task #{task_id} done")


@task_app.command("snooze")
def task_snooze(
    ctx: typer.Context,
    task_id: int,
    until: str = typer.Option(..., "--until", help="The new due time (ISO), later than now."),
) -> None:
    """Put a reminder off until a later time."""
    s = state(ctx)
    task = s.crm.snooze_task(s.actor, task_id, parse_when(until, "--until"))
    typer.echo(f"task #{task.id} snoozed until {task.due_at.isoformat()}")


@contact_app.command("add")
def contact_add(
    ctx: typer.Context,
    record_id: int,
    name: str,
    phone: str | None = typer.Option(None, "--phone"),
    email: str | None = typer.Option(None, "--email"),
    position: str | None = typer.Option(None, "--position"),
) -> None:
    """Add a contact person to a record."""
    s = state(ctx)
    contact = s.crm.add_contact(
        s.actor, record_id, name, phone=phone, email=email, position=position
    )
    typer.echo(f"contact #{contact.id} added to record #{record_id}")


@contact_app.command("list")
def contact_list(ctx: typer.Context, record_id: int, as_json: bool = JSON) -> None:
    """List a record's contacts."""
    s = state(ctx)
    rows = s.crm.list_contacts(s.actor, record_id)
    render.views(rows, ["id", "name", "phone", "email", "position"], as_json, "contacts")


def _date(text: str | None, option: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise InvalidInput(
            _("{option}: {text} is not a date like 2026-12-31", option=option, text=quote(text))
        ) from None


DEAL_COLUMNS = ["id", "record_id", "title", "amount", "currency", "stage", "owner",
                "expected_close", "closed_at"]  # fmt: skip


@deal_app.command("add")
def deal_add(
    ctx: typer.Context,
    record_id: int,
    title: str,
    amount: str = typer.Option("0", "--amount"),
    currency: str = typer.Option("CNY", "--currency"),
    stage: str = typer.Option("open", "--stage"),
    owner: str | None = typer.Option(
        None, "--owner", help="The user who works it (default: the record's owner)."
    ),
    close: str | None = typer.Option(
        None, "--close-date", "--close", help="Expected close date (YYYY-MM-DD)."
    ),
) -> None:
    """Add a deal to a record."""
    s = state(ctx)
    deal = s.crm.add_deal(
        s.actor, record_id, title, amount=amount, currency=currency, stage=stage,
        expected_close=_date(close, "--close-date"), owner=owner,
    )  # fmt: skip
    typer.echo(f"deal #{deal.id} added to record #{record_id}, owned by {deal.owner or 'nobody'}")


@deal_app.command("move")
def deal_move(ctx: typer.Context, deal_id: int, stage: str) -> None:
    """Move a deal to a stage: open, won, lost, or your own (won and lost close it)."""
    s = state(ctx)
    deal = s.crm.move_deal(s.actor, deal_id, stage)
    typer.echo(f"deal #{deal.id} is now {deal.stage}")


@deal_app.command("reassign")
def deal_reassign(ctx: typer.Context, deal_id: int, user: str) -> None:
    """Give a deal to another user."""
    s = state(ctx)
    deal = s.crm.reassign_deal(s.actor, deal_id, user)
    typer.echo(f"deal #{deal.id} is now {deal.owner}'s")


@deal_app.command("show")
def deal_show(ctx: typer.Context, deal_id: int, as_json: bool = JSON) -> None:
    """Show one deal."""
    s = state(ctx)
    deal = s.crm.get_deal(s.actor, deal_id)
    if as_json:
        render.emit_json(deal)
        return
    values = deal.to_dict()
    render.fields_block([(k, values[k]) for k in values])


@deal_app.command("list")
def deal_list(
    ctx: typer.Context,
    record_id: int | None = typer.Option(None, "--record", help="Only this record's deals."),
    mine: bool = typer.Option(False, "--mine", help="Only the deals credited to you."),
    owner: str | None = typer.Option(None, "--owner", help="Only the deals credited to USER."),
    stage: str | None = typer.Option(None, "--stage"),
    limit: int = typer.Option(1000, "--limit"),
    as_json: bool = JSON,
) -> None:
    """List the deals you may see (a deal is credited to its owner, else its record's)."""
    s = state(ctx)
    if mine and owner is not None:
        raise InvalidInput(_("--mine and --owner exclude each other"))
    rows = s.crm.list_deals(s.actor, record_id, owner=s.actor if mine else owner, stage=stage,
                            limit=limit)  # fmt: skip
    render.views(rows, DEAL_COLUMNS, as_json, "deals")


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.add_typer(activity_app, name="activity")
    app.add_typer(task_app, name="task")
    app.add_typer(contact_app, name="contact")
    app.add_typer(deal_app, name="deal")
