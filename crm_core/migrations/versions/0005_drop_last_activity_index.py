"""drop the index on record.last_activity_at, which no query uses

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every query reads the column as coalesce(last_activity_at, ...) (idle since the
    # later of the last touch and the hand-over), which this index cannot answer;
    # it only cost a write for each new record and each logged activity.
    op.drop_index("ix_record_last_activity_at", table_name="record")


def downgrade() -> None:
    op.create_index("ix_record_last_activity_at", "record", ["last_activity_at"])
