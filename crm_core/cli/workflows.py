"""``crm workflow``: check the YAML an admin writes, see what applying it would change, apply it."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import typer

from crm_core.api import Crm
from crm_core.cli import render
from crm_core.cli.scheduler import notified_line
from crm_core.cli.state import state
from crm_core.errors import Conflict
from crm_core.workflow.plan import WorkflowPlan, parse_mapping

workflow_app = typer.Typer(
    help="YAML workflows: validate, plan, simulate, apply, list, schema.", no_args_is_help=True
)

MAP = typer.Option(
    None, "--map", metavar="OLD=NEW",
    help="Move the records of a stage the file removes (OLD) to one it has (NEW); repeat.",
)  # fmt: skip


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


def _check(crm: Crm, file: str) -> None:
    """Print a bad file's problems as ``validate`` does and exit 2."""
    result = crm.check_workflow(file)
    for problem in result.problems:
        typer.echo(str(problem), err=True)
    if result.problems:
        raise typer.Exit(2)


def _label(label: Any) -> str:
    if isinstance(label, dict):
        return "/".join(str(v) for v in label.values()) or "∅"
    return "∅" if label is None else str(label)


def _verdict(plan: WorkflowPlan) -> str:
    if not plan.ok:
        return "refused"
    return "needs --create-users" if plan.missing_users else "ok"


def _show_plan(plan: WorkflowPlan) -> None:
    old = f"v{plan.old_version}" if plan.old_version is not None else "none applied"
    renamed = [
        f"{r.old} → {r.new} (--map)" if r.mapped
        else f"{r.old}: {_label(r.old_label)} → {_label(r.new_label)}"
        for r in plan.renamed
    ]  # fmt: skip
    removed = [
        f"{r.id}: {r.live} live record(s)" + (f" → {r.to}" if r.to else "") for r in plan.removed
    ]
    pairs: list[tuple[str, object]] = [
        ("workflow", f"{plan.workflow} for {plan.kind}"),
        ("version", f"{old} → v{plan.new_version}"),
    ]
    for key, lines in (("added", plan.added), ("removed", removed), ("renamed", renamed)):
        pairs += [(key if i == 0 else "", line) for i, line in enumerate(lines or ["none"])]
    pairs += [
        ("reordered", plan.reordered),
        ("changed stages", ", ".join(plan.changed_stages) or "none"),
        ("changed sections", ", ".join(plan.changed_sections) or "none"),
        ("not in a stage", f"{plan.unstaged} live record(s)"),
        ("missing users", ", ".join(plan.missing_users) or "none"),
        ("apply", _verdict(plan)),
    ]
    render.fields_block(pairs)


@workflow_app.command("plan")
def plan(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="The workflow file."),
    maps: list[str] | None = MAP,
    as_json: bool = typer.Option(False, "--json", help="Print exact JSON."),
) -> None:
    """Show what applying FILE would change, changing nothing; exit 5 if apply would be refused."""
    s = state(ctx)
    mapping = parse_mapping(maps)
    _check(s.crm, file)
    result = s.crm.plan_workflow(s.actor, file, mapping)
    if as_json:
        render.emit_json(result.to_dict())
    else:
        _show_plan(result)
    for blocker in result.blockers:
        typer.echo(f"error: {blocker}", err=True)
    if result.blockers:
        raise typer.Exit(Conflict.exit_code)


@workflow_app.command("apply")
def apply(
    ctx: typer.Context,
    file: str,
    maps: list[str] | None = MAP,
    create_users: bool = typer.Option(
        False,
        "--create-users",
        help="Create the users it names that do not exist (role and team from its users: "
        "section; pool admins are managers, others operators).",
    ),
) -> None:
    """Apply a workflow file to its kind (admins); refused if invalid or naming missing users."""
    s = state(ctx)
    applied = s.crm.apply_workflow(s.actor, file, parse_mapping(maps), create_users=create_users)
    typer.echo(f"applied {applied.name} v{applied.version} to {applied.kind}")


@workflow_app.command("simulate")
def simulate(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="The workflow file."),
    days: int = typer.Option(30, "--days", min=1, max=3650, help="Days to run forward."),
    as_json: bool = typer.Option(False, "--json", help="Print exact JSON."),
) -> None:
    """Run the scheduler now and daily to DAYS days ahead with FILE in place; keep nothing."""
    s = state(ctx)
    _check(s.crm, file)
    report = s.crm.simulate_workflow(s.actor, file, days)
    if as_json:
        render.emit_json(report)
        return
    columns = ["day", "run_at", "assigned", "warned", "returned", "rotated", "alerted",
               "reassigned", "notified"]  # fmt: skip
    title = f"simulated {days} day(s), day 0 (now) to day {days}; nothing kept"
    render.table([d.to_dict() for d in report], columns, title)
    outbox: Counter[str] = Counter()
    for day in report:
        outbox.update(day.outbox)
    notified = sum(d.notified for d in report)
    typer.echo(f"{notified_line(notified, dict(sorted(outbox.items())), True)}; nothing sent")


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
