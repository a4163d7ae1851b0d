"""``crm workflow``: check the YAML an admin writes."""

from __future__ import annotations

import json

import typer

from crm_core.cli import render
from crm_core.cli.state import state

workflow_app = typer.Typer(help="YAML workflows: validate, schema.", no_args_is_help=True)


@workflow_app.command("validate")
def validate(
    ctx: typer.Context,
    files: list[str] = typer.Argument(..., help="Workflow files."),
    as_json: bool = typer.Option(False, "--json", help="Print exact JSON."),
) -> None:
    """Check workflow files; print file:line:column errors and exit 2 if any is wrong."""
    crm = state(ctx).crm
    results = [crm.check_workflow(f) for f in files]
    if as_json:
        render.emit_json(
            [
                {"file": r.file, "ok": not r.problems,
                 "problems": [p.to_dict() for p in r.problems]}
                for r in results
            ]
        )  # fmt: skip
    for result in results:
        if result.workflow is not None and not as_json:
            w = result.workflow
            typer.echo(
                f"ok {result.file}: workflow {w.name} v{w.data['version']} for "
                f"{w.data['kind']}, {len(w.stage_ids)} stages"
            )
        for problem in result.problems:
            typer.echo(str(problem), err=True)
    if any(r.problems for r in results):
        raise typer.Exit(2)


@workflow_app.command("apply")
def apply(ctx: typer.Context, file: str) -> None:
    """Apply a workflow file to its kind (admins); refused with located errors if invalid."""
    s = state(ctx)
    applied = s.crm.apply_workflow(s.actor, file)
    typer.echo(f"applied {applied.name} v{applied.version} to {applied.kind}")


@workflow_app.command("list")
def list_(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List the applied workflows."""
    s = state(ctx)
    columns = ["name", "kind", "version", "stages", "applied_at"]
    render.views(s.crm.list_workflows(s.actor), columns, as_json, "workflows")


@workflow_app.command("schema")
def schema(ctx: typer.Context) -> None:
    """Print the JSON Schema of workflow files (point your editor's YAML plugin at it)."""
    typer.echo(json.dumps(state(ctx).crm.workflow_schema(), indent=2))


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.add_typer(workflow_app, name="workflow")
