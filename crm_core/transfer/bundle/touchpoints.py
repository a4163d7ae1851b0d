"""The import entities of the work done: activities (with their time) and tasks.

Both are written set-based: one insert for a batch's rows and one for their
journal rows; an activity moves its record's last activity time forward.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_core.transfer.bundle.entity import (
    TABLES,
    ImportContext,
    KeyedByExternalId,
    Keys,
    Row,
    Target,
    insert_returning,
    jsonable,
)

ACTIVITY = TABLES["activity"]
TASK = TABLES["task"]
RECORD = TABLES["record"]
USER_BY = ("name", "email", "external_id")


class _ByExternalId(KeyedByExternalId):
    """A touchpoint entity: written set-based, with its references exported as keys."""

    refs: ClassVar[dict[str, str]]  # reference field -> the entity it names

    def _insert(self, ctx: ImportContext, rows: list[Row], extra: dict[str, Any]) -> list[int]:
        values = [{self.columns[k]: v for k, v in r.values.items()} | extra for r in rows]
        ids = insert_returning(ctx.session, self.table, values)
        for row, row_id in zip(rows, ids, strict=True):
            row.id = row_id
            after = {"id": row_id, **jsonable(row.values)}
            ctx.journal(self.name, row_id, row.values.get("record"), "create", None, after,
                        line=row.line)  # fmt: skip
        return ids

    def update(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Write the rows' changed fields and journal them."""
        for row in rows:
            assert row.before is not None and row.id is not None
            ctx.session.execute(
                sa.update(self.table).where(self.table.c.id == row.id)
                .values({self.columns[k]: v for k, v in row.values.items()})
            )  # fmt: skip
            before = jsonable({k: row.before.get(k) for k in row.values})
            ctx.journal(self.name, row.id, row.before.get("record"), "update", before,
                        jsonable(row.values), line=row.line)  # fmt: skip

    def rows(self, session: Session, kind: str | None) -> Iterator[dict[str, Any]]:
        """Every row, in target names."""
        keys = Keys(session)
        for row in session.execute(sa.select(self.table).order_by(self.table.c.id)).mappings():
            out = {t: row[c] for t, c in self.columns.items()}
            out["external_id"] = row["external_id"] or f"crm:{row['id']}"
            out.update({name: keys.of(entity, out[name]) for name, entity in self.refs.items()})
            yield out


class ActivityEntity(_ByExternalId):
    """Touchpoints on records: type, note, actor and the time they happened."""

    name = "activity"
    table = ACTIVITY
    refs: ClassVar[dict[str, str]] = {"record": "record", "actor": "user"}
    columns: ClassVar[dict[str, str]] = {
        "external_id": "external_id",
        "record": "record_id",
        "type": "type",
        "note": "note",
        "actor": "actor_id",
        "occurred_at": "occurred_at",
    }

    def targets(self, registry: Any, kind: str | None) -> dict[str, Target]:
        """An activity's fields; the type is one the plugins registered."""
        return {
            "external_id": Target("external_id"),
            "record": Target("record", "ref", required=True, ref="record"),
            "type": Target("type", required=True, choices=tuple(registry.activity_types)),
            "note": Target("note"),
            "actor": Target("actor", "ref", ref="user", by=USER_BY),
            "occurred_at": Target("occurred_at", "datetime", required=True),
        }

    def create(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Insert the activities; move each record's last activity time to its latest."""
        self._insert(ctx, rows, {"data": {}})
        latest: dict[int, Any] = {}
        for row in rows:
            record_id, at = row.values["record"], row.values["occurred_at"]
            if record_id not in latest or latest[record_id] < at:
                latest[record_id] = at
        for record_id, at in latest.items():
            ctx.session.execute(
                sa.update(RECORD)
                .where(RECORD.c.id == record_id)
                .where(sa.or_(RECORD.c.last_activity_at.is_(None), RECORD.c.last_activity_at < at))
                .values(last_activity_at=at)
            )


class TaskEntity(_ByExternalId):
    """Tasks: for whom, about which record, when due, what, and when done."""

    name = "task"
    table = TASK
    refs: ClassVar[dict[str, str]] = {"record": "record", "assignee": "user"}
    columns: ClassVar[dict[str, str]] = {
        "external_id": "external_id",
        "record": "record_id",
        "assignee": "assignee_id",
        "due_at": "due_at",
        "note": "note",
        "done_at": "done_at",
    }

    def targets(self, registry: Any, kind: str | None) -> dict[str, Target]:
        """A task's fields."""
        return {
            "external_id": Target("external_id"),
            "record": Target("record", "ref", ref="record"),
            "assignee": Target("assignee", "ref", required=True, ref="user", by=USER_BY),
            "due_at": Target("due_at", "datetime", required=True),
            "note": Target("note", required=True),
            "done_at": Target("done_at", "datetime"),
        }

    def create(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Insert the tasks, created by the importing admin."""
        extra = {"created_by": ctx.actor_id, "created_at": ctx.now}
        values = [{self.columns[k]: v for k, v in r.values.items()} | extra
                  | {"cause": ctx.cause(r.line)} for r in rows]  # fmt: skip
        for row, row_id in zip(rows, insert_returning(ctx.session, TASK, values), strict=True):
            row.id = row_id
            after = {"id": row_id, **jsonable(row.values)}
            ctx.journal("task", row_id, row.values.get("record"), "create", None, after,
                        line=row.line)  # fmt: skip
