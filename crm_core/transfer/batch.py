"""What each valid row of a batch becomes: a new record, a skipped or refused duplicate, a merge.

The rows are taken in file order, as if each were added with ``add_record``
in turn: a row is a duplicate when one of its dedupe keys (in field order) is
held by a record in the database (which includes earlier batches of the same
file) or by an earlier row of this batch. The database is asked once per
dedupe field for all the batch's keys, in a statement written for the driver
(SQLAlchemy's expanding ``IN`` took longer than SQLite's lookups); on
PostgreSQL all the batch's keys are one join. A merge
fills only the fields the target record lacks, and the keys those fields
bring go to the target, so later rows see them, as with
``add_record(merge=True)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from crm_core import permissions
from crm_core.db import marks
from crm_core.errors import Duplicate, excerpt
from crm_core.models import Record
from crm_core.records import WriteContext
from crm_core.transfer.rows import Candidate, Problem, RowMaker

RECORD = Record.metadata.tables["record"]
USER = Record.metadata.tables["crm_user"]
CHUNK = 5000  # values per IN (...) list: well within SQLite's limit on bound parameters
MODES = ("skip", "merge", "refuse")


@dataclass(slots=True)
class Target:
    """A record a later row may duplicate: one in the database, or a new one of this batch."""

    record_id: int | None  # None until a new record is written
    owner: str | None
    data: dict[str, Any]  # its fields as the next merge will find them (only when merging)
    line: int | None = None  # the row that creates it, for a new record
    owner_id: int | None = None
    pool_id: int | None = None

    def describe(self, key_field: str, value: str) -> str:
        """The refusal text, as ``add_record`` words it (or naming the earlier line)."""
        if self.record_id is None:
            return f"duplicate of line {self.line} (same {key_field}: {excerpt(value)})"
        return str(Duplicate(self.record_id, self.owner, key_field, value))


@dataclass
class Merge:
    """A row merged into ``target``: the fields it fills."""

    candidate: Candidate
    target: Target
    filled: dict[str, Any]


@dataclass
class Outcome:
    """A batch classified: new records (with their targets), merges, problems."""

    new: list[tuple[Candidate, Target]] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: int = 0
    refused: int = 0


def held_keys(
    ctx: WriteContext, kind: str, candidates: list[Candidate]
) -> dict[tuple[str, str], int]:
    """The records in the database that hold any key of ``candidates``: (field, key) -> id."""
    wanted: dict[str, set[str]] = {}
    for candidate in candidates:
        for name, value in candidate.keys.items():
            wanted.setdefault(name, set()).add(value)
    connection = ctx.session.connection()
    if connection.dialect.name == "postgresql":
        return _held_by_join(connection, kind, wanted)
    mark = marks(connection, 1)
    found: dict[tuple[str, str], int] = {}
    for name, values in wanted.items():
        ordered = sorted(values)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            rows = connection.exec_driver_sql(
                f"SELECT value, record_id FROM dedupe_key WHERE kind = {mark} AND field = {mark} "
                f"AND value IN ({marks(connection, len(chunk))})",
                (kind, name, *chunk),
            )
            for value, record_id in rows:
                found[(name, value)] = record_id
    return found


def _held_by_join(
    connection: Connection, kind: str, wanted: dict[str, set[str]]
) -> dict[tuple[str, str], int]:
    """:func:`held_keys` on PostgreSQL: every key of the batch, of every field, in two arrays,
    joined with ``dedupe_key`` in one statement (its primary key index answers each)."""
    pairs = sorted((name, value) for name, values in wanted.items() for value in values)
    if not pairs:
        return {}
    rows = connection.exec_driver_sql(
        "SELECT d.field, d.value, d.record_id "
        "FROM unnest(%s::text[], %s::text[]) AS k(field, value) "
        "JOIN dedupe_key d ON d.kind = %s AND d.field = k.field AND d.value = k.value",
        ([p[0] for p in pairs], [p[1] for p in pairs], kind),
    )
    return {(name, value): record_id for name, value, record_id in rows}


def load_targets(ctx: WriteContext, ids: set[int], with_data: bool) -> dict[int, Target]:
    """The database records ``ids`` as targets: owner (and their fields for merging)."""
    connection = ctx.session.connection()
    columns = [RECORD.c.id, USER.c.name, RECORD.c.owner_id, RECORD.c.pool_id]
    if with_data:
        columns.append(RECORD.c.data)
    joined = RECORD.outerjoin(USER, USER.c.id == RECORD.c.owner_id)
    out: dict[int, Target] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        query = select(*columns).select_from(joined)
        query = query.where(RECORD.c.id.in_(ordered[start : start + CHUNK]))
        for row in connection.execute(query):
            data = dict(row[4]) if with_data else {}
            out[row[0]] = Target(row[0], row[1], data, owner_id=row[2], pool_id=row[3])
    return out


def classify(
    ctx: WriteContext, kind: str, candidates: list[Candidate], mode: str, maker: RowMaker
) -> Outcome:
    """Decide, row by row in file order, what each candidate of a batch becomes."""
    merging = mode == "merge"
    held = held_keys(ctx, kind, candidates)
    targets = load_targets(ctx, set(held.values()), with_data=merging)
    claimed: dict[tuple[str, str], Target] = {}  # keys taken by earlier rows of this batch
    out = Outcome()

    def holder(key: tuple[str, str]) -> Target | None:
        target = claimed.get(key)
        if target is None and key in held:
            target = targets[held[key]]
        return target

    new = out.new
    for candidate in candidates:
        keys = candidate.keys.items()
        # Most rows are new: their keys are looked up inline, without a call per key.
        for key in keys:
            if key in claimed or key in held:
                break
        else:
            data = dict(candidate.values) if merging else {}
            target = Target(None, None, data, candidate.line)
            new.append((candidate, target))
            for key in keys:
                claimed[key] = target
            continue
        target, (name, value) = next((t, key) for key in keys if (t := holder(key)) is not None)
        why = target.describe(name, value)
        if mode == "skip":
            out.problems.append(
                maker.problem(candidate.line, name, f"skipped: {why}", skipped=True)
            )
            out.skipped += 1
        elif mode == "refuse":
            out.problems.append(maker.problem(candidate.line, name, why))
            out.refused += 1
        else:
            _merge(ctx, candidate, target, holder, claimed, out, maker)
    return out


def _merge(
    ctx: WriteContext,
    candidate: Candidate,
    target: Target,
    holder: Callable[[tuple[str, str]], Target | None],
    claimed: dict[tuple[str, str], Target],
    out: Outcome,
    maker: RowMaker,
) -> None:
    """Plan the merge of ``candidate`` into ``target``, or reject it as ``add_record`` would."""
    actor = ctx.actor
    assert actor is not None
    if target.record_id is not None and not permissions.allows(
        actor, "update", target.owner_id, target.pool_id
    ):
        where = f"owned by {target.owner}" if target.owner else "not in any of your pools"
        reason = (
            f"duplicate of #{target.record_id}, which is {where}; "
            f"{actor.name} may not merge into it"
        )
        out.problems.append(maker.problem(candidate.line, "", reason))
        return
    filled = {k: v for k, v in candidate.given.items() if k not in target.data}
    gained = [(k, v) for k, v in candidate.keys.items() if k in filled]
    for key in gained:
        other = holder(key)
        if other is not None and other is not target:
            out.problems.append(maker.problem(candidate.line, key[0], other.describe(*key)))
            return
    target.data.update(filled)
    claimed.update(dict.fromkeys(gained, target))
    out.merges.append(Merge(candidate, target, filled))
