"""The import entities of the customers: records of a kind (with their history) and contacts.

Records are written through :func:`crm_core.records.create` and
:func:`~crm_core.records.change`, as every other write path: the kind's
schema, the plugins' rules and dedupe keys apply, and the journal replays
(``crm journal verify``). Each step of a record's history is written with the
source's time as "now", so the journal rows carry it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_core import records
from crm_core.errors import CrmError, PluginError
from crm_core.fieldsql import field_text
from crm_core.models import Record
from crm_core.transfer.bundle.entity import (
    TABLES,
    ImportContext,
    ImportEntity,
    KeyedByExternalId,
    Keys,
    Rejection,
    Row,
    Target,
    insert_returning,
)
from crm_core.transfer.bundle.history import timeline
from crm_core.workflow import engine

RECORD = TABLES["record"]
CONTACT = TABLES["contact"]
KEY = TABLES["dedupe_key"]
TIMES = ("created_at", "stage_entered_at", "last_activity_at")
STATE = ("title", "stage", "owner", "pool", *TIMES)


def stages_of(session: Session, kind: str) -> list[str] | None:
    """The stages of the workflow applied to ``kind``, None when none is."""
    workflow = engine.applied(session, kind)  # type: ignore[arg-type]
    return [s["id"] for s in workflow.definition["stages"]] if workflow else None


class RecordEntity(ImportEntity):
    """Records of one kind: its fields, title, stage, owner, pool and their times."""

    name = "record"
    kinds = True

    def targets(self, registry: Any, kind: str | None) -> dict[str, Target]:
        """The kind's fields, then the record's own."""
        assert kind is not None
        out = {"external_id": Target("external_id")}
        out.update({name: Target(name, "field") for name in registry.kind(kind).fields})
        out.update({
            "title": Target("title"), "stage": Target("stage"),
            "owner": Target("owner", "ref", ref="user", by=("name", "email", "external_id")),
            "pool": Target("pool", "ref", ref="pool", by=("name",)),
            **{t: Target(t, "datetime") for t in TIMES},
        })  # fmt: skip
        return out

    def natural_key(self, registry: Any, kind: str | None) -> str:
        """The kind's first dedupe field (else its first field)."""
        fields = registry.kind(kind).fields
        return next((n for n, f in fields.items() if f.dedupe), next(iter(fields)))

    def key_fields(self, registry: Any, kind: str | None) -> tuple[str, ...]:
        """External id or any of the kind's fields."""
        return ("external_id", *registry.kind(kind).fields)

    def find(self, session: Session, kind: str | None, by: str, values: list[str]) -> Any:
        """Live records of ``kind`` by external id, a dedupe key, or a field's value."""
        assert kind is not None
        live = [RECORD.c.kind == kind, RECORD.c.archived_at.is_(None)]
        if by == "external_id":
            query = sa.select(RECORD.c.external_id, RECORD.c.id).where(*live)
            return _chunked(session, query, RECORD.c.external_id, values)
        dialect = session.get_bind().dialect.name
        spec = self.registry.kind(kind).fields[by]
        if spec.dedupe:
            keys: dict[str, str] = {}
            for value in values:
                try:
                    keys[self.registry.normalize(spec.dedupe, value)] = value
                except ValueError:
                    continue
            query = sa.select(KEY.c.value, KEY.c.record_id).where(
                KEY.c.kind == kind, KEY.c.field == by
            )
            found = _chunked(session, query, KEY.c.value, list(keys))
            return {keys[k]: record_id for k, record_id in found.items()}
        column = field_text(dialect, by)
        query = sa.select(column, RECORD.c.id).where(*live)
        return _chunked(session, query, column, values)

    def current(self, session: Session, kind: str | None, ids: list[int]) -> Any:
        """Stored records: their fields and own values, in target names."""
        out = {}
        for row in session.execute(sa.select(RECORD).where(RECORD.c.id.in_(ids))).mappings():
            values = dict(row["data"])
            values.update({"external_id": row["external_id"], "title": row["title"],
                           "stage": row["stage"], "owner": row["owner_id"],
                           "pool": row["pool_id"], **{t: row[t] for t in TIMES}})  # fmt: skip
            out[row["id"]] = values
        return out

    def check(self, ctx: ImportContext, kind: str | None, row: Row) -> Rejection | None:
        """A stage must be one of the applied workflow's."""
        assert kind is not None
        stages = _cached_stages(ctx, kind)
        stage = row.values.get("stage")
        if stages is not None and stage is not None and stage not in stages:
            return Rejection("stage", f"unknown stage '{stage}' (stages: {', '.join(stages)})",
                             True)  # fmt: skip
        return None

    def create(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Create each record at its created time and walk it through its history."""
        assert kind is not None and ctx.write is not None
        stages = _cached_stages(ctx, kind)
        fields = ctx.registry.kind(kind).fields
        for row in rows:
            given = {k: v for k, v in row.values.items() if k in fields}
            steps = timeline(
                row.values.get("created_at"), stages[0] if stages else None, row.history,
                row.values.get("stage"), row.values.get("stage_entered_at"),
                ctx.cause(row.line), ctx.now,
            )  # fmt: skip
            try:
                with ctx.session.begin_nested():
                    record = self._walk(ctx, kind, row, given, steps)
            except PluginError:
                raise
            except CrmError as exc:
                row.problem = str(exc)
                continue
            row.id = record.id

    def _walk(
        self,
        ctx: ImportContext,
        kind: str,
        row: Row,
        given: dict[str, Any],
        steps: list[tuple[str | None, datetime, str]],
    ) -> Record:
        (stage, since, cause), *moves = steps
        write = replace(ctx.write, now=since, cause=cause)
        record = records.create(
            write, kind, given, title=row.values.get("title"),
            owner_id=row.values.get("owner"), pool_id=row.values.get("pool"), stage=stage,
        )  # fmt: skip
        for stage, at, why in moves:
            records.change(replace(ctx.write, now=at, cause=why), record, "move", stage=stage)
        record.external_id = row.values.get("external_id")
        if "stage_entered_at" in row.values:
            record.stage_entered_at = row.values["stage_entered_at"]
        record.last_activity_at = row.values.get("last_activity_at")
        ctx.session.add(record)
        ctx.session.flush()
        return record

    def update(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Change each record's changed values through :func:`crm_core.records.change`."""
        assert kind is not None and ctx.write is not None
        write = replace(ctx.write, now=ctx.now)
        fields = ctx.registry.kind(kind).fields
        for row in rows:
            record = ctx.session.get(Record, row.id)
            assert record is not None
            values = {k: v for k, v in row.values.items() if k in fields}
            changes: dict[str, Any] = {k: row.values[k] for k in ("title", "stage")
                                       if k in row.values}  # fmt: skip
            if "owner" in row.values:
                changes["owner_id"] = row.values["owner"]
            if "pool" in row.values:
                changes["pool_id"] = row.values["pool"]
            try:
                with ctx.session.begin_nested():
                    records.change(replace(write, cause=ctx.cause(row.line)), record, "update",
                                   values=values, **changes)  # fmt: skip
                    for name in ("external_id", *TIMES):
                        if name in row.values:
                            setattr(record, name, row.values[name])
                    ctx.session.add(record)
                    ctx.session.flush()
            except PluginError:
                raise
            except CrmError as exc:
                row.problem = str(exc)

    def rows(self, session: Session, kind: str | None) -> Iterator[dict[str, Any]]:
        """Every live record of ``kind``."""
        keys = Keys(session)
        query = sa.select(RECORD).where(RECORD.c.kind == kind, RECORD.c.archived_at.is_(None))
        for row in session.execute(query.order_by(RECORD.c.id)).mappings():
            yield {
                "external_id": row["external_id"] or f"crm:{row['id']}",
                **row["data"],
                "title": row["title"],
                "stage": row["stage"],
                "owner": keys.of("user", row["owner_id"]),
                "pool": keys.of("pool", row["pool_id"]),
                **{t: row[t] for t in TIMES},
            }


def _cached_stages(ctx: ImportContext, kind: str) -> list[str] | None:
    key = f"stages:{kind}"
    if key not in ctx.memo:
        ctx.memo[key] = stages_of(ctx.session, kind)
    stages: list[str] | None = ctx.memo[key]
    return stages


def _chunked(session: Session, query: Any, column: Any, values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(values), 500):
        for value, row_id in session.execute(query.where(column.in_(values[start : start + 500]))):
            out[str(value)] = row_id
    return out


class ContactEntity(KeyedByExternalId):
    """People at a record: name (required), phone, e-mail, position."""

    name = "contact"
    table = CONTACT
    columns: ClassVar[dict[str, str]] = {
        "external_id": "external_id",
        "record": "record_id",
        "name": "name",
        "phone": "phone",
        "email": "email",
        "position": "position",
    }

    def targets(self, registry: Any, kind: str | None) -> dict[str, Target]:
        """A contact's fields."""
        return {
            "external_id": Target("external_id"),
            "record": Target("record", "ref", required=True, ref="record"),
            "name": Target("name", required=True),
            "phone": Target("phone"), "email": Target("email"), "position": Target("position"),
        }  # fmt: skip

    def check(self, ctx: ImportContext, kind: str | None, row: Row) -> Rejection | None:
        """Phones and e-mails must be ones the normalisers accept."""
        for name in ("phone", "email"):
            if name in row.values:
                try:
                    ctx.registry.normalize(name, str(row.values[name]))
                except ValueError as exc:
                    return Rejection(name, str(exc))
        return None

    def create(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Insert the contacts in one statement."""
        values = [{self.columns[k]: v for k, v in r.values.items()} | {"created_at": ctx.now}
                  for r in rows]  # fmt: skip
        for row, contact_id in zip(rows, insert_returning(ctx.session, CONTACT, values),
                                   strict=True):  # fmt: skip
            row.id = contact_id
            after = {
                "id": contact_id,
                "record_id": row.values["record"],
                **{k: row.values.get(k) for k in ("name", "phone", "email", "position")},
            }
            ctx.journal("contact", contact_id, row.values["record"], "create", None, after,
                        line=row.line)  # fmt: skip

    def update(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Write the contacts' changed fields."""
        for row in rows:
            assert row.before is not None and row.id is not None
            before = {k: row.before.get(k) for k in row.values}
            ctx.session.execute(
                sa.update(CONTACT).where(CONTACT.c.id == row.id)
                .values({self.columns[k]: v for k, v in row.values.items()})
            )  # fmt: skip
            ctx.journal("contact", row.id, row.before["record"], "update", before,
                        dict(row.values), line=row.line)  # fmt: skip

    def rows(self, session: Session, kind: str | None) -> Iterator[dict[str, Any]]:
        """Every live contact."""
        keys = Keys(session)
        query = sa.select(CONTACT).where(CONTACT.c.archived_at.is_(None)).order_by(CONTACT.c.id)
        for row in session.execute(query).mappings():
            yield {
                **{t: row[c] for t, c in self.columns.items()},
                "external_id": row["external_id"] or f"crm:{row['id']}",
                "record": keys.of("record", row["record_id"]),
            }
