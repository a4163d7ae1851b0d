"""``crm tui``: the operator's terminal UI."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from crm_core.api import Crm
from crm_core.cli.state import state
from crm_core.errors import InvalidInput, NotFound
from crm_core.i18n import _

DEMO_FILE = Path("crm-demo.db")
DASHBOARD = Path("dashboards/dashboard.yaml")


def _language(lang: str | None) -> str:
    """The language asked for, else the one of the terminal's locale (zh_CN → zh)."""
    if lang is not None:
        if lang not in ("en", "zh"):
            raise InvalidInput(_("--lang {lang}: choose en or zh", lang=lang))
        return lang
    locale = os.environ.get("CRM_LANG") or os.environ.get("LC_ALL") or os.environ.get("LANG", "")
    return "zh" if locale.lower().startswith("zh") else "en"


def _shipped_dashboard() -> Path | None:
    """``./dashboards/dashboard.yaml``, else the one shipped beside the package, if any."""
    for candidate in (DASHBOARD, Path(__file__).resolve().parents[2] / DASHBOARD):
        if candidate.is_file():
            return candidate
    return None


def tui(
    ctx: typer.Context,
    demo: bool = typer.Option(
        False, "--demo", help=f"Open {DEMO_FILE} (built first if missing), as alice by default."
    ),
    lang: str | None = typer.Option(
        None, "--lang", help="en or zh [CRM_LANG, else the locale's language]."
    ),
    dashboard: Path | None = typer.Option(
        None, "--dashboard", help="Dashboard figures file [dashboards/dashboard.yaml]."
    ),
) -> None:
    """Work in the terminal UI: My work, Records, Pool, Dashboard, Team (keys 1–5, F1 help)."""
    s = state(ctx)
    language = _language(lang)
    if dashboard is not None and not dashboard.is_file():
        raise NotFound(_("no dashboard file {dashboard}", dashboard=dashboard))
    if demo:
        if not DEMO_FILE.exists():
            typer.echo(f"building {DEMO_FILE} (about a minute)…", err=True)
            from crm_core.demo.run import run  # loaded only when a demo must be built

            built, _summary = run(DEMO_FILE, per_kind=2000, days=60, seed=7)
            built.close()
        s.db, s.user = f"sqlite:///{DEMO_FILE}", s.user or "alice"
    s.process = "tui"
    crm: Crm = s.crm
    actor = s.actor
    # Refuses an unknown or inactive user here, with a message, before any screen opens.
    me = next((u for u in crm.list_users(actor) if u.name == actor), None)
    if me is None:
        raise NotFound(_("no user '{actor}'", actor=actor))
    from crm_core.tui.app import CrmApp  # Textual loads only for this command

    CrmApp(crm, me, lang=language, dashboard=dashboard or _shipped_dashboard()).run()


def register(app: typer.Typer) -> None:
    """Add ``crm tui`` to the main app."""
    app.command("tui")(tui)
