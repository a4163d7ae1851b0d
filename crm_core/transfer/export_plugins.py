"""The plugins' entities in a whole-CRM export (b2b_accounts: products, deal lines).

A plugin that registers an import entity (``crm_register_import_entities``)
gives every stored row of it through the entity's ``rows``, in the target
fields' names, its references written as the entity's own defaults read them
back; each becomes ``NAMEs.csv`` after the core's files, which it may refer to.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from crm_core.transfer.bundle.entity import ImportEntity
from crm_core.transfer.bundle.registry import CORE
from crm_core.transfer.cells import cell
from crm_core.transfer.export_tables import ExportTable

CORE_NAMES = frozenset(entity.name for entity in CORE)


def plugin_tables(session: Session, entities: Mapping[str, ImportEntity]) -> list[ExportTable]:
    """A file for each plugin entity that has rows, in the order the plugins registered them."""
    tables = []
    for name, entity in entities.items():
        if name in CORE_NAMES:
            continue
        first = next(iter(entity.rows(session, None)), None)
        if first is None:
            continue
        columns = tuple(first)
        keyed = entity.keyed and "external_id" in columns
        tables.append(
            ExportTable(
                f"{name}s.csv",
                name,
                columns,
                partial(_rows, session=session, entity=entity, columns=columns),
                key="external_id" if keyed else None,
            )
        )
    return tables


def _rows(
    _connection: Connection, *, session: Session, entity: ImportEntity, columns: tuple[str, ...]
) -> Iterator[list[str]]:
    """The entity's rows as cells; the session reads them on the export's own connection."""
    for row in entity.rows(session, None):
        yield [cell(row.get(c)) for c in columns]
