"""indexes that answer the core reports: a kind's records by stage and by creation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The funnel counts a kind's live records per stage, in stage order, from the index alone.
    op.drop_index("ix_record_kind_stage", table_name="record")
    op.create_index("ix_record_kind_stage_live", "record", ["kind", "stage", "archived_at"])
    # Growth counts each month's new records as a range; the newest and oldest pages of a
    # kind's records walk it. archived_at comes last: led by (kind, archived_at), SQLite
    # (without statistics) took the index for most queries of a kind's live records and
    # read each row through it, assignment's count of each owner's open records among them.
    op.create_index("ix_record_kind_created", "record", ["kind", "created_at", "archived_at"])


def downgrade() -> None:
    op.drop_index("ix_record_kind_created", table_name="record")
    op.drop_index("ix_record_kind_stage_live", table_name="record")
    op.create_index("ix_record_kind_stage", "record", ["kind", "stage"])
