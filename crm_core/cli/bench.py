"""``crm bench``: scheduler and read figures on a generated SQLite database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from crm_core.cli import render
from crm_core.errors import InvalidInput
from crm_core.i18n import _

if TYPE_CHECKING:
    from crm_core.bench import runner
    from crm_core.bench import soak as soak_run


def bench(
    records: int = typer.Option(1_000_000, "--records", min=1, help="Owned leads to generate."),
    operators: int = typer.Option(50, "--operators", min=1, help="Operators, in 5 teams."),
    new: int = typer.Option(100_000, "--new", min=1, help="Unowned leads to assign."),
    db: str | None = typer.Option(
        None,
        "--db",
        help="Path of the new SQLite file (must not exist) [a temporary directory], "
        "or a PostgreSQL server's URL: the run creates its databases there.",
    ),
    keep: bool = typer.Option(False, "--keep", help="Keep the database and its twin copies."),
    import_rows: int | None = typer.Option(
        None, "--import-rows", min=1, help="Lead rows to import from CSV [as many as --records]."
    ),
    soak: float | None = typer.Option(
        None, "--soak", min=5, help="Run the mixed-load soak for SECONDS instead (PostgreSQL)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print exact JSON."),
) -> None:
    """Time sweep, assign, reads and import on generated data, each against a baseline.

    With ``--db postgresql+psycopg://…`` the data is built on that server, in
    databases of the run's own (dropped unless ``--keep``).

    With ``--soak SECONDS --db postgresql+psycopg://…``: operators, a manager,
    an importer and a worker on a new database of that server (dropped unless
    ``--keep``), then latencies per operation and the checks. Progress goes to
    stderr. The exit code is 0 even when a target is missed: look for the FAIL
    lines (or "passed": false in the JSON).
    """
    # Imported here, not at the top: every other command would pay for loading the benchmark.
    log = lambda line: typer.echo(line, err=True)  # noqa: E731
    report: runner.Report | soak_run.SoakReport
    if soak is not None:
        from crm_core.bench import soak as soak_run

        if db is None:
            raise InvalidInput(_("--soak needs --db postgresql+psycopg://USER@HOST/DB (a server)"))
        report = soak_run.run(soak_run.Params(soak, db, keep=keep), log)
    else:
        from crm_core.bench import runner

        server = db if db and "://" in db else None
        path = Path(db) if db and not server else None
        params = runner.Params(records, operators, new, path, keep, import_rows, server)
        report = runner.run(params, log=log)
    if as_json:
        render.emit_json(report.to_dict())
        return
    for line in report.lines():
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add ``crm bench`` to the main app."""
    app.command("bench")(bench)
