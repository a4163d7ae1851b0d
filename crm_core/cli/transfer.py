"""``crm import`` and ``crm export``: records in and out as CSV or JSON Lines."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from crm_core.cli import bundle, render
from crm_core.cli.state import state
from crm_core.errors import InvalidInput
from crm_core.i18n import _
from crm_core.transfer.columns import parse_map
from crm_core.transfer.importer import DEFAULT_BATCH
from crm_core.transfer.readers import EXTENSIONS
from crm_core.transfer.report import ImportProgress, ImportReport

SHOWN_PROBLEMS = 10


def import_records(
    ctx: typer.Context,
    kind: str = typer.Argument(
        ..., help="The kind of record, e.g. lead; or an import spec, bundle.yaml."
    ),
    file: Path | None = typer.Argument(None, help="A .csv (header row) or .jsonl file."),
    mapping: list[str] | None = typer.Option(
        None,
        "--map",
        metavar="COLUMN=FIELD",
        help="Read COLUMN into FIELD (or title, owner, stage); COLUMN=- ignores it. Repeat.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and report; keep nothing."),
    on_duplicate: str = typer.Option(
        "skip",
        "--on-duplicate",
        metavar="skip|merge|refuse",
        help="A row whose dedupe key is taken: skip it, fill the record's empty fields, "
        "or reject the row.",
    ),
    errors: Path | None = typer.Option(
        None,
        "--errors",
        help="Write rejected and skipped rows here (CSV: line, column, field, reason).",
    ),
    batch: int = typer.Option(DEFAULT_BATCH, "--batch", help="Rows per transaction."),
    owner: str | None = typer.Option(
        None, "--owner", help="Owner of the rows without an owner cell (default: none)."
    ),
    auto_assign: bool = typer.Option(
        False, "--auto-assign", help="Let the workflow's rules own the rows without an owner."
    ),
    fmt: str | None = typer.Option(
        None, "--format", metavar="csv|jsonl", help="The file's format (default: its extension)."
    ),
    text_encoding: str = typer.Option(
        "utf-8",
        "--encoding",
        metavar="ENC",
        help="The file's text encoding: utf-8 (a BOM is fine), gb18030, gbk…",
    ),
    progress: bool = typer.Option(
        False, "--progress", help="Show the progress bar even when stderr is not a terminal."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as exact JSON."),
    atomic: bool = typer.Option(
        False, "--atomic", help="Spec only: keep every file or nothing (one transaction)."
    ),
) -> None:
    """Import records of KIND from FILE in batches (managers, admins); or, given one
    SPEC.yaml, every file the import spec names, in order (admins).

    Exit 0 when every row was imported, merged or skipped; 2 when some row was
    rejected (5 when only duplicates were, with --on-duplicate refuse). The
    rows that were accepted are kept either way, except with --atomic.
    """
    s = state(ctx)
    if file is None:
        if Path(kind).suffix.lower() not in bundle.SPEC_SUFFIXES:
            raise InvalidInput(_("give KIND FILE, or one import spec ending in .yaml or .yml"))
        bundle.import_bundle(s, Path(kind), dry_run, atomic, errors, batch, as_json)
        return
    if atomic:
        raise InvalidInput(_("--atomic goes with an import spec (bundle.yaml), not KIND FILE"))
    columns = parse_map(mapping)
    with _progress_bar(progress or sys.stderr.isatty()) as callback:
        report = s.crm.import_records(
            s.actor,
            kind,
            file,
            mapping=columns,
            on_duplicate=on_duplicate,
            dry_run=dry_run,
            batch_size=batch,
            errors_path=errors,
            auto_assign=auto_assign,
            owner=owner,
            fmt=fmt,
            encoding=text_encoding,
            progress=callback,
        )
    if as_json:
        render.emit_json(report)
    else:
        _summary(report)
    if report.rejected:
        where = f"listed in {report.errors_file}" if report.errors_file else "see above"
        typer.echo(f"error: {report.rejected} row(s) rejected ({where})", err=True)
        raise typer.Exit(5 if report.rejected == report.refused else 2)


def _summary(report: ImportReport) -> None:
    """The report as a few lines of text."""
    name = Path(report.file).name
    head = f"dry run of {name}, nothing kept" if report.dry_run else f"imported {name}"
    typer.echo(
        f"{head}: {report.rows} rows of {report.kind} in {report.batches} batch(es): "
        f"{report.created} created, {report.merged} merged, {report.skipped} skipped, "
        f"{report.rejected} rejected" + (f"; {report.assigned} assigned" if report.assigned else "")
    )
    if report.errors_file and (report.rejected or report.skipped):
        typer.echo(f"errors file: {report.errors_file}")
        return
    for problem in report.problems[:SHOWN_PROBLEMS]:
        where = f", {problem.column or problem.field}" if problem.column or problem.field else ""
        typer.echo(f"  line {problem.line}{where}: {problem.reason}")
    more = report.rejected + report.skipped - min(len(report.problems), SHOWN_PROBLEMS)
    if more > 0:
        typer.echo("  … and more: use --errors FILE to list every one")


@contextmanager
def _progress_bar(show: bool) -> Iterator[Callable[[ImportProgress], None] | None]:
    """A rich progress bar on stderr, started by the first batch; nothing when ``show`` is false.

    Started late so that an import refused before its first batch prints only its error.
    """
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("importing"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows, {task.fields[created]:,} new"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task("import", total=None, rows=0, created=0)

    def update(p: ImportProgress) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(
            task, total=p.bytes_total, completed=p.bytes_read, rows=p.rows, created=p.created
        )

    try:
        yield update
    finally:
        bar.stop()


def export_records(
    ctx: typer.Context,
    kind: str | None = typer.Argument(None, help="The kind of record, e.g. lead."),
    fmt: str | None = typer.Option(
        None, "--format", metavar="csv|jsonl", help="(default: --out's extension, else csv)"
    ),
    out: Path | None = typer.Option(None, "--out", help="Write here (default: stdout)."),
    everything: Path | None = typer.Option(
        None,
        "--all",
        metavar="DIR",
        help="Instead of KIND: the whole CRM as CSV files and DIR/bundle.yaml (admins).",
    ),
    force: bool = typer.Option(False, "--force", help="With --all: write into a non-empty DIR."),
) -> None:
    """Export the live records of KIND you may see, as `crm import` reads them; or, with
    --all DIR, the whole CRM and the import spec that reads it back (admins).

    --all DIR writes every team, user, record, contact, deal, activity, task
    and stage reached, and DIR/bundle.yaml (`crm import DIR/bundle.yaml`).
    """
    s = state(ctx)
    if everything is not None:
        if kind is not None or fmt is not None or out is not None:
            raise InvalidInput(
                _("--all exports every kind to its folder: drop KIND, --format, --out")
            )
        bundle = s.crm.export_all(s.actor, everything, force=force)
        for file in bundle.files:
            typer.echo(f"{file.path}: {file.rows} {file.entity} row(s)")
        typer.echo(f"exported to {bundle.folder}; import with `crm import {bundle.spec}`")
        return
    if kind is None:
        raise InvalidInput(_("give the KIND to export, or --all DIR for everything"))
    if force:
        raise InvalidInput(_("--force goes with --all DIR"))
    chosen = fmt or (EXTENSIONS.get(out.suffix.lower(), "csv") if out else "csv")
    if out is None:
        s.crm.export_records(s.actor, kind, sys.stdout, chosen)
        return
    part = out.with_name(out.name + ".part")
    try:
        with part.open("w", encoding="utf-8", newline="") as stream:
            count = s.crm.export_records(s.actor, kind, stream, chosen)
        os.replace(part, out)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    typer.echo(f"exported {count} {kind} record(s) to {out}")


def register(app: Any) -> None:
    """Add ``crm import`` and ``crm export`` to the main app."""
    app.command("import")(import_records)
    app.command("export")(export_records)
