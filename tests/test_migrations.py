"""The alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from crm_core import schema
from crm_core.api import Crm
from crm_core.db import make_engine
from crm_core.models import SQLModel

# Indexes the models do not declare: plugin fields' (made by ensure_field_indexes)
# and migration 0006's expression index, which alembic cannot compare on SQLite.
NOT_IN_MODELS = ("ix_f_", "ix_record_data_gin", "ix_record_owner_idle")


def _core_only(name: str | None, type_: str, parent: dict[str, str | None]) -> bool:
    """Compare the core's tables; plugins' tables follow their own branches and MetaData."""
    table = name if type_ == "table" else parent.get("table_name")
    return table is None or table in SQLModel.metadata.tables


def test_migrated_schema_matches_the_models(crm: Crm) -> None:
    with crm.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": _core_only})
        diff = compare_metadata(context, SQLModel.metadata)
    extra = [d for d in diff if d[0] == "remove_index" and d[1].name.startswith(NOT_IN_MODELS)]
    assert [d for d in diff if d not in extra] == []
    assert schema.current_revision(crm.engine) == schema.head_revision()


def test_the_record_indexes_go_down_to_0003_and_up_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    try:
        schema.upgrade(engine)
        config = schema.alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0003")
        indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("record")}
        assert indexes["ix_record_kind_stage"] == ["kind", "stage"]
        assert indexes["ix_record_owner_open"] == [
            "owner_id", "pool_id", "kind", "stage", "archived_at",
        ]  # fmt: skip
        assert "ix_record_kind_created" not in indexes
        assert indexes["ix_record_last_activity_at"] == ["last_activity_at"]  # back from 0005
        schema.upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    finally:
        engine.dispose()
