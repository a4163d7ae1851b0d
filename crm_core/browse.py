"""Record lists for screens: free-text search, filters, sorting and keyset pages.

A page is found by seeking past the last row of the previous one (``after``,
an opaque cursor), never by ``OFFSET``: page 20,000 of a million records costs
what page 1 costs, as long as the sort has an index to walk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from crm_core.errors import InvalidInput, excerpt, quote
from crm_core.fields import KindSpec, Registry
from crm_core.fieldsql import field_equals, field_text
from crm_core.i18n import _
from crm_core.models import DedupeKey, Record

# name -> (the key the rows are ordered by, descending?). Every sort ends on the
# id, so equal keys still give one strict order for the cursor to seek in.
SORTS: dict[str, tuple[Any, bool]] = {
    "newest": (col(Record.created_at), True),
    "oldest": (col(Record.created_at), False),
    "updated": (col(Record.updated_at), True),
    "title": (col(Record.title), False),
    # Longest without a touchpoint first: what an operator should call next.
    "idle": (func.coalesce(col(Record.last_activity_at), col(Record.created_at)), False),
}


@dataclass(frozen=True)
class Filters:
    """What narrows a list; ``owner_id`` -1 means unowned records."""

    kind: str | None = None
    search: str | None = None
    stage: str | None = None
    owner_id: int | None = None
    pool_id: int | None = None
    where: dict[str, Any] | None = None
    sort: str = "newest"


def check_sort(sort: str, kind: str | None = None) -> tuple[Any, bool]:
    """The order of ``sort``; an unknown name is refused with the names known.

    Within one kind, newest and oldest walk the (kind, created_at, archived_at)
    index; across kinds, the primary key, which follows creation just as well.
    """
    if sort not in SORTS:
        raise InvalidInput(
            _("unknown sort '{sort}' (sorts: {names})", sort=excerpt(sort), names=", ".join(SORTS))
        )
    key, descending = SORTS[sort]
    if kind is None and sort in ("newest", "oldest"):
        return col(Record.id), descending
    return key, descending


def _dedupe_matches(registry: Registry, kinds: list[KindSpec], text: str) -> list[Any]:
    """Conditions matching records whose dedupe key equals ``text`` once normalised."""
    out = []
    for spec in kinds:
        for name, fs in spec.fields.items():
            if fs.dedupe is None:
                continue
            try:
                value = registry.normalize(fs.dedupe, text)
            except (ValueError, InvalidInput):
                continue  # not a phone number (say): this key cannot match
            keys = select(DedupeKey.record_id).where(
                DedupeKey.kind == spec.name, DedupeKey.field == name, DedupeKey.value == value
            )
            out.append(col(Record.id).in_(keys))
    return out


def search_condition(
    registry: Registry, dialect: str, kind: str | None, text: str
) -> ColumnElement[bool]:
    """Match ``text`` against the title, the kind's searchable fields and its dedupe keys.

    ``#123`` finds record 123. Title and searchable fields match a part, in any
    case; a phone number or e-mail matches its dedupe key whatever the spelling.
    """
    text = text.strip()
    if text.startswith("#") and text[1:].isdigit():
        return col(Record.id) == int(text[1:])
    kinds = [registry.kind(kind)] if kind else list(registry.kinds.values())
    clauses: list[Any] = [col(Record.title).icontains(text, autoescape=True)]
    if kind:
        for name, fs in kinds[0].fields.items():
            if fs.searchable and fs.type == "string":
                clauses.append(field_text(dialect, name).icontains(text, autoescape=True))
    clauses.extend(_dedupe_matches(registry, kinds, text))
    return sa.or_(*clauses)


def encode_cursor(sort: str, value: Any, record_id: int) -> str:
    """The opaque cursor after a row whose ``sort`` key is ``value``."""
    if isinstance(value, datetime):
        return json.dumps([sort, "t", value.isoformat(), record_id])
    return json.dumps([sort, "v", value, record_id])


def decode_cursor(sort: str, cursor: str) -> tuple[Any, int]:
    """The sort key and id a cursor points after; a damaged or foreign cursor is refused."""
    try:
        made_for, tag, value, record_id = json.loads(cursor)
        if tag == "t":
            value = datetime.fromisoformat(value)
        if not isinstance(record_id, int):
            raise TypeError(record_id)
    except (ValueError, TypeError):
        raise InvalidInput(_("not a page cursor: {cursor}", cursor=quote(cursor))) from None
    if made_for != sort:
        raise InvalidInput(
            _("that cursor pages the '{made_for}' sort, not '{sort}'", made_for=made_for, sort=sort)
        )
    return value, record_id


def page_query(
    registry: Registry,
    dialect: str,
    visible: ColumnElement[bool],
    filters: Filters,
    after: str | None,
    limit: int,
) -> Any:
    """The SELECT of one page of records (``limit + 1`` rows, to know if more follow)."""
    key, descending = check_sort(filters.sort, filters.kind)
    query = select(Record, key.label("sort_key")).where(visible, col(Record.archived_at).is_(None))
    if filters.kind:
        registry.kind(filters.kind)
        query = query.where(Record.kind == filters.kind)
    if filters.search and filters.search.strip():
        query = query.where(search_condition(registry, dialect, filters.kind, filters.search))
    if filters.stage:
        query = query.where(Record.stage == filters.stage)
    if filters.owner_id == -1:
        query = query.where(col(Record.owner_id).is_(None))
    elif filters.owner_id is not None:
        query = query.where(Record.owner_id == filters.owner_id)
    if filters.pool_id is not None:
        query = query.where(Record.pool_id == filters.pool_id)
    for name, value in (filters.where or {}).items():
        if not filters.kind:
            raise InvalidInput(_("filtering on fields needs a kind"))
        if name not in registry.kind(filters.kind).fields:
            raise InvalidInput(
                _("no field '{name}' in {kind}", name=excerpt(name), kind=filters.kind)
            )
        query = query.where(field_equals(dialect, name, value))
    ident = col(Record.id)
    if after is not None:
        value, last_id = decode_cursor(filters.sort, after)
        pair = sa.tuple_(key, ident)
        bound = sa.tuple_(sa.literal(value, key.type), sa.literal(last_id))
        query = query.where(pair < bound if descending else pair > bound)
    if descending:
        return query.order_by(key.desc(), ident.desc()).limit(limit + 1)
    return query.order_by(key.asc(), ident.asc()).limit(limit + 1)


def read_page(
    session: Session, query: Any, sort: str, limit: int
) -> tuple[list[Record], str | None]:
    """Run a :func:`page_query`; return its records and the cursor of the next page."""
    rows = session.exec(query).all()
    records = [r for r, _cursor in rows[:limit]]
    if len(rows) <= limit:
        return records, None
    last, key = rows[limit - 1]
    assert last.id is not None
    return records, encode_cursor(sort, key, last.id)
