"""Users' saved list filters: named sets of what the Records list filters on.

A filter belongs to one user and is read and written only as that user;
saving a name the user already has replaces that filter. The settings are
checked here, so a filter recalled later is one the list can apply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from crm_core.errors import InvalidInput, NotFound, quote
from crm_core.i18n import _
from crm_core.models import SavedFilter
from crm_core.views import SavedFilterView

KEYS = ("kind", "search", "stage", "owner", "pool", "where", "sort")
"""What a filter may hold: the Records list's settings, each a text."""
NAME_MAX = 60
MAX_PER_USER = 50


def check(name: str, filters: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The name stripped and the settings without empty ones; bad input is refused."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("a saved filter needs a name"))
    if len(name) > NAME_MAX:
        raise InvalidInput(_("a filter name is at most {max} characters", max=NAME_MAX))
    unknown = sorted(set(filters) - set(KEYS))
    if unknown:
        raise InvalidInput(
            _("a filter cannot hold {unknown}; it holds {keys}", unknown=", ".join(unknown),
              keys=", ".join(KEYS))
        )  # fmt: skip
    kept = {k: v for k, v in filters.items() if v not in (None, "")}
    for key, value in kept.items():
        if not isinstance(value, str):
            raise InvalidInput(
                _("filter {key}: {value} must be a text", key=key, value=quote(str(value)))
            )
    if "kind" not in kept:
        raise InvalidInput(_("a saved filter names the kind it lists"))
    return name, kept


def save(
    session: Session, user_id: int, name: str, filters: dict[str, Any], now: datetime
) -> SavedFilterView:
    """Store ``filters`` as the user's filter ``name`` (replacing one of that name)."""
    name, kept = check(name, filters)
    row = _find(session, user_id, name)
    if row is None:
        count = len(
            session.exec(select(SavedFilter.id).where(SavedFilter.user_id == user_id)).all()
        )
        if count >= MAX_PER_USER:
            raise InvalidInput(
                _("you have {max} saved filters: delete one first", max=MAX_PER_USER)
            )
        row = SavedFilter(user_id=user_id, name=name, filters=kept, created_at=now)
    else:
        row.filters = kept
    session.add(row)
    session.flush()
    return _view(row)


def listed(session: Session, user_id: int) -> list[SavedFilterView]:
    """The user's filters, by name."""
    query = select(SavedFilter).where(SavedFilter.user_id == user_id)
    return [_view(r) for r in session.exec(query.order_by(col(SavedFilter.name))).all()]


def delete(session: Session, user_id: int, name: str) -> SavedFilterView:
    """Remove the user's filter ``name``."""
    row = _find(session, user_id, name.strip())
    if row is None:
        raise NotFound(_("you have no saved filter {name}", name=quote(name)))
    view = _view(row)
    session.delete(row)
    return view


def _find(session: Session, user_id: int, name: str) -> SavedFilter | None:
    query = select(SavedFilter).where(SavedFilter.user_id == user_id, SavedFilter.name == name)
    return session.exec(query).first()


def _view(row: SavedFilter) -> SavedFilterView:
    assert row.id is not None
    return SavedFilterView(row.id, row.name, dict(row.filters), row.created_at)
