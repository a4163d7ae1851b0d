"""b2b_accounts: the product catalogue and the product lines of deals

Revision ID: b2b_accounts_0001
Revises:
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_core.api import UTCDateTime

revision: str = "b2b_accounts_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("b2b_accounts",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``b2b_accounts_product`` and ``b2b_accounts_deal_line``."""
    op.create_table(
        "b2b_accounts_product",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False, unique=True),
        sa.Column("code", sa.String(), nullable=True, unique=True),
        sa.Column("series", sa.String(), nullable=True),
        sa.Column("list_price_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=True, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "b2b_accounts_deal_line",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("deal_id", sa.Integer(), sa.ForeignKey("deal.id"), nullable=False),
        sa.Column(
            "product_id", sa.Integer(), sa.ForeignKey("b2b_accounts_product.id"), nullable=False
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
    )
    # A deal's lines are read with the deal; the product reports group lines by product.
    op.create_index("ix_b2b_accounts_deal_line_deal", "b2b_accounts_deal_line", ["deal_id"])
    op.create_index("ix_b2b_accounts_deal_line_product", "b2b_accounts_deal_line", ["product_id"])


def downgrade() -> None:
    """Drop the deal lines, then the catalogue."""
    op.drop_index("ix_b2b_accounts_deal_line_product", table_name="b2b_accounts_deal_line")
    op.drop_index("ix_b2b_accounts_deal_line_deal", table_name="b2b_accounts_deal_line")
    op.drop_table("b2b_accounts_deal_line")
    op.drop_table("b2b_accounts_product")
