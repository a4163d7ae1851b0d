"""source-system keys on every entity; deals owned by people with their own dates; team regions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The entities an import links across files by the source system's key.
KEYED = ("team", "crm_user", "contact", "deal", "activity", "task")


def upgrade() -> None:
    with warnings.catch_warnings():
        # Batch mode on SQLite reflects the tables a batch's foreign keys name, ``record``
        # among them, whose expression index (0006) SQLAlchemy skips with a warning that
        # would otherwise reach every `crm init`.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        _upgrade()


def _upgrade() -> None:
    for table in KEYED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("external_id", sa.String(), nullable=True))
        # Unique, so that re-running an import finds the row it made (NULLs never collide).
        op.create_index(f"ix_{table}_external_id", table, ["external_id"], unique=True)
    op.add_column("record", sa.Column("external_id", sa.String(), nullable=True))
    # Records' source keys are unique per kind: two systems' accounts and leads may share numbers.
    op.create_index("ix_record_kind_external_id", "record", ["kind", "external_id"], unique=True)
    with op.batch_alter_table("team") as batch_op:
        batch_op.add_column(sa.Column("region", sa.String(), nullable=True))
    with op.batch_alter_table("deal") as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", crm_core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("stage_entered_at", crm_core.db.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key("fk_deal_owner_id_crm_user", "crm_user", ["owner_id"], ["id"])
    # Deal reports group by owner and by close date; permissions select a user's deals.
    op.create_index("ix_deal_owner_stage", "deal", ["owner_id", "stage"])
    op.create_index("ix_deal_closed_at", "deal", ["closed_at"])


def downgrade() -> None:
    op.drop_index("ix_deal_closed_at", table_name="deal")
    op.drop_index("ix_deal_owner_stage", table_name="deal")
    with op.batch_alter_table("deal") as batch_op:
        batch_op.drop_constraint("fk_deal_owner_id_crm_user", type_="foreignkey")
        batch_op.drop_column("stage_entered_at")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("owner_id")
    with op.batch_alter_table("team") as batch_op:
        batch_op.drop_column("region")
    op.drop_index("ix_record_kind_external_id", table_name="record")
    # Not a batch: rebuilding ``record`` on SQLite would lose its expression index (0006).
    op.execute("ALTER TABLE record DROP COLUMN external_id")
    for table in reversed(KEYED):
        op.drop_index(f"ix_{table}_external_id", table_name=table)
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("external_id")
