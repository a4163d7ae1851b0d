"""The alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from crm_core import schema
from crm_core.api import Crm
from crm_core.models import SQLModel

PLUGIN = ("ix_f_", "ix_record_data_gin")


def test_migrated_schema_matches_the_models(crm: Crm) -> None:
    with crm.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    # Indexes on plugin fields are made by ensure_field_indexes, not by migrations.
    field_indexes = [d for d in diff if d[0] == "remove_index" and d[1].name.startswith(PLUGIN)]
    assert [d for d in diff if d not in field_indexes] == []
    assert schema.current_revision(crm.engine) == schema.head_revision()
