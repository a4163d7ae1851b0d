"""``crm report``: the reports of the core and the plugins, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import sys

import typer

from crm_core.cli import render
from crm_core.cli.state import parse_sets, parse_when, state
from crm_core.errors import InvalidInput, quote
from crm_core.i18n import _

FORMATS = ("table", "csv", "json")


def report(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A report's name, or `list` to see them."),
    kind: str | None = typer.Option(None, "--kind", help="The kind of record to report on."),
    by: str | None = typer.Option(None, "--by", help="A field to group by."),
    since: str | None = typer.Option(None, "--since", help="Only records created since (ISO)."),
    params: list[str] | None = typer.Option(None, "--param", help="NAME=VALUE (repeat)."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
) -> None:
    """Run a report; `crm report list` names them all."""
    s = state(ctx)
    if fmt not in FORMATS:
        raise InvalidInput(
            _(
                "--format must be one of {names}, not {fmt}",
                names=", ".join(FORMATS),
                fmt=quote(fmt),
            )
        )
    if name == "list":
        rows = [
            {"name": r.name, "label": f"{r.label.get('en', '')} / {r.label.get('zh', '')}",
             "needs": "--kind" if r.needs_kind else "", "plugin": r.plugin}
            for r in s.crm.reports()
        ]  # fmt: skip
        render.table(rows, ["name", "label", "needs", "plugin"], "reports")
        return
    moment = parse_when(since, "--since") if since is not None else None
    result = s.crm.run_report(
        s.actor, name, kind=kind, by=by, since=moment, params=parse_sets(params)
    )
    if fmt == "json":
        render.emit_json(result)
    elif fmt == "csv":
        out = csv.writer(sys.stdout)
        out.writerow(result.columns)
        out.writerows(result.rows)
    else:
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        render.table(rows, result.columns, result.title)
        for note in result.notes:
            typer.echo(f"note: {note}")


def register(app: typer.Typer) -> None:
    """Add this command to the main app."""
    app.command("report")(report)
