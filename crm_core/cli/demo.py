"""``crm demo``: a demo database in the current folder, two months of simulated work, reports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from crm_core.cli import render
from crm_core.errors import Conflict
from crm_core.i18n import _

if TYPE_CHECKING:
    from crm_core.api import Crm
    from crm_core.demo.run import DemoSummary

DEMO_FILE = Path("crm-demo.db")
DEMO_USER = "alice"
"""Who ``crm tui --demo`` opens as, unless ``--as`` says otherwise: one of the demo's operators."""


def build_demo(path: Path, *, records: int, days: int, seed: int) -> tuple[Crm, DemoSummary]:
    """Build the demo at ``path``, showing each phase's progress on stderr as it goes."""
    # rich and the demo load only when a demo is built.
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    from crm_core.demo.run import run

    columns = (TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True)) as progress:
        phases: dict[str, TaskID] = {}

        def step(phase: str, done: int, total: int) -> None:
            if phase not in phases:
                phases[phase] = progress.add_task(phase, total=total)
            progress.update(phases[phase], completed=done)

        return run(path, per_kind=records, days=days, seed=seed, step=step)


def demo(
    path: Path = typer.Option(DEMO_FILE, "--db", help="The SQLite file to create."),
    records: int = typer.Option(2000, "--records", min=10, help="Records per kind."),
    days: int = typer.Option(60, "--days", min=1, max=365, help="Days of work to simulate."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed, the same demo."),
    fresh: bool = typer.Option(False, "--fresh", help="Replace the file if it exists."),
) -> None:
    """Create a demo CRM: users, teams, the shipped workflows, records, and DAYS of work."""
    if path.exists() and not fresh:
        raise Conflict(_("{path} exists: pass --fresh to replace it, or --db OTHER.db", path=path))
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    typer.echo(f"building {path}: {records} records per kind, {days} days of work…", err=True)
    crm, summary = build_demo(path, records=records, days=days, seed=seed)
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
        next_steps(crm, path)
    finally:
        crm.close()


def next_steps(crm: Crm, path: Path) -> None:
    """Who is in the demo, and the commands that open the TUI as its operator, manager and admin."""
    users = [u for u in crm.list_users("admin") if u.active]
    rows = [{"user": u.name, "role": u.role, "team": u.team or ""} for u in users]
    render.table(rows, ["user", "role", "team"], "the demo's users")
    # `crm tui --demo` opens ./crm-demo.db; another file is opened by name.
    tui = "tui --demo" if path == DEMO_FILE else "tui"
    db = "" if path == DEMO_FILE else f"--db {path} "
    # The operator is the one `crm tui --demo` opens as, the manager theirs, when the demo has them.
    me = next((u for u in users if u.name == DEMO_USER), None)
    first = sorted(users, key=lambda u: (u.name != DEMO_USER, me is None or u.team != me.team))
    typer.echo("next:")
    for role in ("operator", "manager", "admin"):
        user = next((u for u in first if u.role == role), None)
        if user is None:
            continue
        as_user = "" if user.name == DEMO_USER and not db else f"--as {user.name} "
        team = f" of team {user.team}" if user.team else ""
        typer.echo(f"  {f'crm {db}{as_user}{tui}':<44} # as {user.name}, {role}{team}")
    cli = f"crm --db {path} --as {DEMO_USER} record list"
    typer.echo(f"  {cli:<44} # the same data from the command line")


def register(app: typer.Typer) -> None:
    """Add this command to the main app."""
    app.command("demo")(demo)
