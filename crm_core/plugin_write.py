"""One transaction for a plugin that keeps its own tables next to the core's.

:meth:`crm_core.api.Crm.plugin_write` opens it: the plugin reads and writes
its tables with ``session``, reaches deals only through the methods here (so
the permission table and the journal apply), and journals its own changes.
Everything commits together, or nothing does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from crm_core import deals
from crm_core.errors import PermissionDenied
from crm_core.i18n import _
from crm_core.records import WriteContext
from crm_core.views import DealView


@dataclass
class PluginWrite:
    """A plugin's transaction: its ``session``, who acts and when (``actor``, ``role``, ``now``)."""

    _ctx: WriteContext

    @property
    def session(self) -> Session:
        """The transaction's session, for the plugin's own tables."""
        return self._ctx.session

    @property
    def actor(self) -> str:
        """The acting user's name."""
        assert self._ctx.actor is not None
        return self._ctx.actor.name

    @property
    def role(self) -> str:
        """The acting user's role: operator, manager or admin."""
        assert self._ctx.actor is not None
        return self._ctx.actor.role

    @property
    def now(self) -> datetime:
        """The CRM clock's time for this write."""
        return self._ctx.now

    def require_manager(self, what: str) -> None:
        """Refuse (PermissionDenied) unless the actor is a manager or an admin."""
        assert self._ctx.actor is not None
        if not self._ctx.actor.is_manager:
            raise PermissionDenied(
                _(
                    "only a manager or an admin may {what}; {actor} is {role}",
                    what=what,
                    actor=self.actor,
                    role=self.role,
                )
            )

    def deal(self, deal_id: int, action: str = "update") -> DealView:
        """Deal ``deal_id`` if the actor may ``action`` it (NotFound, PermissionDenied)."""
        assert self._ctx.actor is not None
        deal, record = deals.load(self.session, self._ctx.actor, deal_id, action)
        return deals.view(self.session, deal, record.title)

    def set_deal_amount(self, deal_id: int, amount_minor: int, reason: str) -> DealView:
        """Set a deal's amount (minor units) the actor may update; journaled on the deal."""
        assert self._ctx.actor is not None
        deal, record = deals.load(self.session, self._ctx.actor, deal_id, "update")
        before = deals.view(self.session, deal).amount
        deal.amount_minor, deal.updated_at = amount_minor, self.now
        self.session.add(deal)
        view = deals.view(self.session, deal, record.title)
        if view.amount != before:
            old, new = {"amount": str(before)}, {"amount": str(view.amount)}
            self._ctx.journal("deal", deal_id, deal.record_id, "update", old, new, reason)
        return view

    def journal(
        self,
        entity: str,
        entity_id: int,
        action: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        record_id: int | None = None,
    ) -> None:
        """Journal a change to the plugin's own rows (``entity`` names their table's kind)."""
        self._ctx.journal(entity, entity_id, record_id, action, before, after)
