"""saved list filters per user

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("filters", crm_core.db.JsonType, nullable=False),
        sa.Column("created_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["crm_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    # A name is one user's: saving it again replaces that user's filter of that name.
    op.create_index("ix_saved_filter_user_name", "saved_filter", ["user_id", "name"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_saved_filter_user_name", table_name="saved_filter")
    op.drop_table("saved_filter")
