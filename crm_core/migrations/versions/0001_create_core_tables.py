"""create core tables

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "crm_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("crm_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_user_team_id"), ["team_id"], unique=False)

    op.create_table(
        "journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("cause", sa.String(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("before", crm_core.db.JsonType, nullable=True),
        sa.Column("after", crm_core.db.JsonType, nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["crm_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.create_index("ix_journal_entity", ["entity", "entity_id"], unique=False)
        batch_op.create_index("ix_journal_record", ["record_id", "id"], unique=False)

    op.create_table(
        "pool_member",
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pool.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["crm_user.id"],
        ),
        sa.PrimaryKeyConstraint("pool_id", "user_id"),
    )
    op.create_table(
        "record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("pool_id", sa.Integer(), nullable=True),
        sa.Column("data", crm_core.db.JsonType, nullable=False),
        sa.Column("created_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("stage_entered_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("last_activity_at", crm_core.db.UTCDateTime(), nullable=True),
        sa.Column("archived_at", crm_core.db.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["crm_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["crm_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pool.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.create_index("ix_record_kind_stage", ["kind", "stage"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_record_last_activity_at"), ["last_activity_at"], unique=False
        )
        batch_op.create_index("ix_record_owner", ["owner_id", "kind"], unique=False)
        batch_op.create_index("ix_record_pool", ["pool_id"], unique=False)

    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("data", crm_core.db.JsonType, nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["crm_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index("ix_activity_record_time", ["record_id", "occurred_at"], unique=False)

    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("position", sa.String(), nullable=True),
        sa.Column("created_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("archived_at", crm_core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_record_id"), ["record_id"], unique=False)

    op.create_table(
        "deal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("expected_close", sa.Date(), nullable=True),
        sa.Column("created_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("archived_at", crm_core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deal_record_id"), ["record_id"], unique=False)

    op.create_table(
        "dedupe_key",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
        ),
        sa.PrimaryKeyConstraint("kind", "field", "value"),
    )
    with op.batch_alter_table("dedupe_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dedupe_key_record_id"), ["record_id"], unique=False)

    op.create_table(
        "task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("due_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("done_at", crm_core.db.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("cause", sa.String(), nullable=True),
        sa.Column("created_at", crm_core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["crm_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["crm_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_assignee_due", ["assignee_id", "done_at", "due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_task_record_id"), ["record_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_record_id"))
        batch_op.drop_index("ix_task_assignee_due")

    op.drop_table("task")
    with op.batch_alter_table("dedupe_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dedupe_key_record_id"))

    op.drop_table("dedupe_key")
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_record_id"))

    op.drop_table("deal")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_record_id"))

    op.drop_table("contact")
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_record_time")

    op.drop_table("activity")
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_index("ix_record_pool")
        batch_op.drop_index("ix_record_owner")
        batch_op.drop_index(batch_op.f("ix_record_last_activity_at"))
        batch_op.drop_index("ix_record_kind_stage")

    op.drop_table("record")
    op.drop_table("pool_member")
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_record")
        batch_op.drop_index("ix_journal_entity")

    op.drop_table("journal")
    with op.batch_alter_table("crm_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_user_team_id"))

    op.drop_table("crm_user")
    op.drop_table("team")
    op.drop_table("pool")
