"""tabletest: how long each visit lasted

Revision ID: tabletest_0002
Revises: tabletest_0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tabletest_0002"
down_revision: str | None = "tabletest_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tabletest_visit") as batch_op:
        batch_op.add_column(sa.Column("minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tabletest_visit") as batch_op:
        batch_op.drop_column("minutes")
