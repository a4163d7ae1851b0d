"""Workflow actions that plugins register: what they get, and how they run.

A plugin's action runs inside the stage move's transaction. It writes through
the :class:`ActionContext` so that every change is validated and journalled
like the core's own actions, and its failure rolls the move back naming the
plugin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from crm_core import notify, records
from crm_core.errors import CrmError, InvalidInput, PluginError
from crm_core.fields import ActionSpec
from crm_core.i18n import _
from crm_core.models import Pool, PoolMember, Record, User
from crm_core.notify import Notice, TaskWriter
from crm_core.records import WriteContext
from crm_core.views import RecordView


@dataclass
class ActionContext:
    """What a plugin's workflow action gets: the record, who, when, and how to write.

    ``record`` is the record's view after the stage move (refreshed after
    :meth:`set_fields`); ``actor`` is the name of who moved it (``None`` for
    the system); ``rule`` is the cause written on every journal row
    (``workflow:NAME:FROM->TO``); ``session`` is the move's transaction, for
    the plugin's own tables.
    """

    record: RecordView
    actor: str | None
    now: datetime
    rule: str
    plugin: str
    _ctx: WriteContext
    _row: Record

    @property
    def session(self) -> Session:
        """The move's transaction: write the plugin's own tables here."""
        return self._ctx.session

    def set_fields(self, values: dict[str, Any]) -> None:
        """Change field values (``None`` clears one), validated and journalled."""
        records.change(self._ctx, self._row, "update", values=values)
        self.record = record_view(self._ctx.session, self._row)

    def add_task(self, note: str, *, due_in_days: float = 0, user: str | None = None) -> None:
        """Give ``user`` (default: the record's owner, else the actor) a task on the record."""
        assignee = self._user_id(user) if user else self._row.owner_id
        if assignee is None and self._ctx.actor is not None:
            assignee = self._ctx.actor.id
        if assignee is None:
            raise InvalidInput(_("{rule}: nobody to give the task to", rule=self.rule))
        due = self.now + timedelta(days=due_in_days)
        TaskWriter(self._ctx).add([Notice(assignee, self.record.id, note, due, self.rule)])

    def notify(self, message: str, *, to: str = "owner") -> None:
        """Raise a notice as the workflow's ``notify`` does: a task and outbox rows.

        ``to`` is ``owner``, ``manager`` or ``pool_admins``; nothing is sent
        before the commit.
        """
        users = recipients(self._ctx, self._row, to)
        notify.send(self._ctx, [Notice(u, self.record.id, message, self.now, self.rule)
                                for u in users])  # fmt: skip

    def journal(
        self,
        entity: str,
        entity_id: int,
        action: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        """Journal a change to a row of the plugin's own tables, tied to the record.

        ``entity`` must start with the plugin's name (its tables' prefix): the
        core's entities are journalled by the core.
        """
        if entity != self.plugin and not entity.startswith(f"{self.plugin}_"):
            raise InvalidInput(
                _("a journal entity of plugin '{plugin}' starts with its name", plugin=self.plugin)
            )
        self._ctx.journal(entity, entity_id, self.record.id, action, before, after)

    def _user_id(self, name: str) -> int:
        user = self._ctx.session.exec(select(User).where(User.name == name)).first()
        if user is None or user.id is None:
            raise InvalidInput(_("{rule}: no user '{name}'", rule=self.rule, name=name))
        return user.id


def recipients(ctx: WriteContext, record: Record, to: str) -> list[int]:
    """Who a workflow ``notify`` reaches: the owner, the owner's managers, or pool admins."""
    owner = ctx.session.get(User, record.owner_id) if record.owner_id is not None else None
    if to == "owner":
        return [owner.id] if owner and owner.id is not None else []
    if to == "manager":
        team = owner.team_id if owner else None
        query = select(User.id).where(
            User.role == "manager", User.team_id == team, col(User.active)
        )
        return [u for u in ctx.session.exec(query).all() if u is not None]
    if to != "pool_admins":
        raise InvalidInput(
            _(
                "{cause}: notify 'to' is owner, manager or pool_admins, not {to!r}",
                cause=ctx.cause,
                to=to,
            )
        )
    query = select(PoolMember.user_id).where(col(PoolMember.is_admin))
    if record.pool_id is not None:
        query = query.where(PoolMember.pool_id == record.pool_id)
    return sorted(set(ctx.session.exec(query).all()))


def record_view(session: Session, record: Record) -> RecordView:
    """The view of one record, owner and pool by name."""
    owner = session.get(User, record.owner_id) if record.owner_id is not None else None
    pool = session.get(Pool, record.pool_id) if record.pool_id is not None else None
    return RecordView.of(record, owner.name if owner else None, pool.name if pool else None)


def run(ctx: WriteContext, record: Record, spec: ActionSpec, arg: Any) -> None:
    """Run a plugin's action in ``ctx``'s transaction; its failure is the plugin's (exit 6)."""
    action_ctx = ActionContext(
        record=record_view(ctx.session, record),
        actor=ctx.actor.name if ctx.actor else None,
        now=ctx.now,
        rule=ctx.cause,
        plugin=spec.plugin,
        _ctx=ctx,
        _row=record,
    )
    try:
        spec.run(action_ctx, arg)
    except CrmError:
        raise
    except Exception as exc:
        raise PluginError(spec.plugin, f"workflow action {spec.name}", exc) from exc
