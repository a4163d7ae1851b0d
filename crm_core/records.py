"""Writing customer records: validation, dedupe keys, the journal and the change hooks.

Every write to a record goes through :func:`create` or :func:`change`, which
is what keeps the journal complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from crm_core import journal, reminders
from crm_core.errors import Conflict, Duplicate, FieldError, excerpt
from crm_core.fields import Registry
from crm_core.limits import TITLE_MAX, check_length
from crm_core.models import DedupeKey, Record, User
from crm_core.permissions import Actor
from crm_core.plugins import PluginHost
from crm_core.views import RecordChange


@dataclass
class WriteContext:
    """What every write needs: the transaction, the registry, who acts, why, and when."""

    session: Session
    registry: Registry
    host: PluginHost
    actor: Actor | None
    cause: str
    now: datetime

    def journal(
        self,
        entity: str,
        entity_id: int,
        record_id: int | None,
        action: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        reason: str | None = None,
    ) -> None:
        """Write a journal row for this write: its actor, cause and time."""
        journal.write(
            self.session,
            at=self.now,
            actor_id=self.actor.id if self.actor else None,
            cause=self.cause,
            entity=entity,
            entity_id=entity_id,
            record_id=record_id,
            action=action,
            before=before,
            after=after,
            reason=reason,
        )


Check = Callable[[dict[str, Any], dict[str, Any] | None], dict[str, str]]
"""Validates ``(values, before)`` of one kind and returns their dedupe keys."""


def check_values(
    ctx: WriteContext, kind: str, values: dict[str, Any], before: dict[str, Any] | None
) -> dict[str, str]:
    """Validate ``values`` (schema, then plugin rules) and return their dedupe keys."""
    return checker(ctx, kind)(values, before)


def checker(ctx: WriteContext, kind: str) -> Check:
    """:func:`check_values` for many values of ``kind``, the plugins' rules looked up once."""
    registry = ctx.registry
    rules = ctx.host.caller("crm_validate_record")
    actor = ctx.actor.name if ctx.actor else ""

    def check(values: dict[str, Any], before: dict[str, Any] | None) -> dict[str, str]:
        registry.validate(kind, values)
        keys = registry.dedupe_keys(kind, values)
        problems: list[tuple[str, str]] = []
        args = {"kind": kind, "fields": dict(values), "before": before, "actor": actor}
        for _plugin, result in rules(args):
            problems.extend(result or [])
        if problems:
            raise FieldError(kind, problems)
        return keys

    return check


def find_duplicate(
    session: Session, kind: str, keys: dict[str, str], exclude: int | None = None
) -> Duplicate | None:
    """Return the refusal for the first dedupe key another record holds, or None."""
    for field, value in keys.items():
        query = select(DedupeKey.record_id, User.name).join(
            Record, col(Record.id) == DedupeKey.record_id
        )
        query = query.outerjoin(User, col(User.id) == Record.owner_id).where(
            DedupeKey.kind == kind, DedupeKey.field == field, DedupeKey.value == value
        )
        hit = session.exec(query).first()
        if hit is not None and hit[0] != exclude:
            return Duplicate(hit[0], hit[1], field, value)
    return None


def _store_keys(
    ctx: WriteContext, kind: str, record_id: int, old: dict[str, str], new: dict[str, str]
) -> None:
    gone = [f for f in old if old[f] != new.get(f)]
    if gone:
        ctx.session.exec(
            delete(DedupeKey).where(
                col(DedupeKey.record_id) == record_id, col(DedupeKey.field).in_(gone)
            )
        )
    added = {f: v for f, v in new.items() if old.get(f) != v}
    if not added:
        return
    duplicate = find_duplicate(ctx.session, kind, added, exclude=record_id)
    if duplicate is not None:
        raise duplicate
    for field, value in added.items():
        ctx.session.add(DedupeKey(kind=kind, field=field, value=value, record_id=record_id))
    try:
        ctx.session.flush()
    except IntegrityError as exc:  # another connection took the key since we looked
        raise Conflict(f"a record with the same {', '.join(added)} was just added; retry") from exc


def _notify(
    ctx: WriteContext,
    record: Record,
    action: str,
    before: Any,
    after: Any,
    reason: str | None = None,
) -> None:
    assert record.id is not None
    ctx.journal("record", record.id, record.id, action, before, after, reason)
    change = RecordChange(
        record_id=record.id,
        kind=record.kind,
        action=action,
        before=before,
        after=after,
        actor=ctx.actor.name if ctx.actor else None,
        cause=ctx.cause,
    )
    ctx.host.call_each("crm_record_changed", {"change": change})


def changed_in_bulk(
    ctx: WriteContext,
    kind: str,
    action: str,
    changes: Iterable[tuple[int, dict[str, Any] | None, dict[str, Any], str]],
) -> None:
    """Tell ``crm_record_changed`` plugins about changes written set-based.

    ``changes`` holds ``(record id, before, after, cause)``; bulk writers have
    already journaled them. Skipped entirely when no plugin listens, which is
    what keeps sweeps and assignment passes set-based.
    """
    if not ctx.host.implemented("crm_record_changed"):
        return
    actor = ctx.actor.name if ctx.actor else None
    for record_id, before, after, cause in changes:
        change = RecordChange(record_id=record_id, kind=kind, action=action, before=before,
                              after=after, actor=actor, cause=cause)  # fmt: skip
        ctx.host.call_each("crm_record_changed", {"change": change})


def default_title(ctx: WriteContext, kind: str, values: dict[str, Any]) -> str:
    """Pick a title from the first string field that has a value, else the kind's label.

    A field value longer than a title may be is cut to TITLE_MAX characters.
    """
    spec = ctx.registry.kind(kind)
    for name, field in spec.fields.items():
        if field.type == "string" and values.get(name):
            return excerpt(str(values[name]), TITLE_MAX)
    return spec.label.get("en", kind)


def create(
    ctx: WriteContext,
    kind: str,
    values: dict[str, Any],
    *,
    title: str | None,
    owner_id: int | None,
    pool_id: int | None = None,
    stage: str | None = None,
) -> Record:
    """Insert a record with valid, unique values and journal it as ``create``."""
    check_length("a title", title, TITLE_MAX)
    values = ctx.registry.with_defaults(kind, {k: v for k, v in values.items() if v is not None})
    keys = check_values(ctx, kind, values, None)
    duplicate = find_duplicate(ctx.session, kind, keys)
    if duplicate is not None:
        raise duplicate
    record = Record(
        kind=kind,
        title=title or default_title(ctx, kind, values),
        stage=stage,
        owner_id=owner_id,
        pool_id=pool_id,
        data=values,
        created_at=ctx.now,
        updated_at=ctx.now,
        stage_entered_at=ctx.now,
        created_by=ctx.actor.id if ctx.actor else None,
    )
    ctx.session.add(record)
    ctx.session.flush()
    assert record.id is not None
    _store_keys(ctx, kind, record.id, {}, keys)
    _notify(ctx, record, "create", None, journal.record_state(record))
    return record


_UNSET: Any = object()


def change(
    ctx: WriteContext,
    record: Record,
    action: str,
    *,
    values: dict[str, Any] | None = None,
    title: str | None = None,
    owner_id: int | None = _UNSET,
    pool_id: int | None = _UNSET,
    stage: str | None = _UNSET,
    archived: bool | None = None,
    reason: str | None = None,
) -> bool:
    """Apply a change to ``record`` and journal it; return False when nothing changed.

    ``values`` are field changes: a value sets the field, ``None`` clears it.
    """
    check_length("a title", title, TITLE_MAX)
    before = journal.record_state(record)
    if values is not None:
        data = dict(record.data)
        for name, value in values.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        if data != record.data:
            assert record.id is not None
            old_keys = stored_keys(ctx.session, record.id)
            new_keys = check_values(ctx, record.kind, data, dict(record.data))
            _store_keys(ctx, record.kind, record.id, old_keys, new_keys)
            record.data = data
    if title:
        record.title = title
    if owner_id is not _UNSET:
        record.owner_id = owner_id
    if pool_id is not _UNSET:
        record.pool_id = pool_id
    if stage is not _UNSET and stage != record.stage:
        record.stage = stage
        record.stage_entered_at = ctx.now
    if archived is not None:
        record.archived_at = ctx.now if archived else None
    old, new = journal.diff(before, journal.record_state(record))
    if not new:
        return False
    record.updated_at = ctx.now
    record.version += 1
    ctx.session.add(record)
    ctx.session.flush()
    _notify(ctx, record, action, old, new, reason)
    reminders.after_change(ctx, record, old, new)
    return True


def stored_keys(session: Session, record_id: int) -> dict[str, str]:
    """Return the dedupe keys a record holds, field to value."""
    rows = session.exec(select(DedupeKey).where(DedupeKey.record_id == record_id)).all()
    return {row.field: row.value for row in rows}
