"""Writing customer records: validation, dedupe keys, the journal and the change hooks.

Every write to a record goes through :func:`create` or :func:`change`, which
is what keeps the journal complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from crm_core import journal, reminders
from crm_core.errors import Conflict, Duplicate, FieldError, excerpt
from crm_core.fields import Registry
from crm_core.i18n import _
from crm_core.limits import TITLE_MAX, check_length
from crm_core.models import DedupeKey, Pool, Record, User
from crm_core.permissions import Actor
from crm_core.plugins import PluginHost
from crm_core.views import RecordChange, RecordSnapshot, changed_keys


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


Check = Callable[..., dict[str, str]]
"""Validates ``(values, before, *, stage_before, stage_after, owner)`` of one kind and returns
their dedupe keys (see :func:`checker`)."""


def check_values(
    ctx: WriteContext,
    kind: str,
    values: dict[str, Any],
    before: dict[str, Any] | None,
    **context: Any,
) -> dict[str, str]:
    """Validate ``values`` (schema, then plugin rules) and return their dedupe keys.

    ``context`` holds ``action``, ``stage_before``, ``stage_after`` and ``owner``
    as :func:`checker` takes them.
    """
    return checker(ctx, kind, context.pop("action", "create"))(values, before, **context)


def checker(ctx: WriteContext, kind: str, action: str = "create") -> Check:
    """:func:`check_values` for many values of ``kind``, the plugins' rules looked up once.

    The check takes ``(values, before)`` and, as keywords, the record's stage
    before and after the write and its owner's name after it, which the
    plugins' ``crm_validate_record`` receives with ``action``. With
    ``schema=False`` only the plugins' rules run (a stage move: the values
    are unchanged and so still pass the schema) and no keys are returned.
    """
    schema_check = ctx.registry.checker(kind)
    rules = ctx.host.caller("crm_validate_record")
    actor = ctx.actor.name if ctx.actor else ""

    def check(
        values: dict[str, Any],
        before: dict[str, Any] | None,
        *,
        stage_before: str | None = None,
        stage_after: str | None = None,
        owner: str | None = None,
        schema: bool = True,
    ) -> dict[str, str]:
        keys: dict[str, str] = {}
        if schema:
            keys = schema_check(values)
        problems: list[tuple[str, str]] = []
        args = {"kind": kind, "fields": dict(values), "before": before, "actor": actor,
                "action": action, "stage_before": stage_before, "stage_after": stage_after,
                "owner": owner}  # fmt: skip
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
        raise Conflict(
            _("a record with the same {names} was just added; retry", names=", ".join(added))
        ) from exc


def _announce(
    ctx: WriteContext,
    record_id: int,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    cause: str | None = None,
) -> None:
    """Call ``crm_record_changed`` with full snapshots of two journal states, if anyone listens."""
    if not ctx.host.implemented("crm_record_changed"):
        return
    names = _Names(ctx.session)
    old = names.snapshot(record_id, before) if before is not None else None
    new = names.snapshot(record_id, after)
    change = RecordChange(
        record_id=record_id,
        kind=new.kind,
        action=action,
        before=old,
        after=new,
        changed=changed_keys(old, new),
        actor=ctx.actor.name if ctx.actor else None,
        cause=cause or ctx.cause,
    )
    ctx.host.call_each("crm_record_changed", {"change": change})


class _Names:
    """User and pool names by id, looked up once per change announcement."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.users: dict[int, str | None] = {}
        self.pools: dict[int, str | None] = {}

    def user(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in self.users:
            user = self.session.get(User, user_id)
            self.users[user_id] = user.name if user else None
        return self.users[user_id]

    def pool(self, pool_id: int | None) -> str | None:
        if pool_id is None:
            return None
        if pool_id not in self.pools:
            pool = self.session.get(Pool, pool_id)
            self.pools[pool_id] = pool.name if pool else None
        return self.pools[pool_id]

    def snapshot(self, record_id: int, state: dict[str, Any]) -> RecordSnapshot:
        """The snapshot of a journal state (:func:`crm_core.journal.record_state`)."""
        return RecordSnapshot(
            id=record_id,
            kind=state["kind"],
            title=state["title"],
            stage=state["stage"],
            owner=self.user(state["owner_id"]),
            pool=self.pool(state["pool_id"]),
            archived=bool(state["archived"]),
            fields=dict(state["fields"]),
        )


BULK_CHUNK = 500


def changed_in_bulk(
    ctx: WriteContext,
    kind: str,
    action: str,
    changes: Iterable[tuple[int, dict[str, Any] | None, dict[str, Any], str]],
) -> None:
    """Tell ``crm_record_changed`` plugins about changes written set-based.

    ``changes`` holds ``(record id, before, after, cause)`` where ``before``
    and ``after`` are the journal's diff (``None`` before a create); bulk
    writers have already journaled and written them. The records' states
    after the change are read back in chunks, and the state before is that
    state with the diff's ``before`` laid over it. Skipped entirely when no
    plugin listens, which is what keeps sweeps and assignment passes set-based.
    """
    if not ctx.host.implemented("crm_record_changed"):
        return
    del kind  # each state read back names its kind
    pending = list(changes)
    for start in range(0, len(pending), BULK_CHUNK):
        part = pending[start : start + BULK_CHUNK]
        states = _read_states(ctx.session, [record_id for record_id, *_rest in part])
        for record_id, before, _after, cause in part:
            now = states[record_id]
            was = None if before is None else _overlay(now, before)
            _announce(ctx, record_id, action, was, now, cause)


def snapshots(session: Session, ids: list[int]) -> dict[int, RecordSnapshot]:
    """The records ``ids`` as they are stored now, as snapshots; read in chunks."""
    names = _Names(session)
    out: dict[int, RecordSnapshot] = {}
    for start in range(0, len(ids), BULK_CHUNK):
        states = _read_states(session, ids[start : start + BULK_CHUNK])
        out.update((rid, names.snapshot(rid, state)) for rid, state in states.items())
    return out


def _read_states(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Journal states of ``ids`` as stored now, read with Core (bulk writers bypass the ORM)."""
    table = Record.metadata.tables["record"]
    rows = session.connection().execute(
        sa_select(
            table.c.id, table.c.kind, table.c.title, table.c.stage, table.c.owner_id,
            table.c.pool_id, table.c.archived_at, table.c.data,
        ).where(table.c.id.in_(ids))
    )  # fmt: skip
    # data that is not a JSON object (written around the API) holds no fields
    return {
        r.id: {"kind": r.kind, "title": r.title, "stage": r.stage, "owner_id": r.owner_id,
               "pool_id": r.pool_id, "archived": r.archived_at is not None,
               "fields": dict(r.data) if isinstance(r.data, dict) else {}}
        for r in rows
    }  # fmt: skip


def _overlay(state: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """``state`` with a journal diff's ``before`` laid over it: the state before the change."""
    out = {**state, **{k: v for k, v in before.items() if k != "fields"}}
    fields = dict(state["fields"])
    for name, value in before.get("fields", {}).items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    out["fields"] = fields
    return out


def default_title(ctx: WriteContext, kind: str, values: dict[str, Any]) -> str:
    """The kind's title template filled with ``values``; without one (or if it gives
    nothing), the first string field that has a value, else the kind's label.

    A value longer than a title may be is cut to TITLE_MAX characters.
    """
    return titler(ctx.registry, kind)(values)


def titler(registry: Registry, kind: str) -> Callable[[dict[str, Any]], str]:
    """:func:`default_title` of ``kind``, the kind looked up once, to title many values."""
    spec = registry.kind(kind)
    render = spec.render_title
    texts = [name for name, field in spec.fields.items() if field.type == "string"]
    label = spec.label.get("en", kind)

    def title(values: dict[str, Any]) -> str:
        templated = render(values)
        if templated:
            return templated
        for name in texts:
            if values.get(name):
                return excerpt(str(values[name]), TITLE_MAX)
        return label

    return title


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
    owner = ctx.session.get(User, owner_id) if owner_id is not None else None
    keys = check_values(
        ctx, kind, values, None, stage_after=stage, owner=owner.name if owner else None
    )
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
    state = journal.record_state(record)
    ctx.journal("record", record.id, record.id, "create", None, state)
    _announce(ctx, record.id, "create", None, state)
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
    stage_after = record.stage if stage is _UNSET else stage
    data = dict(record.data)
    for name, value in (values or {}).items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    if data != record.data or stage_after != record.stage:
        owner = _Names(ctx.session).user(record.owner_id if owner_id is _UNSET else owner_id)
        check = checker(ctx, record.kind, action)
        context = {"stage_before": record.stage, "stage_after": stage_after, "owner": owner}
        if data != record.data:
            assert record.id is not None
            old_keys = stored_keys(ctx.session, record.id)
            new_keys = check(data, dict(record.data), **context)
            _store_keys(ctx, record.kind, record.id, old_keys, new_keys)
            record.data = data
        else:  # a stage move: the plugins' rules may depend on the stage
            check(data, dict(record.data), schema=False, **context)
    retitle = ctx.registry.kind(record.kind).title_fields
    if not title and any(before["fields"].get(n) != record.data.get(n) for n in retitle):
        # An explicit title stands until a field the kind's title is made of changes.
        title = default_title(ctx, record.kind, record.data)
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
    after = journal.record_state(record)
    old, new = journal.diff(before, after)
    if not new:
        return False
    record.updated_at = ctx.now
    record.version += 1
    ctx.session.add(record)
    ctx.session.flush()
    assert record.id is not None
    ctx.journal("record", record.id, record.id, action, old, new, reason)
    _announce(ctx, record.id, action, before, after)
    reminders.after_change(ctx, record, old, new)
    return True


def stored_keys(session: Session, record_id: int) -> dict[str, str]:
    """Return the dedupe keys a record holds, field to value."""
    rows = session.exec(select(DedupeKey).where(DedupeKey.record_id == record_id)).all()
    return {row.field: row.value for row in rows}
