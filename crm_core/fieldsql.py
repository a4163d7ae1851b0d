"""SQL for custom fields kept in the JSON ``record.data`` column, per dialect."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, Engine, cast, column, func, literal, literal_column, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import col

from crm_core.fields import KindSpec
from crm_core.models import Record

PG_INDEXES = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
GIN = "(data jsonb_path_ops)"


def sql_string(value: str) -> ColumnElement[Any]:
    """``value`` as a SQL string literal (not a parameter), for JSON paths and keys."""
    return literal_column("'" + value.replace("'", "''") + "'")


def field_text(
    dialect: str, name: str, data: ColumnElement[Any] | None = None
) -> ColumnElement[Any]:
    """The field's value as the database's native scalar (SQLite) or text (PostgreSQL).

    Paths are written as SQL literals, not parameters, so the expression is
    the same one the field's index was built on and the planner can use it.
    """
    source = col(Record.data) if data is None else data
    if dialect == "postgresql":
        return source.op("->>")(sql_string(name))
    return func.json_extract(source, sql_string("$." + name))


def kind_is(dialect: str, kind: str) -> ColumnElement[bool]:
    """``record.kind = kind`` for queries that read most records of a kind.

    SQLite keeps no statistics and would answer ``kind = ?`` through a plugin's
    ``(kind, field)`` index, fetching each row at random: several times slower
    than one pass over the table (or over an index holding every column the
    query needs). Comparing ``kind || ''`` keeps those indexes out of it.
    """
    column = col(Record.kind) + "" if dialect == "sqlite" else col(Record.kind)
    return column == kind


def field_equals(dialect: str, name: str, value: Any) -> ColumnElement[bool]:
    """A condition that is true where the field holds exactly ``value`` (type included)."""
    if dialect == "postgresql":
        return col(Record.data).op("@>")(cast(literal(json.dumps({name: value})), JSONB))
    if isinstance(value, (list, dict)):
        return field_text(dialect, name) == func.json(json.dumps(value))
    return field_text(dialect, name) == value


def index_name(kind: str, field: str) -> str:
    """The name of the index kept on ``kind.field``."""
    return f"ix_f_{kind}_{field}"[:63]


def ensure_field_indexes(engine: Engine, kinds: list[KindSpec]) -> list[str]:
    """Create the missing indexes of fields marked ``indexed``; return the names created."""
    dialect = engine.dialect.name
    wanted = {
        index_name(k.name, f.name): f.name for k in kinds for f in k.fields.values() if f.indexed
    }
    created = []
    with engine.begin() as conn:
        if dialect == "postgresql":
            existing = set(conn.execute(text(PG_INDEXES)).scalars())
            if "ix_record_data_gin" not in existing:
                conn.execute(text(f"CREATE INDEX ix_record_data_gin ON record USING gin {GIN}"))
                created.append("ix_record_data_gin")
        else:
            existing = set(
                conn.execute(text("SELECT name FROM sqlite_master WHERE type='index'")).scalars()
            )
        for name, field in sorted(wanted.items()):
            if name in existing:
                continue
            # Index expressions may not name the table, so the column goes in bare.
            expr = field_text(dialect, field, column("data")).compile(
                dialect=engine.dialect, compile_kwargs={"literal_binds": True}
            )
            conn.execute(text(f"CREATE INDEX {name} ON record (kind, ({expr}))"))
            created.append(name)
    return created
