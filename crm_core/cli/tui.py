"""``crm tui``: the operator's terminal UI."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from crm_core.api import Crm
from crm_core.cli.demo import DEMO_FILE, DEMO_USER, build_demo
from crm_core.cli.state import state
from crm_core.errors import InvalidInput, NotFound
from crm_core.i18n import _
from crm_core.shipped import dashboard_file


def _language(lang: str | None) -> str:
    """The language asked for, else the one of the terminal's locale (zh_CN → zh)."""
    if lang is not None:
        if lang not in ("en", "zh"):
            raise InvalidInput(_("--lang {lang}: choose en or zh", lang=lang))
        return lang
    locale = os.environ.get("CRM_LANG") or os.environ.get("LC_ALL") or os.environ.get("LANG", "")
    return "zh" if locale.lower().startswith("zh") else "en"


def tui(
    ctx: typer.Context,
    demo: bool = typer.Option(
        False,
        "--demo",
        help=f"Open {DEMO_FILE} (built first if missing), as {DEMO_USER} by default.",
    ),
    lang: str | None = typer.Option(
        None, "--lang", help="en or zh [CRM_LANG, else the locale's language]."
    ),
    dashboard: Path | None = typer.Option(
        None,
        "--dashboard",
        help="Dashboard figures file [./dashboards/dashboard.yaml, else the shipped one].",
    ),
) -> None:
    """Work in the terminal UI: My work, Records, Pool, Dashboard, Team (keys 1–5, F1 help)."""
    s = state(ctx)
    language = _language(lang)
    if dashboard is not None and not dashboard.is_file():
        raise NotFound(_("no dashboard file {dashboard}", dashboard=dashboard))
    if demo:
        if not DEMO_FILE.exists():
            typer.echo(f"building {DEMO_FILE} (a minute or more)…", err=True)
            built, _summary = build_demo(DEMO_FILE, records=2000, days=60, seed=7)
            built.close()
        s.db, s.user = f"sqlite:///{DEMO_FILE}", s.user or DEMO_USER
    s.process = "tui"
    crm: Crm = s.crm
    actor = s.actor
    # Refuses an unknown or inactive user here, with a message, before any screen opens.
    me = next((u for u in crm.list_users(actor) if u.name == actor), None)
    if me is None:
        raise NotFound(_("no user '{actor}'", actor=actor))
    from crm_core.tui.app import CrmApp  # Textual loads only for this command

    CrmApp(crm, me, lang=language, dashboard=dashboard or dashboard_file()).run()


def register(app: typer.Typer) -> None:
    """Add ``crm tui`` to the main app."""
    app.command("tui")(tui)
