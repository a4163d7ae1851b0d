"""Notices raised by workflow rules: the reminder tasks they become and their outbox rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert

from crm_core import outbox
from crm_core.models import Journal, Task
from crm_core.records import WriteContext


@dataclass(frozen=True)
class Notice:
    """Something a user must hear about a record, raised by the rule named in ``cause``.

    Attributes:
        user_id: Who must hear it.
        record_id: The record it is about, or None.
        message: The text.
        due_at: When the user should act.
        cause: The rule that raised it (``pool:public:idle:warn``).
    """

    user_id: int
    record_id: int | None
    message: str
    due_at: datetime
    cause: str


class TaskWriter:
    """Writes reminder tasks, with their journal rows, in the transaction of the run."""

    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx
        self.written = 0

    def add(self, notices: list[Notice]) -> None:
        """Write one open task per notice, assigned to the notice's user."""
        if not notices:
            return
        ctx = self.ctx
        creator = ctx.actor.id if ctx.actor else None
        tasks = [
            Task(record_id=n.record_id, assignee_id=n.user_id, due_at=n.due_at, note=n.message,
                 created_by=creator, cause=n.cause, created_at=ctx.now)
            for n in notices
        ]  # fmt: skip
        ctx.session.add_all(tasks)
        ctx.session.flush()
        rows = [
            {"at": ctx.now, "actor_id": creator, "cause": t.cause, "entity": "task",
             "entity_id": t.id, "record_id": t.record_id, "action": "create", "reason": None,
             "before": None,
             "after": {"assignee_id": t.assignee_id, "due_at": t.due_at.isoformat(),
                       "note": t.note}}
            for t in tasks
        ]  # fmt: skip
        ctx.session.execute(insert(Journal), rows)
        self.written += len(tasks)


def send(ctx: WriteContext, notices: list[Notice]) -> dict[str, int]:
    """Write a reminder task per notice and queue it on every enabled channel.

    Both in the caller's transaction, and no plugin code runs: delivery
    happens after the commit (:mod:`crm_core.outbox`). Returns the outbox rows
    written per channel.
    """
    if not notices:
        return {}
    TaskWriter(ctx).add(notices)
    return outbox.write(ctx, notices, sorted(ctx.registry.channels))
