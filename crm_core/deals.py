"""Deals (opportunities): their outcome stages, their owner and their dates.

A deal is *won* in stage ``won`` and *lost* in stage ``lost`` (lower case);
any other stage (``open``, ``proposal``…) is open. This module is the one
place that says so: the API stamps ``closed_at`` from it and the reports
count from it (:func:`won`, :func:`lost`, :func:`is_open`).

A deal belongs to its ``owner_id`` when it has one, else to its record's
owner; :func:`crm_core.permissions.deal_relation` judges access the same way.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from crm_core import permissions
from crm_core.errors import NotFound
from crm_core.i18n import _
from crm_core.models import Deal, Record, User
from crm_core.views import DealView

WON = "won"
LOST = "lost"
OUTCOMES = (WON, LOST)
"""The stages that close a deal."""


def is_closed(stage: str) -> bool:
    """True when ``stage`` closes a deal (won or lost)."""
    return stage in OUTCOMES


def won(stage: Any = None) -> ColumnElement[bool]:
    """SQL: the deal (``stage`` column, default ``deal.stage``) is won."""
    return (stage if stage is not None else col(Deal.stage)) == WON


def lost(stage: Any = None) -> ColumnElement[bool]:
    """SQL: the deal is lost."""
    return (stage if stage is not None else col(Deal.stage)) == LOST


def is_open(stage: Any = None) -> ColumnElement[bool]:
    """SQL: the deal is neither won nor lost."""
    return (stage if stage is not None else col(Deal.stage)).not_in(OUTCOMES)


def owner_column() -> ColumnElement[Any]:
    """SQL: the user a deal is credited to, its own owner or else its record's owner."""
    return func.coalesce(col(Deal.owner_id), col(Record.owner_id))


def enter_stage(deal: Deal, stage: str, now: datetime) -> None:
    """Put ``deal`` in ``stage`` now; a closing stage stamps ``closed_at``, others clear it."""
    deal.stage = stage
    deal.stage_entered_at = now
    deal.closed_at = now if is_closed(stage) else None
    deal.updated_at = now


def load(
    session: Session, actor: permissions.Actor, deal_id: int, action: str
) -> tuple[Deal, Record]:
    """The live deal ``actor`` may ``action``, and its record (which they may not see)."""
    deal = session.get(Deal, deal_id)
    if deal is None or deal.archived_at is not None:
        raise NotFound(_("no deal #{deal_id}", deal_id=deal_id))
    record = session.get(Record, deal.record_id)
    if record is None:
        raise NotFound(_("no deal #{deal_id}", deal_id=deal_id))
    permissions.check_deal(actor, action, deal, record)
    return deal, record


def view(session: Session, deal: Deal, record_title: str | None = None) -> DealView:
    """The deal as callers see it, with its owner's name."""
    owner = session.get(User, deal.owner_id) if deal.owner_id is not None else None
    return view_of(deal, owner.name if owner else None, record_title)


def view_of(deal: Deal, owner: str | None, record_title: str | None) -> DealView:
    """The deal as callers see it, its owner's name already known."""
    assert deal.id is not None
    return DealView(
        deal.id,
        deal.record_id,
        deal.title,
        Decimal(deal.amount_minor).scaleb(-2),
        deal.currency,
        deal.stage,
        deal.expected_close,
        owner,
        deal.created_at,
        deal.closed_at,
        deal.stage_entered_at,
        record_title,
    )


def listing(
    session: Session,
    actor: permissions.Actor,
    *,
    record_id: int | None = None,
    owner_id: int | None = None,
    stage: str | None = None,
    limit: int = 1000,
) -> list[DealView]:
    """The live deals ``actor`` may see, filtered, oldest first."""
    query = (
        select(Deal, Record.title, User.name)
        .join(Record, col(Record.id) == col(Deal.record_id))
        .outerjoin(User, col(User.id) == col(Deal.owner_id))
        .where(col(Deal.archived_at).is_(None), permissions.deal_filter(actor, "show"))
        .order_by(col(Deal.id))
        .limit(limit)
    )
    if record_id is not None:
        query = query.where(col(Deal.record_id) == record_id)
    if owner_id is not None:
        query = query.where(owner_column() == owner_id)
    if stage is not None:
        query = query.where(col(Deal.stage) == stage)
    return [view_of(d, owner, title) for d, title, owner in session.exec(query).all()]
