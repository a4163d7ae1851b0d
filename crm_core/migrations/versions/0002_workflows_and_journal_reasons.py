"""applied workflows; a reason on journal rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workflow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", crm_core.db.JsonType, nullable=False),
        sa.Column("applied_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("applied_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["applied_by"], ["crm_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("kind"),
    )
    with op.batch_alter_table("journal") as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("journal") as batch_op:
        batch_op.drop_column("reason")
    op.drop_table("workflow")
