"""the pool's live records in id order, for its newest-first pages

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A pool page lists a pool's live records newest id first. SQLite's
    # (pool_id, archived_at) index ends with the rowid, so it already gave them in
    # that order; PostgreSQL's did not, and the page walked the primary key
    # backwards past every record of other pools and owners (434,000 rows read
    # for 50 at 1,100,000 leads: 70 ms). With id in the index both read just
    # the page; the pool's count still comes from the index alone.
    op.drop_index("ix_record_pool_live", table_name="record")
    op.create_index("ix_record_pool_live", "record", ["pool_id", "archived_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_record_pool_live", table_name="record")
    op.create_index("ix_record_pool_live", "record", ["pool_id", "archived_at"])
