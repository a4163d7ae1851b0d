"""The product catalogue (产品目录) and the product lines of deals: the plugin's own tables.

A deal's amount is the sum of its lines when it has any. Money is kept in
minor units (cents, fen) to stay exact, as on the core's deals.
"""

from __future__ import annotations

import sqlalchemy as sa

from crm_core.api import UTCDateTime

# The plugin's own MetaData: its migrations create these tables, never the core.
metadata = sa.MetaData()
product = sa.Table(
    "b2b_accounts_product",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, nullable=False, unique=True),
    sa.Column("code", sa.String, unique=True),
    sa.Column("series", sa.String),
    sa.Column("list_price_minor", sa.BigInteger),
    sa.Column("currency", sa.String, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("external_id", sa.String, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
deal_line = sa.Table(
    "b2b_accounts_deal_line",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("deal_id", sa.Integer, nullable=False, index=True),
    sa.Column("product_id", sa.Integer, sa.ForeignKey(product.c.id), nullable=False, index=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String, nullable=False),
)
