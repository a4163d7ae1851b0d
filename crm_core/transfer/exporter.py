"""Exporting the records of a kind the actor may see, in the shape the importer reads.

Columns: ``title``, ``stage``, ``owner`` (a user name), then the kind's
fields in declaration order; no id. CSV cells are written so that the
registry's coercion reads them back to the same values
(:func:`~crm_core.transfer.cells.cell`); JSON Lines objects carry the typed
values, with only the fields a record has. Archived records are left
out: importing them would make them live again.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import select
from sqlmodel import Session

from crm_core import permissions
from crm_core.errors import InvalidInput, NotFound, quote
from crm_core.fields import KindSpec, Registry
from crm_core.i18n import _
from crm_core.models import Record
from crm_core.permissions import Actor
from crm_core.transfer.cells import cell
from crm_core.transfer.columns import SPECIAL
from crm_core.transfer.readers import FORMATS

RECORD = Record.metadata.tables["record"]
USER = Record.metadata.tables["crm_user"]
FETCH = 5000


def columns(kind: KindSpec) -> list[str]:
    """The export's columns for ``kind``: title, stage, owner, then its fields in order."""
    return [*SPECIAL, *(f for f in kind.fields if f not in SPECIAL)]


def _rows(session: Session, actor: Actor, kind: str) -> Iterator[tuple[Any, ...]]:
    """(title, stage, owner name, data) of each live record of ``kind`` ``actor`` sees, by id."""
    query = (
        select(RECORD.c.title, RECORD.c.stage, USER.c.name, RECORD.c.data)
        .select_from(RECORD.outerjoin(USER, USER.c.id == RECORD.c.owner_id))
        .where(RECORD.c.kind == kind, RECORD.c.archived_at.is_(None))
        .where(permissions.record_filter(actor, "export"))
        .order_by(RECORD.c.id)
        .execution_options(yield_per=FETCH)
    )
    yield from session.connection().execute(query)


def export(
    session: Session, registry: Registry, actor: Actor, kind: str, out: IO[str], fmt: str
) -> int:
    """Write the records of ``kind`` that ``actor`` may see to ``out``; return how many."""
    try:
        spec = registry.kind(kind)
    except NotFound as exc:
        raise InvalidInput(str(exc)) from None
    if fmt not in FORMATS:
        raise InvalidInput(_("--format must be csv or jsonl, not {fmt}", fmt=quote(fmt)))
    names = columns(spec)
    fields = names[3:]
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for title, stage, owner, data in _rows(session, actor, kind):
            writer.writerow([title, stage or "", owner or "", *(cell(data.get(f)) for f in fields)])
            count += 1
        return count
    for title, stage, owner, data in _rows(session, actor, kind):
        line = {"title": title, "stage": stage, "owner": owner}
        line.update((f, data[f]) for f in fields if data.get(f) is not None)
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        count += 1
    return count
