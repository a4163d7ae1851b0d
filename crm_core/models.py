"""The core's tables. Every timestamp is an aware UTC datetime (see ``db.UTCDateTime``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from crm_core.db import JsonType, UTCDateTime

ROLES = ("operator", "manager", "admin")


def _ts(nullable: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable))


class Team(SQLModel, table=True):
    """A group of users led by its managers."""

    __tablename__ = "team"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    created_at: datetime = _ts()
    region: str | None = None
    external_id: str | None = Field(default=None, unique=True, index=True)


class User(SQLModel, table=True):
    """A person who uses the CRM; ``role`` is operator, manager or admin."""

    __tablename__ = "crm_user"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    role: str
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    active: bool = True
    away_until: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    email: str | None = None
    phone: str | None = None
    external_id: str | None = Field(default=None, unique=True, index=True)


class Pool(SQLModel, table=True):
    """A named public pool (公海) that holds records nobody owns."""

    __tablename__ = "pool"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    created_at: datetime = _ts()


class PoolMember(SQLModel, table=True):
    """Membership of a user in a pool; pool admins manage it."""

    __tablename__ = "pool_member"
    pool_id: int = Field(foreign_key="pool.id", primary_key=True)
    user_id: int = Field(foreign_key="crm_user.id", primary_key=True)
    is_admin: bool = False


class Record(SQLModel, table=True):
    """A customer record of some kind; custom fields live in ``data``."""

    __tablename__ = "record"
    # Most of these let SQLite count from the index alone, without reading a row;
    # the migration that made each one says for what.
    __table_args__ = (
        Index("ix_record_kind_stage_live", "kind", "stage", "archived_at"),
        Index("ix_record_owner_open", "owner_id", "pool_id", "kind", "stage", "archived_at"),
        Index("ix_record_pool_live", "pool_id", "archived_at", "id"),
        Index("ix_record_kind_assigned", "kind", "assigned_at"),
        Index("ix_record_kind_created", "kind", "created_at", "archived_at"),
        Index("ix_record_kind_external_id", "kind", "external_id", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str
    title: str
    stage: str | None = None
    owner_id: int | None = Field(default=None, foreign_key="crm_user.id")
    pool_id: int | None = Field(default=None, foreign_key="pool.id")
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonType, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    stage_entered_at: datetime = _ts()
    last_activity_at: datetime | None = _ts(nullable=True)
    archived_at: datetime | None = _ts(nullable=True)
    created_by: int | None = Field(default=None, foreign_key="crm_user.id")
    version: int = 1
    assigned_at: datetime | None = _ts(nullable=True)
    rotations: int = 0
    external_id: str | None = None


class DedupeKey(SQLModel, table=True):
    """A normalised dedupe value; the primary key makes it unique per kind and field."""

    __tablename__ = "dedupe_key"
    kind: str = Field(primary_key=True)
    field: str = Field(primary_key=True)
    value: str = Field(primary_key=True)
    record_id: int = Field(foreign_key="record.id", index=True)


class Contact(SQLModel, table=True):
    """A person at a customer record."""

    __tablename__ = "contact"
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="record.id", index=True)
    name: str
    phone: str | None = None
    email: str | None = None
    position: str | None = None
    created_at: datetime = _ts()
    archived_at: datetime | None = _ts(nullable=True)
    external_id: str | None = Field(default=None, unique=True, index=True)


class Deal(SQLModel, table=True):
    """An opportunity on a record; money is kept in minor units to stay exact.

    ``owner_id`` is the person working the deal (accounts are worked by several);
    a deal without one is its record's owner's. ``closed_at`` is when it was won
    or lost, ``stage_entered_at`` when it entered its stage.
    """

    __tablename__ = "deal"
    __table_args__ = (
        Index("ix_deal_owner_stage", "owner_id", "stage"),
        Index("ix_deal_closed_at", "closed_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="record.id", index=True)
    title: str
    amount_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    currency: str = "CNY"
    stage: str = "open"
    expected_close: date | None = None
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    archived_at: datetime | None = _ts(nullable=True)
    owner_id: int | None = Field(default=None, foreign_key="crm_user.id")
    closed_at: datetime | None = _ts(nullable=True)
    stage_entered_at: datetime | None = _ts(nullable=True)
    external_id: str | None = Field(default=None, unique=True, index=True)


class Activity(SQLModel, table=True):
    """A touchpoint (call, visit, complaint…) logged on a record."""

    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_record_time", "record_id", "occurred_at"),)
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="record.id")
    type: str
    note: str | None = None
    actor_id: int | None = Field(default=None, foreign_key="crm_user.id")
    occurred_at: datetime = _ts()
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonType, nullable=False))
    external_id: str | None = Field(default=None, unique=True, index=True)


class Task(SQLModel, table=True):
    """A reminder or to-do with a due time, for one user, usually about one record."""

    __tablename__ = "task"
    __table_args__ = (Index("ix_task_assignee_due", "assignee_id", "done_at", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    record_id: int | None = Field(default=None, foreign_key="record.id", index=True)
    assignee_id: int = Field(foreign_key="crm_user.id")
    due_at: datetime = _ts()
    note: str
    done_at: datetime | None = _ts(nullable=True)
    created_by: int | None = Field(default=None, foreign_key="crm_user.id")
    cause: str | None = None
    created_at: datetime = _ts()
    external_id: str | None = Field(default=None, unique=True, index=True)


class Holding(SQLModel, table=True):
    """A past owner of a record: when and how the record left them (return, release, rotate…).

    Claim rules (no re-claim for N days) and rotation (next member who has not
    held it) read it.
    """

    __tablename__ = "holding"
    __table_args__ = (Index("ix_holding_record_user", "record_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="record.id")
    user_id: int = Field(foreign_key="crm_user.id")
    ended_at: datetime = _ts()
    how: str


class AssignCursor(SQLModel, table=True):
    """The persistent state of one assignment strategy (round-robin position, weights)."""

    __tablename__ = "assign_cursor"
    scope: str = Field(primary_key=True)
    state: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    updated_at: datetime = _ts()


class WorkflowDef(SQLModel, table=True):
    """The workflow applied to one kind: its checked YAML, as data."""

    __tablename__ = "workflow"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    kind: str = Field(unique=True)
    version: int
    definition: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    applied_at: datetime = _ts()
    applied_by: int | None = Field(default=None, foreign_key="crm_user.id")


class Journal(SQLModel, table=True):
    """One change: who, when, what before, what after, and the person or rule that caused it."""

    __tablename__ = "journal"
    __table_args__ = (
        Index("ix_journal_record", "record_id", "id"),
        Index("ix_journal_entity", "entity", "entity_id"),
        Index("ix_journal_actor_action", "actor_id", "action", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts()
    actor_id: int | None = Field(default=None, foreign_key="crm_user.id")
    cause: str
    entity: str
    entity_id: int
    record_id: int | None = None
    action: str
    reason: str | None = None
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))


class Outbox(SQLModel, table=True):
    """One notice for one delivery channel, written with the change that raised it.

    ``status`` is pending (waiting for ``next_attempt_at``), sending (claimed by
    a deliverer), sent, failed (given up, or retried by an admin) or skipped
    (the channel cannot reach the person; ``last_error`` says why).
    ``payload`` is what the channel needs, as it was when the notice was raised.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _ts()
    channel: str
    user_id: int = Field(foreign_key="crm_user.id")
    record_id: int | None = Field(default=None, foreign_key="record.id")
    message: str
    cause: str
    due_at: datetime = _ts()
    payload: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    last_error: str | None = None
    sent_at: datetime | None = _ts(nullable=True)


class SavedFilter(SQLModel, table=True):
    """A user's named set of list filters (kind, search, stage, owner, pool, field, sort).

    Each user has their own; the TUI's Records list saves and recalls them with ``f``.
    """

    __tablename__ = "saved_filter"
    __table_args__ = (Index("ix_saved_filter_user_name", "user_id", "name", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="crm_user.id")
    name: str
    filters: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    created_at: datetime = _ts()
