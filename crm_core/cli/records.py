"""``crm record`` and ``crm journal``."""

from __future__ import annotations

import typer

from crm_core.cli import render
from crm_core.cli.state import parse_sets, state
from crm_core.views import RecordView

record_app = typer.Typer(help="Customer records.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print exact JSON.")
SET = typer.Option(None, "--set", help="FIELD=VALUE (repeat); an empty VALUE clears.")
LIST_COLUMNS = ["id", "kind", "title", "stage", "owner", "pool", "last_activity_at"]


def _show(record: RecordView) -> None:
    pairs: list[tuple[str, object]] = [
        ("id", record.id), ("kind", record.kind), ("title", record.title),
        ("stage", record.stage), ("owner", record.owner), ("pool", record.pool),
        ("created", record.created_at.isoformat()), ("updated", record.updated_at.isoformat()),
        ("last activity", record.last_activity_at.isoformat() if record.last_activity_at else None),
        ("archived", record.archived_at.isoformat() if record.archived_at else None),
        ("version", record.version),
    ]  # fmt: skip
    pairs += [(f"  {k}", v) for k, v in sorted(record.fields.items())]
    render.fields_block(pairs)


@record_app.command("add")
def record_add(
    ctx: typer.Context,
    kind: str,
    sets: list[str] | None = SET,
    title: str | None = typer.Option(None, "--title", help="Title [first text field]."),
    owner: str | None = typer.Option(None, "--owner", help="Owner [you]."),
    merge: bool = typer.Option(False, "--merge", help="Merge into a duplicate, not refuse."),
    auto_assign: bool = typer.Option(
        False, "--auto-assign", help="Let the workflow's rules pick the owner (managers, admins)."
    ),
    as_json: bool = JSON,
) -> None:
    """Add a record of KIND and print its id."""
    s = state(ctx)
    values = s.crm.coerce_fields(kind, parse_sets(sets))
    result = s.crm.add_record(
        s.actor, kind, values, title=title, owner=owner, merge=merge, auto_assign=auto_assign
    )
    if as_json:
        render.emit_json(result)
    elif result.merged:
        typer.echo(result.record.id)
        filled = ", ".join(result.filled) or "nothing"
        kept = f"; kept its own {', '.join(result.kept)}" if result.kept else ""
        typer.echo(f"merged into #{result.record.id}: filled {filled}{kept}", err=True)
    else:
        typer.echo(result.record.id)


@record_app.command("update")
def record_update(
    ctx: typer.Context,
    record_id: int,
    sets: list[str] | None = SET,
    title: str | None = typer.Option(None, "--title"),
    owner: str | None = typer.Option(None, "--owner", help="Reassign (managers, admins)."),
    if_version: int | None = typer.Option(
        None, "--if-version", help="Refuse (exit 5) if the record changed since this version."
    ),
    as_json: bool = JSON,
) -> None:
    """Change a record's fields, title or owner."""
    s = state(ctx)
    kind = s.crm.get_record(s.actor, record_id).kind
    values = s.crm.coerce_fields(kind, parse_sets(sets))
    record = s.crm.update_record(
        s.actor, record_id, values, title=title, owner=owner, expected_version=if_version
    )
    if as_json:
        render.emit_json(record)
    else:
        typer.echo(f"record #{record.id} at version {record.version}")


@record_app.command("show")
def record_show(ctx: typer.Context, record_id: int, as_json: bool = JSON) -> None:
    """Show one record with its fields."""
    from crm_core import quickread

    s = state(ctx)
    record = quickread.get_record(
        s.db, s.actor, record_id, extra_plugins=s.extra_plugins, entry_points=s.entry_points
    ) or s.crm.get_record(s.actor, record_id)
    if as_json:
        render.emit_json(record)
    else:
        _show(record)


@record_app.command("list")
def record_list(
    ctx: typer.Context,
    kind: str | None = typer.Option(None, "--kind"),
    owner: str | None = typer.Option(None, "--owner"),
    stage: str | None = typer.Option(None, "--stage"),
    where: list[str] | None = typer.Option(None, "--where", help="FIELD=VALUE (repeat)."),
    archived: bool = typer.Option(False, "--archived", help="Include archived records."),
    limit: int = typer.Option(50, "--limit"),
    before: int | None = typer.Option(None, "--before", help="Page: ids below this one."),
    as_json: bool = JSON,
) -> None:
    """List the records you may see, newest first."""
    s = state(ctx)
    filters = parse_sets(where)
    values = s.crm.coerce_fields(kind, filters) if kind and filters else dict(filters)
    rows = s.crm.list_records(
        s.actor, kind=kind, owner=owner, stage=stage, where=values, archived=archived,
        limit=limit, before_id=before,
    )  # fmt: skip
    render.views(rows, LIST_COLUMNS, as_json, "records")


@record_app.command("move")
def record_move(
    ctx: typer.Context,
    record_id: int,
    stage: str,
    reason: str | None = typer.Option(None, "--reason", help="Why (required for lost)."),
) -> None:
    """Move a record to another stage of its workflow."""
    s = state(ctx)
    record = s.crm.move_record(s.actor, record_id, stage, reason=reason)
    typer.echo(f"record #{record.id} is now in {record.stage}")


@record_app.command("why")
def record_why(ctx: typer.Context, record_id: int, as_json: bool = JSON) -> None:
    """Say who owns a record and why, and what the workflow will do to it next."""
    s = state(ctx)
    view = s.crm.why(s.actor, record_id)
    if as_json:
        render.emit_json(view)
        return
    typer.echo(f"#{view.record_id} {view.title} ({view.kind}, stage {view.stage or '-'})")
    if view.owner:
        since = f" since {render.cell(view.owner_since)}" if view.owner_since else ""
        typer.echo(f"owner: {view.owner}{since} ({view.owner_cause or 'cause unknown'})")
    else:
        typer.echo("owner: nobody")
    if view.pool:
        reason = f": {view.pool_reason}" if view.pool_reason else ""
        since = render.cell(view.pool_since) if view.pool_since else "?"
        typer.echo(f"pool: {view.pool} since {since} ({view.pool_cause}){reason}")
    if view.rotations:
        typer.echo(f"rotations so far: {view.rotations}")
    if view.route:
        typer.echo(f"route: {view.route}")
    for c in view.candidates:
        typer.echo(f"  {c.user}: {c.state}" + (f" ({c.detail})" if c.detail else ""))
    for note in view.notes:
        typer.echo(f"note: {note}")
    if not view.upcoming:
        typer.echo("next: nothing scheduled")
    for event in view.upcoming:
        local = f" ({event.local})" if view.timezone != "UTC" else ""
        typer.echo(f"next: {render.cell(event.at)} UTC{local} {event.event} [{event.rule}]")


@record_app.command("convert")
def record_convert(
    ctx: typer.Context,
    record_id: int,
    kind: str,
    sets: list[str] | None = SET,
    title: str | None = typer.Option(None, "--title", help="Title [the old record's]."),
    deal_title: str | None = typer.Option(None, "--deal", help="Open a first deal, titled so."),
    deal_amount: str = typer.Option("0", "--amount", help="The first deal's amount."),
) -> None:
    """Convert a record (a qualified lead) into a new record of KIND; print the new id."""
    s = state(ctx)
    values = s.crm.coerce_fields(kind, parse_sets(sets))
    record = s.crm.convert_record(
        s.actor, record_id, kind, values, title=title, deal_title=deal_title,
        deal_amount=deal_amount,
    )  # fmt: skip
    typer.echo(record.id)
    typer.echo(f"#{record_id} converted into {kind} #{record.id}", err=True)


@record_app.command("archive")
def record_archive(ctx: typer.Context, record_id: int) -> None:
    """Archive a record (nothing is deleted; the journal keeps its history)."""
    s = state(ctx)
    s.crm.archive_record(s.actor, record_id)
    typer.echo(f"record #{record_id} archived")


@record_app.command("reassign")
def record_reassign(
    ctx: typer.Context,
    record_ids: list[int],
    to: str = typer.Option(..., "--to", help="The user who gets them."),
    as_json: bool = JSON,
) -> None:
    """Give records to another user (managers, admins); their open tasks go with them.

    Each record is done on its own: one refused leaves the others given.
    Exits 1 if any was refused.
    """
    s = state(ctx)
    results = s.crm.reassign_records(s.actor, record_ids, to)
    if as_json:
        render.emit_json(results)
    else:
        for r in results:
            if r.record is not None:
                typer.echo(
                    f"#{r.record_id} now {r.record.owner}'s, {r.tasks_moved} open task(s) moved"
                )
            else:
                typer.echo(f"#{r.record_id} refused: {r.error}", err=True)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


journal_app = typer.Typer(help="The journal of changes.")


@journal_app.callback(invoke_without_command=True)
def journal(
    ctx: typer.Context,
    record: int | None = typer.Option(None, "--record", help="Only this record's changes."),
    limit: int = typer.Option(50, "--limit"),
    as_json: bool = JSON,
) -> None:
    """Show the journal of changes, newest first (``crm journal verify`` checks it)."""
    if ctx.invoked_subcommand is not None:
        return
    s = state(ctx)
    rows = s.crm.journal(s.actor, record_id=record, limit=limit)
    if as_json:
        render.emit_json(rows)
        return
    table = [
        {**r.to_dict(), "what": f"{r.entity} #{r.entity_id}",
         "change": render.describe_change(r.before, r.after, r.users)}
        for r in rows
    ]  # fmt: skip
    render.table(table, ["id", "at", "actor", "cause", "what", "action", "change"], "journal")


@journal_app.command("verify")
def journal_verify(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Replay the journal against the tables (admins); exit 1 on any difference."""
    s = state(ctx)
    result = s.crm.verify_journal(s.actor)
    if as_json:
        render.emit_json({**result.to_dict(), "ok": result.ok})
    else:
        for line in result.differences:
            typer.echo(line)
        if result.ok:
            typer.echo(f"journal ok: {result.records} records, {result.rows} rows")
        else:
            typer.echo(f"{len(result.differences)} difference(s) between journal and tables",
                       err=True)  # fmt: skip
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.add_typer(record_app, name="record")
    app.add_typer(journal_app, name="journal")
