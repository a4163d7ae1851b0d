"""Alembic environment: runs on the connection the CRM hands over in ``config.attributes``."""

from alembic import context
from sqlmodel import SQLModel

import crm_core.models  # noqa: F401  (registers the tables on the metadata)

target_metadata = SQLModel.metadata
connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
