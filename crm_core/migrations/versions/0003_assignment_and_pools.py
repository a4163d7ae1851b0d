"""assignment and pools: who held a record, assignment cursors, away users

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("record") as batch_op:
        batch_op.add_column(sa.Column("assigned_at", crm_core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("rotations", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("crm_user") as batch_op:
        batch_op.add_column(sa.Column("away_until", crm_core.db.UTCDateTime(), nullable=True))
    op.create_table(
        "holding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ended_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("how", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["crm_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_holding_record_user", "holding", ["record_id", "user_id"])
    op.create_table(
        "assign_cursor",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("state", crm_core.db.JsonType, nullable=False),
        sa.Column("updated_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )
    op.create_index("ix_journal_actor_action", "journal", ["actor_id", "action", "at"])
    # A pool's page counts its live records: the index answers without reading rows.
    op.drop_index("ix_record_pool", table_name="record")
    op.create_index("ix_record_pool_live", "record", ["pool_id", "archived_at"])
    # Per-day caps count today's hand-overs per kind.
    op.create_index("ix_record_kind_assigned", "record", ["kind", "assigned_at"])
    # Caps count each owner's open records from the index alone.
    op.drop_index("ix_record_owner", table_name="record")
    op.create_index(
        "ix_record_owner_open", "record", ["owner_id", "pool_id", "kind", "stage", "archived_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_record_owner_open", table_name="record")
    op.create_index("ix_record_owner", "record", ["owner_id", "kind"])
    op.drop_index("ix_record_kind_assigned", table_name="record")
    op.drop_index("ix_record_pool_live", table_name="record")
    op.create_index("ix_record_pool", "record", ["pool_id"])
    op.drop_index("ix_journal_actor_action", table_name="journal")
    op.drop_table("assign_cursor")
    op.drop_index("ix_holding_record_user", table_name="holding")
    op.drop_table("holding")
    with op.batch_alter_table("crm_user") as batch_op:
        batch_op.drop_column("away_until")
    with op.batch_alter_table("record") as batch_op:
        batch_op.drop_column("rotations")
        batch_op.drop_column("assigned_at")
