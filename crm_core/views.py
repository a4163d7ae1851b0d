"""What the API returns: plain dataclasses whose ``to_dict`` is the stable JSON form."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm_core.i18n import Message, _


def _plain(value: Any) -> Any:
    if isinstance(value, View):
        return value.to_dict()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(_plain(v) for v in value)
    return value


class View:
    """Base of the API's result types."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: ISO times, decimal strings, keys as declared."""
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        return {f.name: _plain(getattr(self, f.name)) for f in fields}


@dataclasses.dataclass(frozen=True)
class RecordView(View):
    """A customer record as its reader sees it (and as detail panels and
    ``crm_activity_logged`` receive it).

    Attributes:
        id: The record's id.
        kind: Its kind (``"lead"``).
        title: Its title (see the kind's ``title`` template).
        stage: Its workflow stage id; None when its kind has no workflow.
        owner: The owner's user name; None when unowned or in a pool.
        pool: The name of the pool holding it, or None.
        fields: Every field value it holds (a field without a value is absent).
        created_at: When it was created.
        updated_at: When it last changed.
        stage_entered_at: When it entered its current stage.
        last_activity_at: When the latest activity logged on it happened, or None.
        archived_at: When it was archived, or None.
        version: Counts its changes; ``update_record(expected_version=...)`` checks it.
    """

    id: int
    kind: str
    title: str
    stage: str | None
    owner: str | None
    pool: str | None
    fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    stage_entered_at: datetime
    last_activity_at: datetime | None
    archived_at: datetime | None
    version: int

    @classmethod
    def of(cls, record: Any, owner: str | None, pool: str | None) -> RecordView:
        """The view of a stored ``record`` row, with its owner's and pool's names."""
        assert record.id is not None
        return cls(
            id=record.id,
            kind=record.kind,
            title=record.title,
            stage=record.stage,
            owner=owner,
            pool=pool,
            fields=dict(record.data),
            created_at=record.created_at,
            updated_at=record.updated_at,
            stage_entered_at=record.stage_entered_at,
            last_activity_at=record.last_activity_at,
            archived_at=record.archived_at,
            version=record.version,
        )


@dataclasses.dataclass
class AddResult(View):
    """What adding a record did: created it, or merged the values into a duplicate."""

    record: RecordView
    merged: bool = False
    filled: list[str] = dataclasses.field(default_factory=list)
    kept: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class RecordSnapshot(View):
    """A record's state on one side of a change, as ``crm_record_changed`` sees it.

    Attributes:
        id: The record's id.
        kind: The record's kind (``"lead"``); a change never alters it.
        title: The record's title.
        stage: The workflow stage id, or None when its kind has no workflow.
        owner: The owner's user name, or None (unowned, or waiting in a pool).
        pool: The name of the pool holding the record, or None.
        archived: True once the record is archived.
        fields: Every field value the record holds (a field without a value is absent).
    """

    id: int
    kind: str
    title: str
    stage: str | None
    owner: str | None
    pool: str | None
    archived: bool
    fields: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        """Refuse contract v1's ``change.after["fields"]``, saying what replaced it."""
        # v1's before/after were diffs whose shape depended on the action; answering
        # with the whole record instead would silently change what such plugins see.
        raise TypeError(
            f"RecordChange.before/after are RecordSnapshot objects since plugin contract v2, "
            f"not dicts: read change.after.{key if key in _SNAPSHOT_KEYS else 'fields'} "
            f"and test `name in change.changed` (see crm_core.hookspecs.crm_record_changed)"
        )

    def get(self, key: str, default: Any = None) -> Any:
        """Refuse contract v1's ``change.after.get("title")``, as :meth:`__getitem__` does."""
        del default
        return self[key]


_SNAPSHOT_KEYS = {"id", "kind", "title", "stage", "owner", "pool", "archived", "fields"}


def changed_keys(before: RecordSnapshot | None, after: RecordSnapshot) -> frozenset[str]:
    """The keys of :attr:`RecordChange.changed`: what differs between ``before`` and ``after``.

    On a create (``before`` is None) every key the new record has a value for.
    """
    keys: set[str] = set()
    for name in ("title", "stage", "owner", "pool", "archived"):
        now = getattr(after, name)
        if (getattr(before, name) if before is not None else None) != now and (
            before is not None or now not in (None, False)
        ):
            keys.add(name)
    was = before.fields if before is not None else {}
    now = after.fields
    keys.update(f"fields.{k}" for k in set(was) | set(now) if was.get(k) != now.get(k))
    return frozenset(keys)


@dataclasses.dataclass(frozen=True)
class RecordChange(View):
    """A change to one record, handed to ``crm_record_changed`` hooks.

    Every action has the same shape: the whole record before and after the
    change, and the set of what changed.

    Attributes:
        record_id: The record's id.
        kind: The record's kind.
        action: What happened: ``create``, ``update``, ``merge``, ``assign``,
            ``reassign``, ``claim``, ``release``, ``return``, ``rotate``,
            ``move``, ``archive`` (imports are ``create`` or ``merge``, a
            workflow's ``set`` is ``update``).
        before: The record before the change; None on ``create``.
        after: The record after the change.
        changed: What differs between ``before`` and ``after``: ``"title"``,
            ``"stage"``, ``"owner"``, ``"pool"``, ``"archived"`` and
            ``"fields.NAME"`` for each field set, changed or cleared. On
            ``create``, every key the new record has a value for.
        actor: The acting user's name; None for the scheduler.
        cause: Why: ``user:NAME``, ``workflow:NAME…``, ``import:FILE``…

    In contract v1 ``before`` and ``after`` were dicts holding only what
    changed (``{"fields": {"age": 9}}``, ``{"owner_id": 2}``); indexing a
    :class:`RecordSnapshot` (``change.after["fields"]``) now raises a
    ``TypeError`` that says so, instead of answering with another shape.
    """

    record_id: int
    kind: str
    action: str
    before: RecordSnapshot | None
    after: RecordSnapshot
    changed: frozenset[str]
    actor: str | None
    cause: str


@dataclasses.dataclass
class UserView(View):
    """A user of the CRM."""

    id: int
    name: str
    role: str
    team: str | None
    active: bool
    away_until: datetime | None = None
    email: str | None = None
    phone: str | None = None


@dataclasses.dataclass
class TeamView(View):
    """A team and its members."""

    id: int
    name: str
    members: list[str]


@dataclasses.dataclass
class PoolView(View):
    """A public pool and its members."""

    id: int
    name: str
    members: list[str]
    admins: list[str]


@dataclasses.dataclass
class ContactView(View):
    """A person at a customer."""

    id: int
    record_id: int
    name: str
    phone: str | None
    email: str | None
    position: str | None


@dataclasses.dataclass
class DealView(View):
    """An opportunity; ``amount`` is exact.

    ``owner`` is the user working the deal (None: its record's owner's);
    ``closed_at`` is when it was won or lost, ``stage_entered_at`` when it
    entered its stage; ``record_title`` the title of its record, which the
    deal's owner may read even when the record is not theirs.
    """

    id: int
    record_id: int
    title: str
    amount: Decimal
    currency: str
    stage: str
    expected_close: date | None
    owner: str | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    stage_entered_at: datetime | None = None
    record_title: str | None = None


@dataclasses.dataclass(frozen=True)
class ActivityView(View):
    """A logged touchpoint, as ``crm_activity_logged`` receives it.

    Attributes:
        id: The activity's id.
        record_id: The record it was logged on.
        type: Its activity type (``call``, ``visit``, ``complaint``, a plugin's own…).
        note: Free text, or None.
        actor: The user who logged it, or None.
        occurred_at: When it happened (may be earlier than it was logged).
        data: What the type records beyond a note (a feedback's ``score``…), as JSON.
    """

    id: int
    record_id: int
    type: str
    note: str | None
    actor: str | None
    occurred_at: datetime
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class TaskView(View):
    """A reminder for one user."""

    id: int
    record_id: int | None
    assignee: str
    due_at: datetime
    note: str
    done_at: datetime | None
    cause: str | None


@dataclasses.dataclass
class JournalEntry(View):
    """One journal row, with the actor's name resolved.

    ``users`` names the users that ``before`` and ``after`` give by id (an
    owner, an assignee, a pool's members), so a reader sees names, not ids.
    """

    id: int
    at: datetime
    actor: str | None
    cause: str
    entity: str
    entity_id: int
    record_id: int | None
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None = None
    users: dict[int, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class WorkflowView(View):
    """A workflow applied to a kind."""

    id: int
    name: str
    kind: str
    version: int
    stages: list[str]
    applied_at: datetime
    stage_labels: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class KindScope(View):
    """Whether a reader sees any record of a kind, and how many exist when they see none.

    ``existing`` counts every live record of the kind, and is given only to
    managers and admins, only when ``visible`` is false: an operator learns
    nothing about records outside their scope.
    """

    kind: str
    visible: bool
    existing: int | None = None

    def empty_note(self, noun: str) -> Message | None:
        """What a screen says instead of an empty chart or card (None: there is something).

        ``noun`` is the kind's plural as the sentence uses it (``_("accounts")``,
        marked so that it is translated too): "No accounts yet.", "No accounts
        visible to you (2,000 exist)." for a manager, "No accounts in your scope
        (yours or your pools')." for an operator. Show it with ``.render()``.
        """
        if self.visible:
            return None
        if self.existing is None:
            return _("No {noun} in your scope (yours or your pools').", noun=noun)
        if self.existing == 0:
            return _("No {noun} yet.", noun=noun)
        return _("No {noun} visible to you ({count} exist).", noun=noun,
                 count=f"{self.existing:,}")  # fmt: skip


@dataclasses.dataclass
class StageMove(View):
    """Another stage of a record's workflow and whether the record may move there now.

    ``why_not`` holds the workflow's refusal (the moves allowed from here, a
    required field, a guard not met) when ``allowed`` is false. ``behind``
    says the stage comes before the record's in pipeline order; ``order`` is
    its place there.
    """

    stage: str
    allowed: bool
    why_not: str | None
    behind: bool
    order: int


@dataclasses.dataclass
class PoolEntry(View):
    """A record waiting in a pool, how it came back, and whether the reader may claim it now.

    ``not_claimable_because`` is None when the reader may claim it now; else it
    says why not (``held by you until …``, the day's claims used up, the most
    records held), and ``claimable_from`` when that passes by itself (None: not
    until the reader holds fewer records).
    """

    record_id: int
    kind: str
    title: str
    stage: str | None
    since: datetime | None
    how: str | None
    cause: str | None
    reason: str | None
    claimable_from: datetime | None = None
    not_claimable_because: str | None = None


@dataclasses.dataclass
class PoolPage(View):
    """One page of a pool, with what the reader may still claim from it."""

    pool: str
    total: int
    allowance: dict[str, Any]
    entries: list[PoolEntry]


@dataclasses.dataclass
class RecordPage(View):
    """One page of a record list; ``next`` is the cursor of the following page, if any."""

    records: list[RecordView]
    next: str | None


@dataclasses.dataclass
class WorkItem(View):
    """One of an operator's records, with the due time of its next open task."""

    record: RecordView
    next_due: datetime | None


@dataclasses.dataclass
class MyWork(View):
    """An operator's day: open reminders by due time, then records by next action."""

    tasks: list[TaskView]
    records: list[WorkItem]


@dataclasses.dataclass
class SavedFilterView(View):
    """A user's named list filter: what the Records list had set when it was saved.

    ``filters`` holds the list's settings by name (``kind``, ``search``,
    ``stage``, ``owner``, ``pool``, ``where`` as ``FIELD=VALUE`` text, ``sort``).
    """

    id: int
    name: str
    filters: dict[str, Any]
    created_at: datetime


@dataclasses.dataclass
class BulkResult(View):
    """What one record of a bulk action became: the record after it, or why it was refused."""

    record_id: int
    record: RecordView | None
    error: str | None
    tasks_moved: int = 0

    @property
    def ok(self) -> bool:
        """True when the action was done for this record."""
        return self.error is None


@dataclasses.dataclass
class TalkingPoints(View):
    """What to say on a call about a record in its stage, from the plugins that give it.

    ``points`` are lines as ``{"en": ..., "zh": ...}``, in the order the
    plugins registered them; empty when no plugin has points for the stage.
    """

    record_id: int
    kind: str
    stage: str | None
    points: list[dict[str, str]]
