"""Writing a batch of new records set-based: records, dedupe keys and ``create`` journal rows.

No ORM object is made per row. The ids are taken first (the next ids on
SQLite, whose write lock the transaction holds; the record sequence on
PostgreSQL); the rows go into a temporary table with one executemany of
plain tuples (COPY on PostgreSQL); then one ``INSERT … SELECT`` writes the
records, one executemany (COPY) their dedupe keys, and one ``INSERT …
SELECT`` their journal rows, whose ``after`` is built by the database from
the staged row the record was stored from, so it is exactly the state
:func:`crm_core.journal.record_state` gives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring_ascii
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    cast,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from crm_core.db import insert_rows, unique_violation
from crm_core.errors import Conflict
from crm_core.i18n import _
from crm_core.journal import json_object
from crm_core.models import Record
from crm_core.records import WriteContext, changed_in_bulk
from crm_core.transfer.rows import Candidate

RECORD = Record.metadata.tables["record"]
JOURNAL = Record.metadata.tables["journal"]
_metadata = MetaData()
STAGED = Table(
    "crm_import_rows",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String),
    Column("stage", String),
    Column("owner_id", Integer),
    Column("data", String),
    prefixes=["TEMPORARY"],
)
PG_IDS = "SELECT nextval(pg_get_serial_sequence('record', 'id')) FROM generate_series(1, :n)"


def _c_dump() -> Callable[[dict[str, Any]], str]:
    try:
        from _json import make_encoder
    except ImportError:  # a Python without the C accelerator
        return json.dumps
    encoder = make_encoder(
        None, json.JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ", False, False,
        True,
    )  # fmt: skip

    def dump(values: dict[str, Any]) -> str:
        return "".join(encoder(values, 0))

    return dump


dump = _c_dump()
"""``json.dumps`` of a record's fields, character for character, about twice as fast.

``json.dumps`` builds its C encoder anew for every call; this one is built
once with the same settings (ASCII escapes, ``", "`` and ``": "``, NaN allowed,
keys in insertion order). It skips the check for circular references: field
values come from a file or JSON and cannot refer to themselves.
"""


def take_ids(connection: Connection, count: int) -> list[int]:
    """``count`` unused record ids, in increasing order."""
    if connection.dialect.name == "postgresql":
        return sorted(connection.execute(text(PG_IDS), {"n": count}).scalars())
    top = connection.execute(select(func.max(RECORD.c.id))).scalar() or 0
    return list(range(top + 1, top + 1 + count))


def create(ctx: WriteContext, kind: str, new: Sequence[Candidate]) -> list[int]:
    """Insert ``new`` as records of ``kind`` with their keys and journal rows; return their ids.

    The candidates are checked already, against the database and each other;
    a key taken meanwhile by another connection (PostgreSQL) is refused with
    :class:`Conflict`, and the batch rolls back.
    """
    if not new:
        return []
    connection = ctx.session.connection()
    ids = take_ids(connection, len(new))
    STAGED.create(connection, checkfirst=True)
    # TRUNCATE on PostgreSQL: a DELETE leaves the last batch's rows dead in the table, and
    # the planner, reading its size, expects more rows every batch.
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("TRUNCATE crm_import_rows")
    else:
        connection.execute(STAGED.delete())
    rows = [
        (i, c.title, c.stage, c.owner_id, dump(c.values)) for i, c in zip(ids, new, strict=True)
    ]
    insert_rows(connection, "crm_import_rows (id, title, stage, owner_id, data)", rows)
    _insert_records(ctx, connection, kind)
    # In index order, so each B-tree page is visited once per batch, not once per key.
    keys = sorted((kind, f, v, i) for i, c in zip(ids, new, strict=True) for f, v in c.keys.items())
    if keys:
        try:
            insert_rows(connection, "dedupe_key (kind, field, value, record_id)", keys)
        except (IntegrityError, unique_violation()):
            raise Conflict(
                _(
                    "another user added a record with the same dedupe key while this batch was "
                    "written; run the import again (rows already imported are found as duplicates)"
                )
            ) from None
    _insert_journal(ctx, connection, kind)
    return ids


def _insert_records(ctx: WriteContext, connection: Connection, kind: str) -> None:
    """One ``INSERT … SELECT`` of the staged rows into ``record``, filled as ``create`` does."""
    now = literal(ctx.now, RECORD.c.created_at.type)
    never = literal(None, RECORD.c.created_at.type)
    data = STAGED.c.data
    values: dict[str, Any] = {
        "id": STAGED.c.id,
        "kind": literal(kind),
        "title": STAGED.c.title,
        "stage": STAGED.c.stage,
        "owner_id": STAGED.c.owner_id,
        "pool_id": literal(None, Integer),
        "data": cast(data, JSONB) if connection.dialect.name == "postgresql" else data,
        "created_at": now,
        "updated_at": now,
        "stage_entered_at": now,
        "last_activity_at": never,
        "archived_at": never,
        "created_by": literal(ctx.actor.id if ctx.actor else None, Integer),
        "version": literal(1),
        "assigned_at": never,
        "rotations": literal(0),
    }
    rows = select(*values.values()).order_by(STAGED.c.id)
    connection.execute(insert(RECORD).from_select(list(values), rows))


def _insert_journal(ctx: WriteContext, connection: Connection, kind: str) -> None:
    """One ``create`` journal row per staged record, its ``after`` built from the staged row.

    The staged row is what the record was stored from (its ``data`` parsed
    the same way), so the state is the stored record's. Reading the staged
    table alone keeps the statement from joining ``record``, which grows with
    every batch and whose statistics a long import outruns.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        fields: Any = cast(STAGED.c.data, JSONB)
        archived: Any = literal(False)
    else:
        fields, archived = func.json(STAGED.c.data), func.json(literal("false"))
    state = json_object(
        dialect,
        kind=literal(kind),
        title=STAGED.c.title,
        stage=STAGED.c.stage,
        owner_id=STAGED.c.owner_id,
        pool_id=literal(None, Integer),
        archived=archived,
        fields=fields,
    )
    values: dict[str, Any] = {
        "at": literal(ctx.now, JOURNAL.c.at.type),
        "actor_id": literal(ctx.actor.id if ctx.actor else None, Integer),
        "cause": literal(ctx.cause),
        "entity": literal("record"),
        "entity_id": STAGED.c.id,
        "record_id": STAGED.c.id,
        "action": literal("create"),
        "reason": literal(None, String),
        "before": literal(None, JOURNAL.c.before.type),  # JSON null, as the ORM writes it
        "after": state,
    }
    rows = select(*values.values()).order_by(STAGED.c.id)
    connection.execute(insert(JOURNAL).from_select(list(values), rows))


def notify(ctx: WriteContext, kind: str, ids: list[int], new: Sequence[Candidate]) -> None:
    """Call ``crm_record_changed`` for each new record, if any plugin listens."""
    if not ctx.host.implemented("crm_record_changed"):
        return
    changes = ((i, None, state(kind, c), ctx.cause) for i, c in zip(ids, new, strict=True))
    changed_in_bulk(ctx, kind, "create", changes)


def state(kind: str, candidate: Candidate) -> dict[str, Any]:
    """The journal state of a newly created record (as :func:`journal.record_state` has it)."""
    return {
        "kind": kind,
        "title": candidate.title,
        "stage": candidate.stage,
        "owner_id": candidate.owner_id,
        "pool_id": None,
        "archived": False,
        "fields": dict(candidate.values),
    }
