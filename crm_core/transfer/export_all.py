"""``crm export --all DIR``: the whole CRM as a bundle of CSV files and the spec that imports them.

For moving out, or backing up to another CRM-core: ``crm import DIR/bundle.yaml``
into an empty database rebuilds the same data. Admins only, as it holds
every user and every record. What goes in each file is
:mod:`~crm_core.transfer.export_tables`; the spec is
:mod:`~crm_core.transfer.export_spec`.

Each file is written as ``NAME.part`` and renamed once every file is complete,
so a failed export leaves no half-written bundle behind. The caller reads
everything in one transaction (a snapshot), so the files agree with each other
even while others write.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from crm_core import permissions
from crm_core.errors import InvalidInput
from crm_core.fields import Registry
from crm_core.i18n import _
from crm_core.permissions import Actor
from crm_core.transfer.bundle.entity import ImportEntity
from crm_core.transfer.export_plugins import plugin_tables
from crm_core.transfer.export_spec import bundle_yaml
from crm_core.transfer.export_tables import ExportTable, core_tables
from crm_core.views import View

SPEC = "bundle.yaml"


@dataclass(frozen=True)
class ExportedFile(View):
    """One file of a bundle: its name in the folder, what its rows are, how many."""

    path: str
    entity: str
    rows: int


@dataclass(frozen=True)
class BundleExport(View):
    """What ``crm export --all`` wrote: the folder, its spec and its files in import order."""

    folder: str
    spec: str
    files: list[ExportedFile]


def write_bundle(
    session: Session,
    registry: Registry,
    entities: Mapping[str, ImportEntity],
    actor: Actor,
    folder: Path,
    *,
    force: bool = False,
) -> BundleExport:
    """Write every team, user, record, contact, deal, activity, task and stage to ``folder``.

    ``folder`` is created; one that holds files is refused unless ``force``
    (its files of the same names are then replaced). ``entities`` are the
    import entities, whose plugins' ones add their files.
    """
    permissions.require_admin(actor, "export the whole CRM (--all)")
    created = _prepare(folder, force)
    connection = session.connection()
    tables = [*core_tables(connection, registry), *plugin_tables(session, entities)]
    parts: list[Path] = []
    try:
        files = []
        for table in tables:
            part = folder / f"{table.path}.part"
            parts.append(part)
            files.append(ExportedFile(table.path, table.entity, _write(connection, table, part)))
        spec = folder / f"{SPEC}.part"
        parts.append(spec)
        spec.write_text(bundle_yaml(tables), encoding="utf-8", newline="")
        for part in parts:
            os.replace(part, part.with_suffix(""))
    except BaseException as exc:
        for part in parts:
            part.unlink(missing_ok=True)
        if created:
            folder.rmdir()
        if isinstance(exc, OSError):  # a full disk or a read-only folder: one line, not a trace
            raise InvalidInput(
                _(
                    "cannot write {path}: {error}",
                    path=parts[-1].with_suffix(""),
                    error=exc.strerror or exc,
                )
            ) from None
        raise
    return BundleExport(str(folder), str(folder / SPEC), files)


def _prepare(folder: Path, force: bool) -> bool:
    """Make sure ``folder`` exists and may be written; True when this call created it."""
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(_("{folder} is a file: --all needs a folder", folder=folder))
    if folder.is_dir():
        if not force and any(folder.iterdir()):
            raise InvalidInput(
                _("{folder} is not empty: choose an empty folder or add --force", folder=folder)
            )
        return False
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        raise InvalidInput(
            _("cannot create {folder}: {strerror}", folder=folder, strerror=exc.strerror)
        ) from None
    return True


def _write(connection: Connection, table: ExportTable, path: Path) -> int:
    """Write ``table`` to ``path`` as ``crm export`` writes CSV; return how many rows."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.columns)
        for row in table.rows(connection):
            writer.writerow(row)
            count += 1
    return count
