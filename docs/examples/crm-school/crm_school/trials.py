"""The ``school_trial`` table: one row per trial lesson booked, written by a workflow action."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from crm_core import hookimpl
from crm_core.api import ActionContext

# The plugin's own MetaData: its tables are created by its migrations, never by the core.
metadata = sa.MetaData()
trial = sa.Table(
    "school_trial",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("record.id"), nullable=False),
    sa.Column("trial_date", sa.String, nullable=False),
    sa.Column("course", sa.String),
    sa.Column("booked_by", sa.String),
)


@hookimpl
def crm_register_migrations(register: Callable[..., None]) -> None:
    """The revisions under ``crm_school/migrations`` create and change ``school_trial``."""
    register(Path(__file__).parent / "migrations")


def book_trial(ctx: ActionContext, arg: dict[str, Any]) -> None:
    """Write the booking to ``school_trial`` and tell the owner, in the move's transaction."""
    values = {
        "record_id": ctx.record.id,
        "trial_date": ctx.record.fields["trial_date"],  # the rule made sure there is one
        "course": ctx.record.fields.get("course"),
        "booked_by": ctx.actor,
    }
    booking_id = ctx.session.execute(
        trial.insert().values(values).returning(trial.c.id)
    ).scalar_one()
    ctx.journal("school_trial", booking_id, "create", None, values)
    ctx.notify(f"trial lesson of {ctx.record.title} on {values['trial_date']}")


@hookimpl
def crm_register_actions(register: Callable[..., None]) -> None:
    """Offer ``book_trial: {}`` to the workflows' ``on_enter``."""
    schema = {"type": "object", "additionalProperties": False, "properties": {}}
    register("book_trial", book_trial, schema=schema)
