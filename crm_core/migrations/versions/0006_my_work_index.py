"""an index that gives an operator's held records longest idle first (My work)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDLE_SINCE = "coalesce(last_activity_at, assigned_at, created_at)"
HELD = "pool_id IS NULL AND archived_at IS NULL"


def upgrade() -> None:
    # My work lists an operator's held records longest idle first; without this
    # index it read and sorted every one of them (15,000 rows scattered through a
    # million-record table: 1.4 s on a cold cache) to show the first 200. Partial,
    # so that pooled and archived records cost it nothing. The models do not
    # declare it: alembic cannot compare expression indexes on SQLite.
    where = sa.text(HELD)
    op.create_index(
        "ix_record_owner_idle",
        "record",
        ["owner_id", sa.text(IDLE_SINCE)],
        sqlite_where=where,
        postgresql_where=where,
    )


def downgrade() -> None:
    op.drop_index("ix_record_owner_idle", table_name="record")
