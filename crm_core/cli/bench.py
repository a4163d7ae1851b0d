"""``crm bench``: scheduler and read figures on a generated SQLite database."""

from __future__ import annotations

from pathlib import Path

import typer

from crm_core.cli import render


def bench(
    records: int = typer.Option(1_000_000, "--records", min=1, help="Owned leads to generate."),
    operators: int = typer.Option(50, "--operators", min=1, help="Operators, in 5 teams."),
    new: int = typer.Option(100_000, "--new", min=1, help="Unowned leads to assign."),
    db: Path | None = typer.Option(
        None, "--db", help="Path of the new SQLite file (must not exist) [a temporary directory]."
    ),
    keep: bool = typer.Option(False, "--keep", help="Keep the database and its twin copies."),
    import_rows: int | None = typer.Option(
        None, "--import-rows", min=1, help="Lead rows to import from CSV [as many as --records]."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print exact JSON."),
) -> None:
    """Time sweep, assign, reads and import on generated data, each against a baseline.

    Progress goes to stderr. The exit code is 0 even when a target is missed:
    look for the FAIL lines (or "passed": false in the JSON).
    """
    # Imported here, not at the top: every other command would pay for loading the benchmark.
    from crm_core.bench import runner

    params = runner.Params(records, operators, new, db, keep, import_rows)
    report = runner.run(params, log=lambda line: typer.echo(line, err=True))
    if as_json:
        render.emit_json(report.to_dict())
        return
    for line in report.lines():
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add ``crm bench`` to the main app."""
    app.command("bench")(bench)
