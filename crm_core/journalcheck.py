"""Checking the journal against the live tables: ``crm journal verify``.

The record table and the record rows of the journal are both read in record
id order, streamed, and merged: each record's rows are replayed
(:func:`crm_core.journal.replay` does the same for all at once) and the state
they give is compared with the stored row, so memory stays flat however many
records there are.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlmodel
from sqlalchemy import select
from sqlmodel import Session

from crm_core import journal
from crm_core.models import Pool, Record, User
from crm_core.views import View

BATCH = 5000
JOURNAL = Record.metadata.tables["journal"]
RECORD = Record.metadata.tables["record"]
# What a difference line calls each tracked key.
LABELS = {"kind": "kind", "title": "title", "owner_id": "owner", "pool_id": "pool",
          "stage": "stage", "archived": "archived"}  # fmt: skip


@dataclass
class JournalCheck(View):
    """The outcome of replaying the journal against the tables: one line per difference."""

    records: int
    rows: int
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the journal and the tables agree on every record."""
        return not self.differences


def check(session: Session) -> JournalCheck:
    """Replay every record's journal rows and compare them with the record table."""
    users = {u.id: u.name for u in session.exec(sqlmodel.select(User)).all()}
    pools = {p.id: p.name for p in session.exec(sqlmodel.select(Pool)).all()}
    names: dict[str, dict[Any, str]] = {"owner_id": users, "pool_id": pools}
    stream = session.connection().execution_options(stream_results=True, yield_per=BATCH)
    live = stream.execute(
        select(RECORD.c.id, RECORD.c.kind, RECORD.c.title, RECORD.c.stage, RECORD.c.owner_id,
               RECORD.c.pool_id, RECORD.c.archived_at, RECORD.c.data).order_by(RECORD.c.id)
    )  # fmt: skip
    logged = stream.execute(
        select(JOURNAL.c.entity_id, JOURNAL.c.action, JOURNAL.c.after)
        .where(JOURNAL.c.entity == "record", JOURNAL.c.after.is_not(None))
        .order_by(JOURNAL.c.entity_id, JOURNAL.c.id)
    )
    result = JournalCheck(0, 0)
    replayer = _Replayer(logged, result)
    tables = ((r.id, _table_state(r)) for r in live)
    for record_id, replayed, stored in _merge(replayer.states(), tables):
        if stored is not None:
            result.records += 1
        result.differences += _compare(record_id, replayed, stored, names)
    return result


class _Replayer:
    """Replays the journal stream record by record, counting the rows it reads."""

    def __init__(self, rows: Any, result: JournalCheck) -> None:
        self.rows = rows
        self.result = result

    def states(self) -> Iterator[tuple[int, dict[str, Any] | str]]:
        """Yield (record id, replayed state, or why it cannot be replayed) in id order."""
        for record_id, group in itertools.groupby(self.rows, key=lambda r: r.entity_id):
            state: dict[str, Any] | str | None = None
            for row in group:
                self.result.rows += 1
                if row.action == "create":
                    state = journal.start(row.after)
                elif isinstance(state, dict):
                    journal.apply(state, row.after)
                elif state is None:
                    state = f"journal rows start with {row.action}, not create"
            assert state is not None
            yield record_id, state


def _table_state(row: Any) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "title": row.title,
        "stage": row.stage,
        "owner_id": row.owner_id,
        "pool_id": row.pool_id,
        "archived": row.archived_at is not None,
        # Data written behind the API may not be an object: shown as it is, never a crash.
        "fields": dict(row.data) if isinstance(row.data, dict) else {"(not an object)": row.data},
    }


_END = (float("inf"), None)


def _merge(
    replayed: Iterator[tuple[int, dict[str, Any] | str]],
    stored: Iterator[tuple[int, dict[str, Any]]],
) -> Iterator[tuple[int, dict[str, Any] | str | None, dict[str, Any] | None]]:
    """Pair both id-ordered streams by record id; a side without the id gives None."""
    left: tuple[Any, Any] = next(replayed, _END)
    right: tuple[Any, Any] = next(stored, _END)
    while left is not _END or right is not _END:
        if left[0] == right[0]:
            yield left[0], left[1], right[1]
            left, right = next(replayed, _END), next(stored, _END)
        elif left[0] < right[0]:
            yield left[0], left[1], None
            left = next(replayed, _END)
        else:
            yield right[0], None, right[1]
            right = next(stored, _END)


def _compare(
    record_id: int,
    replayed: dict[str, Any] | str | None,
    stored: dict[str, Any] | None,
    names: dict[str, dict[Any, str]],
) -> list[str]:
    if stored is None:
        return [f"#{record_id} is in the journal but not in the record table"]
    if replayed is None:
        return [f"#{record_id} has no journal rows"]
    if isinstance(replayed, str):
        return [f"#{record_id} {replayed}"]
    out = []
    for key, label in LABELS.items():
        said, has = replayed.get(key), stored[key]
        if said != has:
            lookup = names.get(key, {})
            out.append(
                f"#{record_id} {label}: journal says {_show(said, lookup)}, "
                f"table says {_show(has, lookup)}"
            )
    said_fields, has_fields = replayed.get("fields", {}), stored["fields"]
    for name in sorted(set(said_fields) | set(has_fields)):
        said, has = said_fields.get(name), has_fields.get(name)
        if said != has:
            out.append(
                f"#{record_id} field {name}: journal says {_show(said, {})}, "
                f"table says {_show(has, {})}"
            )
    return out


def _show(value: Any, lookup: dict[Any, str]) -> str:
    """A value as a difference line shows it: a user or pool by name, none, yes/no, JSON."""
    if value is None:
        return "none"
    if lookup and value in lookup:
        return lookup[value]
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
