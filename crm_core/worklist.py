"""An operator's day: their open reminders, then their records by next action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.models import Record, Task


def open_tasks(session: Session, user_id: int, *, after_id: int = 0) -> list[Task]:
    """The user's open tasks by due time; ``after_id`` keeps only newer ones (for pop-ups)."""
    query = select(Task).where(
        Task.assignee_id == user_id, col(Task.done_at).is_(None), col(Task.id) > after_id
    )
    return list(session.exec(query.order_by(col(Task.due_at), col(Task.id))).all())


def queue(session: Session, user_id: int, limit: int) -> list[tuple[Record, datetime | None]]:
    """The user's live records with the due time of their next open task.

    Records with a task come first, soonest due first; then the ones longest
    without a touchpoint (counting from the hand-over), which are the ones the
    pool rules will take back first. The second part walks the index of
    migration 0006 and stops at ``limit``, however many records the user holds.
    """
    open_task = (
        col(Task.assignee_id) == user_id,
        col(Task.done_at).is_(None),
        col(Task.record_id).is_not(None),
    )
    next_due = (
        select(Task.record_id, func.min(Task.due_at).label("due"))
        .where(*open_task)
        .group_by(col(Task.record_id))
        .subquery()
    )
    # Spelled as the index's expression and condition, so that the database uses it.
    idle_since = func.coalesce(
        col(Record.last_activity_at), col(Record.assigned_at), col(Record.created_at)
    )
    held = (
        col(Record.owner_id) == user_id,
        col(Record.pool_id).is_(None),
        col(Record.archived_at).is_(None),
    )
    due: Any = next_due.c.due
    with_task = (
        select(Record, due)
        .join(next_due, next_due.c.record_id == Record.id)
        .where(*held)
        .order_by(due, idle_since, col(Record.id))
        .limit(limit)
    )
    found: list[tuple[Record, datetime | None]] = [(r, d) for r, d in session.exec(with_task)]
    if len(found) == limit:
        return found
    tasked = select(Task.record_id).where(*open_task)
    rest = (
        select(Record)
        .where(*held, col(Record.id).not_in(tasked))
        .order_by(idle_since, col(Record.id))
        .limit(limit - len(found))
    )
    return found + [(r, None) for r in session.exec(rest)]
