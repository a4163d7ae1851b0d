"""the outbox of notices for delivery channels; users' e-mail and phone

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crm_user") as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(), nullable=True))
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("cause", sa.String(), nullable=False),
        sa.Column("due_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("payload", crm_core.db.JsonType, nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("sent_at", crm_core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["crm_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    # The deliverer asks for "pending and due now" every tick; sent rows pile up beside them.
    op.create_index("ix_outbox_status_next", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status_next", table_name="outbox")
    op.drop_table("outbox")
    with op.batch_alter_table("crm_user") as batch_op:
        batch_op.drop_column("phone")
        batch_op.drop_column("email")
