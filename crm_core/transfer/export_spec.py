"""The ``bundle.yaml`` of a whole-CRM export: an import spec that reads its files back.

It follows the shared import spec format (version 1): the files in the order
they must be imported, each with an identity column map (every column to the
target field of the same name), its key and its links. Times are ISO 8601,
which the format always accepts, so no date format is given; users are
referred to by name (``owners: name``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_core.transfer.export_tables import ExportTable

HEADER = "# Written by `crm export --all`; `crm import bundle.yaml` reads it back.\n"


def bundle_spec(tables: Sequence[ExportTable]) -> dict[str, Any]:
    """The import spec of ``tables``, as data."""
    return {
        "version": 1,
        "defaults": {"encoding": "utf-8", "delimiter": ",", "timezone": "UTC", "owners": "name"},
        "files": [_entry(t) for t in tables],
    }


def _entry(table: ExportTable) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": table.path, "entity": table.entity}
    if table.kind is not None:
        entry["kind"] = table.kind
    if table.key is not None:
        entry["key"] = table.key
    entry["columns"] = {c: c for c in table.columns if c not in table.unmapped}
    if table.defaults:
        entry["defaults"] = table.defaults
    if table.links:
        entry["links"] = table.links
    return entry


def bundle_yaml(tables: Sequence[ExportTable]) -> str:
    """The spec of ``tables`` as YAML text, keys in the order the format documents them."""
    import yaml  # here: the API imports this module, and `crm record show` must stay light

    body = yaml.safe_dump(bundle_spec(tables), sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body
