"""``crm import SPEC.yaml``: the report of an import spec, as text or JSON."""

from __future__ import annotations

from pathlib import Path

import typer

from crm_core.cli import render
from crm_core.cli.state import CliState
from crm_core.transfer.bundle.report import BundleReport, FileReport

SPEC_SUFFIXES = (".yaml", ".yml")
SHOWN_PROBLEMS = 5
SHOWN_VALUES = 10


def import_bundle(
    s: CliState,
    path: Path,
    dry_run: bool,
    atomic: bool,
    errors: Path | None,
    batch: int,
    as_json: bool,
) -> None:
    """Run the spec at ``path`` and print what it did; exit 2 when some row was rejected."""
    report = s.crm.import_bundle(
        s.actor, path, dry_run=dry_run, atomic=atomic, errors_path=errors, batch_size=batch
    )
    if as_json:
        render.emit_json(report)
    else:
        summary(report)
    if report.rejected:
        where = f"listed in {report.errors_file}" if report.errors_file else "see above"
        kept = "" if report.kept or dry_run else " nothing was kept (--atomic)"
        typer.echo(f"error: {report.rejected} row(s) rejected ({where});{kept}".rstrip(";"),
                   err=True)  # fmt: skip
        raise typer.Exit(2)


def summary(report: BundleReport) -> None:
    """The report as a few lines per file."""
    name = Path(report.spec).name
    if report.dry_run:
        typer.echo(f"dry run of {name}, nothing kept (counts say what would be done):")
    elif not report.kept:
        typer.echo(f"{name} not imported: --atomic keeps nothing when a row is rejected")
    else:
        typer.echo(f"imported {name}:")
    for file in report.files:
        _file(file)


def _file(file: FileReport) -> None:
    what = f"{file.entity} {file.kind}" if file.kind else file.entity
    typer.echo(
        f"  {file.file} ({what}): {file.rows} rows: {file.created} created, "
        f"{file.updated} updated, {file.unchanged} unchanged, {file.skipped} skipped, "
        f"{file.rejected} rejected"
    )
    for field, values in file.unmapped.items():
        ranked = sorted(values.items(), key=lambda v: (-v[1], v[0]))
        shown = ", ".join(f"'{v}' (×{n})" for v, n in ranked[:SHOWN_VALUES])
        more = f" and {len(ranked) - SHOWN_VALUES} more" if len(ranked) > SHOWN_VALUES else ""
        typer.echo(f"    unmapped {field}: {shown}{more}")
    for problem in file.problems[:SHOWN_PROBLEMS]:
        where = problem.column or problem.field
        typer.echo(f"    line {problem.line}{f', {where}' if where else ''}: {problem.reason}")
    if file.rejected > SHOWN_PROBLEMS:
        typer.echo(f"    … and {file.rejected - SHOWN_PROBLEMS} more: --errors FILE lists them")
