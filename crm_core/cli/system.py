"""``crm init``, ``crm db``, ``crm plugins``, ``crm kinds``, ``crm permissions``."""

from __future__ import annotations

from pathlib import Path

import typer

from crm_core import scaffold
from crm_core.api import Crm
from crm_core.cli import render
from crm_core.cli.state import state

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
plugins_app = typer.Typer(help="Installed plugins.", no_args_is_help=True)
kinds_app = typer.Typer(help="Kinds of record and their fields.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print exact JSON.")


def init(
    ctx: typer.Context,
    admin: str = typer.Option("admin", "--admin", help="Name of the first admin user."),
) -> None:
    """Create (or upgrade) the database and add the first admin if there is no user yet."""
    crm = state(ctx).crm
    created = crm.init(admin)
    typer.echo(f"database ready at {crm.engine.url.render_as_string(hide_password=True)}")
    if created:
        typer.echo(f"created {len(created)} field index(es)")
    typer.echo(f"first admin: {admin} (act as them with --as {admin} or CRM_USER={admin})")


def permissions_(as_json: bool = JSON) -> None:
    """Print who may do what: role x relation to the record x action (no database needed)."""
    if as_json:
        render.emit_json(Crm.permission_rules())
    else:
        typer.echo(Crm.permission_table(), nl=False)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Run the schema migrations and create missing field indexes."""
    crm = state(ctx).crm
    created = crm.init(None, create=False)
    typer.echo(f"schema at revision {crm.upgrade()}; {len(created)} field index(es) created")
    for branch in crm.schema_status()[1:]:
        typer.echo(f"plugin {branch.branch} at revision {branch.current}")


@db_app.command("status")
def db_status(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Show each version branch (the core's, each plugin's): current and head revision."""
    branches = state(ctx).crm.schema_status()
    if as_json:
        render.emit_json([b.to_dict() for b in branches])
        return
    rows = [
        {**b.to_dict(), "upgrade_needed": "yes: crm db upgrade" if b.upgrade_needed else "no"}
        for b in branches
    ]
    render.table(rows, ["branch", "current", "head", "upgrade_needed"], "schema")


@db_app.command("maintain")
def db_maintain(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="Even when autovacuum is on."),
    as_json: bool = JSON,
) -> None:
    """Vacuum and analyse the tables PostgreSQL's autovacuum would, when it is off (admins)."""
    s = state(ctx)
    report = s.crm.maintain(s.actor, force=force)
    if as_json:
        render.emit_json(report.to_dict())
        return
    typer.echo(report.summary())


@plugins_app.command("list")
def plugins_list(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List the plugins with their version, kinds and hooks."""
    infos = state(ctx).crm.plugins()
    if as_json:
        render.emit_json([i.to_dict() for i in infos])
        return
    rows = [
        {**i.to_dict(), "kinds": ", ".join(i.kinds), "hooks": ", ".join(i.hooks)}
        | ({"version": "disabled"} if i.disabled else {})
        for i in infos
    ]
    render.table(rows, ["name", "version", "kinds", "hooks"], "plugins")


@plugins_app.command("show")
def plugins_show(ctx: typer.Context, name: str, as_json: bool = JSON) -> None:
    """Show a plugin: version, hooks, kinds, commands, its settings schema and values.

    Values of keys named like password, secret, token or key are masked.
    """
    crm = state(ctx).crm
    info = crm.plugin(name)
    root = ctx.find_root().command
    owners: dict[str, str] = getattr(root, "plugin_commands", {})
    commands = sorted(command for command, plugin in owners.items() if plugin == name)
    settings = None if info.disabled else crm.plugin_settings(name)
    if as_json:
        render.emit_json(
            {**info.to_dict(), "commands": commands,
             "settings": settings.to_dict() if settings else None}
        )  # fmt: skip
        return
    render.fields_block(
        [
            ("plugin", info.name),
            ("version", "disabled" if info.disabled else info.version),
            ("kinds", ", ".join(info.kinds)),
            ("hooks", ", ".join(info.hooks)),
            ("commands", ", ".join(f"crm {c}" for c in commands)),
        ]
    )
    if settings is None or not settings.schema:
        return
    rows = settings.rows()
    render.table(rows, ["key", "type", "value", "default", "description"], f"[plugins.{name}]")


@plugins_app.command("new")
def plugins_new(
    name: str = typer.Argument(..., help="The plugin's name: its entry point and its kind."),
    folder: Path | None = typer.Option(None, "--dir", help="Where to write it [./crm-NAME]."),
) -> None:
    """Write a new plugin package: a kind, a rule, a workflow, tests and a README.

    It passes its own tests as generated: cd into it, pip install -e '.[test]', pytest.
    """
    target = folder or scaffold.default_folder(name)
    for path in scaffold.new_plugin(name, target):
        typer.echo(f"created {path}")
    typer.echo(f"next: cd {target} && pip install -e '.[test]' && pytest")


@kinds_app.command("list")
def kinds_list(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List the kinds of record."""
    kinds = state(ctx).crm.kinds()
    if as_json:
        render.emit_json([k.to_dict() for k in kinds])
        return
    rows = [
        {
            "kind": k.name,
            "label": f"{k.label['en']} / {k.label['zh']}",
            "plugin": k.plugin,
            "fields": len(k.fields),
        }
        for k in kinds
    ]
    render.table(rows, ["kind", "label", "plugin", "fields"], "kinds")


@kinds_app.command("show")
def kinds_show(ctx: typer.Context, kind: str, as_json: bool = JSON) -> None:
    """Show a kind's fields: type, rules and flags."""
    spec = state(ctx).crm.kind(kind)
    if as_json:
        render.emit_json(spec.to_dict())
        return
    rows = []
    for f in spec.fields.values():
        rules = "; ".join(
            f"{k} {'|'.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in f.schema.items()
            if k != "type"
        )
        flags = [n for n in ("required", "indexed", "searchable") if getattr(f, n)]
        if f.dedupe:
            flags.append(f"dedupe:{f.dedupe}")
        rows.append(
            {
                "field": f.name,
                "type": f.type,
                "label": f"{f.label['en']} / {f.label['zh']}",
                "rules": rules or None,
                "flags": " ".join(flags),
                "import aliases": ", ".join(h for h, t in spec.aliases.items() if t == f.name),
            }
        )
    title = f"{spec.name}: {spec.label['en']} / {spec.label['zh']} (from {spec.plugin})"
    if spec.title:
        title += f"; titled {spec.title!r}"
    render.table(rows, ["field", "type", "label", "rules", "flags", "import aliases"], title)


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.command("init")(init)
    app.command("permissions")(permissions_)
    app.add_typer(db_app, name="db")
    app.add_typer(plugins_app, name="plugins")
    # `crm plugin new NAME` reads naturally too; one group, listed once.
    app.add_typer(plugins_app, name="plugin", hidden=True)
    app.add_typer(kinds_app, name="kinds")
