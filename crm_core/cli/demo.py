"""``crm demo``: a demo database in the current folder, two months of simulated work, reports."""

from __future__ import annotations

from pathlib import Path

import typer

from crm_core.cli import render
from crm_core.errors import Conflict
from crm_core.i18n import _


def demo(
    path: Path = typer.Option(Path("crm-demo.db"), "--db", help="The SQLite file to create."),
    records: int = typer.Option(2000, "--records", min=10, help="Records per kind."),
    days: int = typer.Option(60, "--days", min=1, max=365, help="Days of work to simulate."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed, the same demo."),
    fresh: bool = typer.Option(False, "--fresh", help="Replace the file if it exists."),
) -> None:
    """Create a demo CRM: users, teams, the shipped workflows, records, and DAYS of work."""
    from crm_core.demo.run import run  # loaded only for this command

    if path.exists() and not fresh:
        raise Conflict(_("{path} exists: pass --fresh to replace it, or --db OTHER.db", path=path))
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    typer.echo(f"building {path}: {records} records per kind, {days} days of work…", err=True)
    crm, summary = run(path, per_kind=records, days=days, seed=seed)
    try:
        typer.echo(f"demo database: {summary.path}")
        typer.echo(f"workflows: {', '.join(summary.workflows) or 'none'}")
        for skipped in summary.skipped:
            typer.echo(f"skipped workflow {skipped}")
        created = ", ".join(f"{k} {n}" for k, n in sorted(summary.created.items()))
        typer.echo(f"records: {created}")
        acts = summary.actions
        typer.echo(
            f"assigned {acts['assign']}, returned to pools {acts['return']}, "
            f"claimed {acts['claim']}, rotated {acts['rotate']}, reassigned {acts['reassign']}, "
            f"activities {acts['activity']}, stage moves {acts['move']} "
            f"({acts['move refused']} refused by guards)"
        )
        typer.echo(f"won: {', '.join(f'{k} {n}' for k, n in sorted(summary.won.items()))}")
        kinds = sorted(summary.created)
        first = "lead" if "lead" in kinds else kinds[0]
        for name, kind in (("funnel", first), ("win_rate_by_owner", first), ("pool_stats", None)):
            result = crm.run_report("admin", name, kind=kind)
            rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
            render.table(rows, result.columns, result.title)
        typer.echo(f"next: crm --db {path} --as alice record list   (or --as admin report list)")
    finally:
        crm.close()


def register(app: typer.Typer) -> None:
    """Add this command to the main app."""
    app.command("demo")(demo)
