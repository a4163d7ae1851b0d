"""``crm assign``, ``crm sweep`` and ``crm worker``: running the workflows' rules.

After a real (not dry) run commits, the notices it raised are delivered.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import typer

from crm_core.cli import render
from crm_core.cli.state import parse_when, state
from crm_core.errors import CrmError
from crm_core.schedule.contain import Failure, exit_code

JSON = typer.Option(False, "--json", help="Print exact JSON.")
DRY_RUN = typer.Option(False, "--dry-run", help="Report what would happen; change nothing.")


def _assign_lines(results: list[Any], dry_run: bool) -> None:
    verb = "would assign" if dry_run else "assigned"
    for r in results:
        people = ", ".join(f"{name} {n}" for name, n in r.by_user.items()) or "nobody"
        typer.echo(f"{r.workflow}: {verb} {r.assigned} ({people})")
        for rule, n in r.by_rule.items():
            typer.echo(f"  rule {rule}: {n}")
        for why, n in r.left.items():
            typer.echo(f"  left unassigned, {why}: {n}")
        for problem in r.problems:
            typer.echo(f"  warning: {problem}")
        for failure in r.failures:
            typer.echo(f"  {failure.line()}")


def notified_line(notified: int, per_channel: dict[str, int], dry_run: bool) -> str:
    """``notified 3 (email 3, webhook 3)``, or ``would notify …`` for a dry run."""
    channels = ", ".join(f"{name} {n}" for name, n in per_channel.items()) or "no channel"
    return f"{'would notify' if dry_run else 'notified'} {notified} ({channels})"


def _sweep_lines(results: list[Any], dry_run: bool) -> None:
    prefix = "would have: " if dry_run else ""
    for r in results:
        typer.echo(
            f"{r.workflow}: {prefix}returned {r.returned}, rotated {r.rotated}, warned {r.warned}, "
            f"alerted {r.alerted}, reassigned {r.reassigned}"
        )
        for rule, n in r.by_rule.items():
            typer.echo(f"  {rule}: {n}")
        if r.notified:
            typer.echo(f"  {notified_line(r.notified, r.outbox, dry_run)}")
        for failure in r.failures:
            typer.echo(f"  {failure.line()}")


def _exit_for(failures: Sequence[Failure]) -> None:
    """After the good work was committed: exit 6 if a plugin failed, 7 for other failures."""
    code = exit_code(failures)
    if code:
        typer.echo(f"error: {len(failures)} failure(s), listed above; the rest was done", err=True)
        raise typer.Exit(code)


def _first_line(exc: Exception) -> str:
    what = str(exc) if isinstance(exc, CrmError) else f"{type(exc).__name__}: {exc}"
    return (what.splitlines() or [""])[0]


def _deliver(crm: Any, *, contain: bool = False) -> str | None:
    """Deliver the outbox after a commit; the line to print, or None when nothing was due.

    ``contain`` (the looping worker): a delivery that fails as a whole is a line
    to print, and the next tick tries again.
    """
    try:
        report = crm.deliver_outbox()
    except Exception as exc:
        if not contain:
            raise
        return f"outbox: delivery failed: {_first_line(exc)}"
    if not report.total:
        return None
    return (
        f"outbox: sent {report.sent}, retrying {report.retrying}, failed {report.failed}, "
        f"skipped {report.skipped}"
    )


def assign(ctx: typer.Context, dry_run: bool = DRY_RUN, as_json: bool = JSON) -> None:
    """Assign unowned records to operators by each workflow's rules (managers, admins)."""
    s = state(ctx)
    results = s.crm.assign(s.actor, dry_run=dry_run)
    delivered = None if dry_run else _deliver(s.crm)
    if as_json:
        render.emit_json(results)
    else:
        _assign_lines(results, dry_run)
        if delivered:
            typer.echo(delivered)
    _exit_for([f for r in results for f in r.failures])


def sweep(
    ctx: typer.Context,
    dry_run: bool = DRY_RUN,
    now: str | None = typer.Option(None, "--now", help="Sweep as of this ISO time."),
    as_json: bool = JSON,
) -> None:
    """Return idle records to pools, rotate them, warn owners, check stage limits and SLAs."""
    s = state(ctx)
    moment = parse_when(now, "--now") if now is not None else None
    results = s.crm.sweep(s.actor, now=moment, dry_run=dry_run)
    delivered = None if dry_run else _deliver(s.crm)
    if as_json:
        render.emit_json(results)
    else:
        _sweep_lines(results, dry_run)
        if delivered:
            typer.echo(delivered)
    _exit_for([f for r in results for f in r.failures])


def worker(
    ctx: typer.Context,
    interval: float = typer.Option(60.0, "--interval", min=1.0, help="Seconds between ticks."),
    once: bool = typer.Option(False, "--once", help="Run one tick and stop."),
) -> None:
    """Run the scheduler: sweep and assign every interval, then deliver the outbox.

    On PostgreSQL with autovacuum off it then vacuums and analyses the tables
    past autovacuum's thresholds (``crm db maintain``).

    One worker acts on a tick at a time; every worker delivers (they never
    take the same notice). A record or plugin that fails is reported on one
    line and skipped; a tick or a delivery that fails as a whole (the
    database unreachable) is reported and tried again at the next interval.
    Only ``--once`` exits non-zero for them.
    """
    s = state(ctx)
    s.process = "worker"
    while True:
        try:
            result = s.crm.tick()
        except Exception as exc:  # the worker outlives a bad tick; --once reports it as usual
            if once:
                raise
            stamp = s.crm.clock().isoformat(timespec="seconds")
            typer.echo(f"{stamp} tick failed: {_first_line(exc)}")
            time.sleep(interval)
            continue
        stamp = result.at.isoformat(timespec="seconds")
        if not result.ran:
            typer.echo(f"{stamp} another worker is running this tick; skipped")
        else:
            assigned = sum(a.assigned for a in result.assignments)
            returned = sum(w.returned for w in result.sweeps)
            rotated = sum(w.rotated for w in result.sweeps)
            warned = sum(w.warned for w in result.sweeps)
            typer.echo(
                f"{stamp} assigned {assigned}, returned {returned}, rotated {rotated}, "
                f"warned {warned}"
            )
        for failure in result.failures():
            typer.echo(f"{stamp} {failure.workflow}: {failure.line()}")
        delivered = _deliver(s.crm, contain=not once)
        if delivered:
            typer.echo(f"{stamp} {delivered}")
        _maintain(s.crm, stamp, once)
        if once:
            _exit_for(result.failures())
            return
        time.sleep(interval)


def _maintain(crm: Any, stamp: str, once: bool) -> None:
    """After a tick, what autovacuum would do when the server has it off. Routine upkeep is
    quiet, as autovacuum is (``crm db maintain`` says what it does); a failure is reported
    and tried again after the next tick, as a tick's is."""
    try:
        crm.maintain()
    except Exception as exc:
        if once:
            raise
        typer.echo(f"{stamp} maintenance failed: {_first_line(exc)}")


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.command("assign")(assign)
    app.command("sweep")(sweep)
    app.command("worker")(worker)
