"""The append-only journal: writing change rows and replaying them.

A record's state, as the journal knows it, is the dict built by
:func:`record_state`. A ``create`` row's ``after`` holds the whole state; every
later row holds only what changed, with ``fields`` holding only the changed
fields and ``None`` for a field that was cleared. Replaying the rows in id
order therefore rebuilds every record exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from crm_core.models import Journal, Record

STATE_KEYS = ("kind", "title", "stage", "owner_id", "pool_id", "archived")


def record_state(record: Record) -> dict[str, Any]:
    """Return what the journal tracks of ``record``."""
    return {
        "kind": record.kind,
        "title": record.title,
        "stage": record.stage,
        "owner_id": record.owner_id,
        "pool_id": record.pool_id,
        "archived": record.archived_at is not None,
        "fields": dict(record.data),
    }


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the (before, after) parts of two states that differ; both empty when equal."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key in STATE_KEYS:
        if before.get(key) != after.get(key):
            old[key], new[key] = before.get(key), after.get(key)
    was, now = before.get("fields", {}), after.get("fields", {})
    changed = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
    if changed:
        old["fields"] = {k: was.get(k) for k in changed}
        new["fields"] = {k: now.get(k) for k in changed}
    return old, new


def json_object(dialect: str, **pairs: Any) -> ColumnElement[Any]:
    """A SQL JSON object built from column expressions or literals."""
    build = func.jsonb_build_object if dialect == "postgresql" else func.json_object
    args: list[Any] = []
    for key, value in pairs.items():
        args += [literal(key), value]
    return build(*args)


def write(
    session: Session,
    *,
    at: datetime,
    actor_id: int | None,
    cause: str,
    entity: str,
    entity_id: int,
    record_id: int | None,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None = None,
) -> Journal:
    """Add one journal row to the session's transaction and return it."""
    row = Journal(
        at=at,
        actor_id=actor_id,
        cause=cause,
        entity=entity,
        entity_id=entity_id,
        record_id=record_id,
        action=action,
        reason=reason,
        before=before,
        after=after,
    )
    session.add(row)
    return row


def replay(rows: Iterable[Journal]) -> dict[int, dict[str, Any]]:
    """Rebuild every record's state from its journal rows (taken in id order)."""
    states: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row.entity != "record" or row.after is None:
            continue
        if row.action == "create":
            states[row.entity_id] = start(row.after)
        else:
            apply(states[row.entity_id], row.after)
    return states


def start(after: dict[str, Any]) -> dict[str, Any]:
    """The state a ``create`` row's ``after`` describes."""
    return {**after, "fields": dict(after.get("fields", {}))}


def apply(state: dict[str, Any], after: dict[str, Any]) -> None:
    """Apply one later row's ``after`` (only what changed) to ``state`` in place."""
    for key, value in after.items():
        if key != "fields":
            state[key] = value
    for name, value in after.get("fields", {}).items():
        if value is None:
            state["fields"].pop(name, None)
        else:
            state["fields"][name] = value
