"""The alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from crm_core import schema
from crm_core.api import Crm
from crm_core.models import SQLModel


def test_migrated_schema_matches_the_models(crm: Crm) -> None:
    with crm.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert schema.current_revision(crm.engine) == schema.head_revision()
