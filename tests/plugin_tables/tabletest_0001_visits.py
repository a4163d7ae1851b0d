"""tabletest: the table of gym visits, one row per visit of a record

Revision ID: tabletest_0001
Revises:
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tabletest_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("tabletest",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tabletest_visit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_id", sa.Integer(), sa.ForeignKey("record.id"), nullable=False),
        sa.Column("room", sa.String(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tabletest_visit")
