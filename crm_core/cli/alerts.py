"""``crm alerts``: the dashboard figures that crossed their threshold (超量预警)."""

from __future__ import annotations

from pathlib import Path

import typer

from crm_core.cli import render
from crm_core.cli.state import state
from crm_core.shipped import dashboard_file


def alerts(
    ctx: typer.Context,
    file: Path | None = typer.Argument(
        None,
        help="The dashboard file [./dashboards/dashboard.yaml, else the shipped one].",
        show_default=False,
    ),
    show_all: bool = typer.Option(False, "--all", help="Every figure, not only the alerts."),
    as_json: bool = typer.Option(False, "--json", help="Print exact JSON."),
) -> None:
    """Compute the dashboard's figures as you; list those over (or under) their threshold.

    The exit code is 0 whatever the figures say; a bad file exits 2 with located errors.
    """
    s = state(ctx)
    figures = s.crm.alerts(s.actor, file or dashboard_file())
    shown = figures if show_all else [f for f in figures if f.alert]
    if as_json:
        render.emit_json(shown)
        return
    rows = [
        {"id": f.id, "label": f"{f.label['en']} / {f.label['zh']}", "value": f.value,
         "threshold": threshold(f.above, f.below), "alert": "ALERT" if f.alert else "ok"}
        for f in shown
    ]  # fmt: skip
    title = f"alerts ({len(shown)} of {len(figures)} figures)"
    render.table(rows, ["id", "label", "value", "threshold", "alert"], title)


def threshold(above: float | None, below: float | None) -> str:
    """``> 50``, ``< 0.3`` or both, as the dashboard file set them."""
    parts = [f"> {above:g}"] if above is not None else []
    parts += [f"< {below:g}"] if below is not None else []
    return ", ".join(parts)


def register(app: typer.Typer) -> None:
    """Add ``crm alerts`` to the main app."""
    app.command("alerts")(alerts)
