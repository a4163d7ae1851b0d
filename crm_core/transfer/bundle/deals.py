"""The deal import entity: deals owned by people, exact money, dates and stage history.

Deals are written set-based: one insert for a batch's deals, one for their
journal rows (the create at the deal's created time, then a move per stage
it reached, at the source's times).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_core.transfer.bundle.cells import minor
from crm_core.transfer.bundle.entity import (
    TABLES,
    ImportContext,
    KeyedByExternalId,
    Keys,
    Rejection,
    Row,
    Target,
    insert_returning,
    jsonable,
)
from crm_core.transfer.bundle.history import timeline

DEAL = TABLES["deal"]
RECORD = TABLES["record"]
OUTCOMES = ("won", "lost")
COLUMNS = {"external_id": "external_id", "record": "record_id", "title": "title",
           "owner": "owner_id", "stage": "stage", "amount_minor": "amount_minor",
           "currency": "currency", "created_at": "created_at",
           "stage_entered_at": "stage_entered_at", "closed_at": "closed_at",
           "expected_close": "expected_close"}  # fmt: skip


def deal_stages(session: Session) -> list[str]:
    """The stages a deal may be in: open, won, lost and every applied workflow's stages."""
    names = ["open", *OUTCOMES]
    for (definition,) in session.execute(sa.select(TABLES["workflow"].c.definition)):
        names += [s["id"] for s in definition["stages"] if s["id"] not in names]
    return names


class DealEntity(KeyedByExternalId):
    """Deals on records: owner, stage, amount (exact), currency and their dates."""

    name = "deal"
    table = DEAL
    columns: ClassVar[dict[str, str]] = COLUMNS

    def targets(self, registry: Any, kind: str | None) -> dict[str, Target]:
        """A deal's fields."""
        user = ("name", "email", "external_id")
        return {
            "external_id": Target("external_id"),
            "record": Target("record", "ref", required=True, ref="record"),
            "title": Target("title"),
            "owner": Target("owner", "ref", ref="user", by=user),
            "stage": Target("stage"),
            "amount": Target("amount", "money"),
            "amount_minor": Target("amount_minor", "int"),
            "currency": Target("currency"),
            "created_at": Target("created_at", "datetime"),
            "stage_entered_at": Target("stage_entered_at", "datetime"),
            "closed_at": Target("closed_at", "datetime"),
            "expected_close": Target("expected_close", "date"),
        }

    def check(self, ctx: ImportContext, kind: str | None, row: Row) -> Rejection | None:
        """A known stage, exact money in one field, a three-letter currency."""
        values = row.values
        stage = values.get("stage")
        stages = ctx.memo.get("deal_stages") or ctx.memo.setdefault(
            "deal_stages", deal_stages(ctx.session)
        )
        if stage is not None and stage not in stages:
            return Rejection("stage", f"unknown deal stage '{stage}' (stages: {', '.join(stages)})",
                             True)  # fmt: skip
        amount = values.pop("amount", None)
        if isinstance(amount, Decimal):
            if "amount_minor" in values:
                return Rejection("amount", "give amount or amount_minor, not both")
            values["amount_minor"] = minor(amount)
        currency = str(values.get("currency", ctx.currency)).upper()
        if len(currency) != 3 or not currency.isalpha():
            return Rejection("currency", f"currency must be a three-letter code, not '{currency}'")
        if row.id is None or "currency" in values:
            values["currency"] = currency
        return None

    def create(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Insert the deals, then their journal rows, each set-based."""
        parents = _records(ctx.session, {r.values["record"] for r in rows})
        inserts, steps_of = [], []
        for row in rows:
            values = row.values
            title, owner = parents[values["record"]]
            final = values.get("stage", "open")
            closed = values.get("closed_at")
            steps = timeline(
                values.get("created_at"), "open", row.history, final,
                values.get("stage_entered_at") or closed, ctx.cause(row.line), ctx.now,
            )  # fmt: skip
            if final in OUTCOMES and closed is None:
                closed = steps[-1][1]
            inserts.append({
                **{COLUMNS[k]: v for k, v in values.items()},
                "title": values.get("title") or title, "owner_id": values.get("owner", owner),
                "stage": final, "amount_minor": values.get("amount_minor", 0),
                "created_at": steps[0][1], "updated_at": ctx.now, "closed_at": closed,
                "stage_entered_at": values.get("stage_entered_at") or steps[-1][1],
            })  # fmt: skip
            steps_of.append(steps)
        ids = insert_returning(ctx.session, DEAL, inserts)
        for row, deal_id, insert, steps in zip(rows, ids, inserts, steps_of, strict=True):
            row.id = deal_id
            (first, since, cause), *moves = steps
            after = {"id": deal_id, "record_id": insert["record_id"], "title": insert["title"],
                     "amount": str(Decimal(insert["amount_minor"]).scaleb(-2)),
                     "currency": insert["currency"], "stage": first,
                     "expected_close": jsonable(insert).get("expected_close"),
                     "owner_id": insert["owner_id"]}  # fmt: skip
            record_id = insert["record_id"]
            ctx.journal("deal", deal_id, record_id, "create", None, after, line=row.line,
                        at=since, cause=cause)  # fmt: skip
            for stage, at, why in moves:
                ctx.journal("deal", deal_id, record_id, "move", {"stage": first}, {"stage": stage},
                            line=row.line, at=at, cause=why)  # fmt: skip
                first = stage

    def update(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Write the deals' changed fields; a stage change is a dated move."""
        for row in rows:
            assert row.before is not None and row.id is not None
            values = {COLUMNS[k]: v for k, v in row.values.items()}
            values["updated_at"] = ctx.now
            if "stage" in row.values and "stage_entered_at" not in row.values:
                values["stage_entered_at"] = ctx.now
            ctx.session.execute(sa.update(DEAL).where(DEAL.c.id == row.id).values(values))
            before = jsonable({k: row.before.get(k) for k in row.values})
            action = "move" if set(row.values) == {"stage"} else "update"
            ctx.journal("deal", row.id, row.before["record"], action, before,
                        jsonable(row.values), line=row.line)  # fmt: skip

    def rows(self, session: Session, kind: str | None) -> Iterator[dict[str, Any]]:
        """Every live deal, money exact in major units."""
        keys = Keys(session)
        query = sa.select(DEAL).where(DEAL.c.archived_at.is_(None)).order_by(DEAL.c.id)
        for row in session.execute(query).mappings():
            out = {t: row[c] for t, c in COLUMNS.items() if t != "amount_minor"}
            out["external_id"] = row["external_id"] or f"crm:{row['id']}"
            out["record"] = keys.of("record", row["record_id"])
            out["owner"] = keys.of("user", row["owner_id"])
            out["amount"] = f"{Decimal(row['amount_minor']).scaleb(-2):.2f}"
            yield out


def _records(session: Session, ids: set[int]) -> dict[int, tuple[str, int | None]]:
    """Title and owner of each record ``ids``: a deal's defaults."""
    query = sa.select(RECORD.c.id, RECORD.c.title, RECORD.c.owner_id)
    return {i: (t, o) for i, t, o in session.execute(query.where(RECORD.c.id.in_(list(ids))))}
