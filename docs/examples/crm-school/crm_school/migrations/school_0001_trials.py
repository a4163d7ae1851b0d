"""school: the trial lessons booked, one row per booking

Revision ID: school_0001
Revises:
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "school_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("school",)  # the plugin's own branch
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``school_trial``; the core's ``record`` table already exists."""
    op.create_table(
        "school_trial",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_id", sa.Integer(), sa.ForeignKey("record.id"), nullable=False),
        sa.Column("trial_date", sa.String(), nullable=False),
        sa.Column("course", sa.String(), nullable=True),
        sa.Column("booked_by", sa.String(), nullable=True),
    )


def downgrade() -> None:
    """Drop ``school_trial``."""
    op.drop_table("school_trial")
