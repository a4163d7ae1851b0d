"""``crm school trials DAY``: the trial lessons booked on a day, and the seats left."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
import typer

from crm_core import hookimpl
from crm_core.api import InvalidInput
from crm_core.commands import cli, emit_json, table
from crm_school.kind import KIND
from crm_school.trials import trial

school = typer.Typer()


# A callback makes `school` a group, so that `trials` stays `crm school trials`.
@school.callback()
def school_group() -> None:
    """The training school: trial lessons."""


@school.command("trials")
def trials(
    ctx: typer.Context,
    day: str = typer.Argument(..., help="The day, YYYY-MM-DD."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The trial lessons booked on DAY, of the leads you may see, against the day's seats."""
    if len(day) != 10 or not day[:4].isdigit():
        raise InvalidInput(f"day {day!r}: give it as YYYY-MM-DD")
    state = cli(ctx)
    settings = state.crm.settings("school")  # [plugins.school] or CRM_PLUGIN_SCHOOL_*
    # The bookings of records the acting user may see: the API applies the permissions.
    visible = {r.id: r for r in state.crm.list_records(state.actor, kind=KIND, limit=500)}
    with state.crm.engine.connect() as conn:
        booked = conn.execute(
            sa.select(trial).where(trial.c.trial_date == day).order_by(trial.c.id)
        ).all()
    rows = [
        {"lead": visible[b.record_id].title, "course": b.course, "booked_by": b.booked_by}
        for b in booked
        if b.record_id in visible
    ]
    seats = {"campus": settings["campus"], "seats": settings["seats"], "booked": len(booked)}
    if json_out:
        emit_json({**seats, "trials": rows})
        return
    table(rows, ["lead", "course", "booked_by"], title=f"trial lessons on {day}")
    typer.echo(f"{seats['booked']} of {seats['seats']} seats booked at {seats['campus']}")


@hookimpl
def crm_register_commands(register: Callable[..., None]) -> None:
    """Add ``crm school …``."""
    register("school", school)
