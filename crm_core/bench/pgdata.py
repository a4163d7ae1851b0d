"""The benchmark's leads on PostgreSQL: the same rows as :mod:`crm_core.bench.data`, set-based.

One ``INSERT … SELECT`` over ``generate_series`` per table: the ``record``
rows, then the dedupe key of each phone and each lead's ``create`` journal
row, read back from those records. The "random" choices are the same
multiplicative hashes of the record id as on SQLite, so both databases hold
the same leads. The tables are analysed afterwards, as autovacuum would do
some time later, so that plans are those of a database in use.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, text

from crm_core.bench.data import (
    GIVEN,
    KIND,
    NEVER_CONTACTED_PCT,
    NEW_SPAN_MINUTES,
    NOW,
    PHONE_BASE,
    REGIONS,
    RETURN_DAYS,
    SOURCES,
    SPAN_MINUTES,
    SURNAMES,
    Added,
)

# One row per id from :first to :last; see crm_core.bench.data.LEADS, of which this is a copy
# in PostgreSQL's words (generate_series, jsonb, intervals).
LEADS = """
WITH n AS (SELECT i FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS i),
hashed AS (
    SELECT i, (i * 2654435761) % 4294967291 AS h1, (i * 2246822519) % 4294967291 AS h2,
           (i * 3266489917) % 4294967291 AS h3, :span - (i - :first) * :span / :count AS created
    FROM n
),
lead AS (
    SELECT i AS id, created,
           substr(:surnames, CAST(h1 % length(:surnames) + 1 AS int), 1)
               || (CAST(:given AS jsonb) ->> CAST(h1 / 100 % jsonb_array_length(CAST(:given AS jsonb)) AS int))
               AS name,
           CASE WHEN :owned THEN CAST(CAST(:owners AS jsonb) ->> CAST(
               h1 / 10000 % jsonb_array_length(CAST(:owners AS jsonb)) AS int) AS int)
           END AS owner,
           CAST(:sources AS jsonb) ->> CAST(h2 % jsonb_array_length(CAST(:sources AS jsonb)) AS int)
               AS source,
           CAST(:regions AS jsonb)
               ->> CAST(h2 / 100 % jsonb_array_length(CAST(:regions AS jsonb)) AS int) AS region,
           CASE WHEN :owned AND h3 % 100 >= :never_pct
               THEN created * (h3 / 100 % 10000) / 10000
           END AS touched
    FROM hashed
),
stamped AS (
    SELECT l.*, CAST(:now AS timestamptz) - make_interval(mins => CAST(l.created AS int)) AS c,
           CAST(:now AS timestamptz) - make_interval(mins => CAST(l.touched AS int)) AS a
    FROM lead AS l
)
"""  # noqa: E501
INSERT_RECORDS = (
    "INSERT INTO record (id, kind, title, stage, owner_id, pool_id, data, created_at, "
    "updated_at, stage_entered_at, last_activity_at, archived_at, created_by, version, "
    "assigned_at, rotations)"
    + LEADS
    + """
SELECT id, :kind, name, :stage, owner, NULL,
       jsonb_build_object('name', name, 'phone', CAST(:phone_base + id AS text),
                          'source', source, 'region', region),
       c, COALESCE(a, c), c, a, NULL, :admin, 1, CASE WHEN owner IS NOT NULL THEN c END, 0
FROM stamped
"""
)
COUNT_IDLE = LEADS + (
    "SELECT count(*) FROM lead WHERE owner IS NOT NULL AND COALESCE(touched, created) > :idle"
)
INSERT_KEYS = """
INSERT INTO dedupe_key (kind, field, value, record_id)
SELECT kind, 'phone', '+86' || (data ->> 'phone'), id
FROM record WHERE id BETWEEN :first AND :last
"""
INSERT_JOURNAL = """
INSERT INTO journal (at, actor_id, cause, entity, entity_id, record_id, action, reason, before,
                     after)
SELECT created_at, :admin, 'bench:import', 'record', id, id, 'create', NULL, NULL,
       jsonb_build_object('kind', kind, 'title', title, 'stage', stage, 'owner_id', owner_id,
                          'pool_id', pool_id, 'archived', false, 'fields', data)
FROM record WHERE id BETWEEN :first AND :last
"""


def add_records(
    engine: Engine, *, stage: str, admin_id: int, owner_ids: list[int], count: int, owned: bool
) -> Added:
    """Insert ``count`` leads after the last one, as :func:`crm_core.bench.data.add_records`.

    Owned leads go to ``owner_ids`` by hash, ~32% of them idle past the return
    rule at NOW; unowned leads arrived in the last day, in no pool.
    """
    span = SPAN_MINUTES if owned else NEW_SPAN_MINUTES
    with engine.begin() as conn:
        first = conn.execute(text("SELECT COALESCE(MAX(id), 0) + 1 FROM record")).scalar_one()
        ids = range(first, first + count)
        params: dict[str, Any] = {
            "first": ids[0], "last": ids[-1], "count": count, "span": span, "owned": owned,
            "surnames": SURNAMES, "given": json.dumps(GIVEN, ensure_ascii=False),
            "sources": json.dumps(SOURCES), "regions": json.dumps(REGIONS, ensure_ascii=False),
            "owners": json.dumps(owner_ids), "never_pct": NEVER_CONTACTED_PCT, "kind": KIND,
            "stage": stage, "phone_base": PHONE_BASE, "admin": admin_id,
            "idle": RETURN_DAYS * 24 * 60, "now": NOW,
        }  # fmt: skip
        idle = conn.execute(text(COUNT_IDLE), params).scalar_one()
        conn.execute(text(INSERT_RECORDS), params)
        conn.execute(text(INSERT_KEYS), params)
        conn.execute(text(INSERT_JOURNAL), params)
        # The rows carry their own ids: move the sequence past them.
        conn.execute(text("SELECT setval(pg_get_serial_sequence('record', 'id'), :last)"), params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE record, dedupe_key, journal"))
    return Added(ids, idle)
