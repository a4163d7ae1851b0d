"""The ``stage_history`` entity: "this record (or deal) reached stage X at time D", one a row.

When the spec imports the records (or deals) it describes, the runner hands
its rows to them first (:func:`points_by_key`), so each one's journal is
written in time order when it is created; the file's own turn then finds
those rows already written. A row about a record imported earlier is added
when it is later than what that record's journal already holds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_core import records
from crm_core.errors import CrmError, PluginError
from crm_core.models import Record
from crm_core.transfer.bundle.entity import TABLES, ImportContext, ImportEntity, Keys, Row, Target

JOURNAL = TABLES["journal"]
DEAL = TABLES["deal"]
OUTCOMES = ("won", "lost")


class StageHistoryEntity(ImportEntity):
    """Long stage history: ``of`` (the record or deal), ``stage``, ``at``."""

    name = "stage_history"
    keyed = False

    def targets(self, registry: Any, kind: str | None) -> dict[str, Target]:
        """``entity`` (record or deal, as a default), ``of``, ``stage`` and ``at``."""
        return {
            "entity": Target("entity", choices=("record", "deal")),
            "of": Target("of", "ref", required=True, ref="record"),
            "stage": Target("stage", required=True),
            "at": Target("at", "datetime", required=True),
        }

    def ref_of(self, name: str, defaults: dict[str, Any]) -> str | None:
        """``of`` names a deal when the file's default entity is ``deal``."""
        return "deal" if name == "of" and defaults.get("entity") == "deal" else None

    def natural_key(self, registry: Any, kind: str | None) -> str:
        """A history row is its own key: the row it describes, its stage, its time."""
        return "of"

    def key_fields(self, registry: Any, kind: str | None) -> tuple[str, ...]:
        """See :meth:`natural_key`."""
        return ("of",)

    def create(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Add each row's move unless the journal holds it; refuse one dated before the last."""
        entity = "deal" if any(r.values.get("entity") == "deal" for r in rows) else "record"
        ids = sorted({r.values["of"] for r in rows})
        known, latest = _journaled(ctx.session, entity, ids)
        for row in sorted(rows, key=lambda r: r.values["at"]):
            of, stage, at = row.values["of"], row.values["stage"], row.values["at"]
            cause = ctx.cause(row.line)
            if (of, cause) in known or (of, stage, at) in known:
                row.skipped = True
                continue
            if of in latest and at < latest[of]:
                row.problem = (
                    f"#{of} already has a stage change at {latest[of].isoformat()}: give the "
                    "history in the spec that imports it, to be written in time order"
                )
                row.problem_field = "at"
                continue
            try:
                self._move(ctx, entity, of, stage, at, cause)
            except PluginError:
                raise
            except CrmError as exc:
                row.problem = str(exc)
                continue
            latest[of] = at
            row.id = of

    def _move(
        self, ctx: ImportContext, entity: str, of: int, stage: str, at: datetime, cause: str
    ) -> None:
        if entity == "record":
            record = ctx.session.get(Record, of)
            assert record is not None
            records.change(replace(ctx.write, now=at, cause=cause), record, "move", stage=stage)
            return
        was = ctx.session.execute(sa.select(DEAL.c.stage, DEAL.c.record_id).where(DEAL.c.id == of))
        before, record_id = was.one()
        closed = {"closed_at": at} if stage in OUTCOMES else {}
        ctx.session.execute(
            sa.update(DEAL).where(DEAL.c.id == of)
            .values(stage=stage, stage_entered_at=at, updated_at=ctx.now, **closed)
        )  # fmt: skip
        ctx.journal("deal", of, record_id, "move", {"stage": before}, {"stage": stage},
                    line=0, at=at, cause=cause)  # fmt: skip

    def update(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """History rows are never updated: a row is there or it is added."""

    def find(self, session: Session, kind: str | None, by: str, values: list[str]) -> Any:
        """History rows are not looked up by key."""
        return {}

    def current(self, session: Session, kind: str | None, ids: list[int]) -> Any:
        """History rows are not compared field by field."""
        return {}

    def rows(self, session: Session, kind: str | None) -> Any:
        """Every journaled stage reached by a live record or deal, in journal order."""
        stage = _stage(session)
        query = (
            sa.select(JOURNAL.c.entity, JOURNAL.c.entity_id, stage, JOURNAL.c.at)
            .where(JOURNAL.c.entity.in_(["record", "deal"]), stage.is_not(None))
            .order_by(JOURNAL.c.id)
        )
        keys = Keys(session)
        for entity, of, reached, at in session.execute(query):
            yield {"entity": entity, "of": keys.of(entity, of), "stage": reached, "at": at}


def _stage(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return JOURNAL.c.after.op("->>")("stage")
    return sa.func.json_extract(JOURNAL.c.after, "$.stage")


def _journaled(
    session: Session, entity: str, ids: list[int]
) -> tuple[set[tuple[Any, ...]], dict[int, datetime]]:
    """What the journal holds of ``ids``: (id, cause) and (id, stage, at) of each stage row,
    and each one's latest stage time."""
    stage = _stage(session)
    known: set[tuple[Any, ...]] = set()
    latest: dict[int, datetime] = {}
    for start in range(0, len(ids), 500):
        query = (
            sa.select(JOURNAL.c.entity_id, JOURNAL.c.cause, stage, JOURNAL.c.at)
            .where(JOURNAL.c.entity == entity, JOURNAL.c.entity_id.in_(ids[start : start + 500]))
            .where(stage.is_not(None))
        )
        for of, cause, reached, at in session.execute(query):
            known.add((of, cause))
            known.add((of, reached, at))
            latest[of] = max(at, latest.get(of, at))
    return known, latest


def points_by_key(rows: list[tuple[str, str, datetime, str]]) -> dict[str, list[Any]]:
    """History points (stage, at, cause) by the text of the ``of`` cell that names their row."""
    out: dict[str, list[Any]] = defaultdict(list)
    for of, stage, at, cause in rows:
        out[of].append((stage, at, cause))
    return dict(out)
