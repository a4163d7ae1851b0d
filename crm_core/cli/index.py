"""The core's top-level commands, listed without importing the modules that define them.

``crm --help`` shows this table; a command's module (``crm_core.cli.MODULE``,
whose ``register(app)`` adds it) is imported only when the command runs or
its own help is asked for, so a call pays only for what it uses.
``tests/test_cli_index.py`` checks the table against the real commands.
"""

from __future__ import annotations

from typing import NamedTuple


class Entry(NamedTuple):
    """One top-level command: its name, the module that registers it and its help's first line."""

    name: str
    module: str
    help: str
    hidden: bool = False


# In the order `crm --help` lists them: typer lists commands before sub-apps.
COMMANDS = [
    Entry(
        "init",
        "system",
        "Create (or upgrade) the database and add the first admin if there is no user yet.",
    ),
    Entry(
        "permissions",
        "system",
        "Print who may do what: role x relation to the record x action (no database needed).",
    ),
    Entry(
        "assign",
        "scheduler",
        "Assign unowned records to operators by each workflow's rules (managers, admins).",
    ),
    Entry(
        "sweep",
        "scheduler",
        "Return idle records to pools, rotate them, warn owners, check stage limits and SLAs.",
    ),
    Entry(
        "worker",
        "scheduler",
        "Run the scheduler: sweep and assign every interval, then deliver the outbox.",
    ),
    Entry(
        "bench",
        "bench",
        "Time sweep, assign, reads and import on generated data, each against a baseline.",
    ),
    Entry(
        "demo",
        "demo",
        "Create a demo CRM: users, teams, the shipped workflows, records, and DAYS of work.",
    ),
    Entry("report", "reports", "Run a report; `crm report list` names them all."),
    Entry(
        "alerts",
        "alerts",
        "Compute the dashboard's figures as you; list those over (or under) their threshold.",
    ),
    Entry(
        "import",
        "transfer",
        "Import records of KIND from FILE in batches (managers, admins); or, given one "
        "SPEC.yaml, every file the import spec names, in order (admins).",
    ),
    Entry(
        "export",
        "transfer",
        "Export the live records of KIND you may see, as `crm import` reads them; or, with "
        "--all DIR, the whole CRM and the import spec that reads it back (admins).",
    ),
    Entry(
        "tui",
        "tui",
        "Work in the terminal UI: My work, Records, Pool, Dashboard, Team (keys 1–5, F1 help).",
    ),
    Entry("db", "system", "Database schema."),
    Entry("plugins", "system", "Installed plugins."),
    Entry("plugin", "system", "Installed plugins.", hidden=True),
    Entry("kinds", "system", "Kinds of record and their fields."),
    Entry("user", "people", "Users: operators, managers, admins."),
    Entry("team", "people", "Teams of users."),
    Entry("record", "records", "Customer records."),
    Entry("journal", "records", "The journal of changes."),
    Entry("activity", "touchpoints", "Touchpoints logged on records."),
    Entry("task", "touchpoints", "Reminders and to-dos."),
    Entry("contact", "touchpoints", "People at a customer."),
    Entry("deal", "touchpoints", "Deals (opportunities) of a record."),
    Entry(
        "workflow", "workflows", "YAML workflows: validate, plan, simulate, apply, list, schema."
    ),
    Entry("pool", "pools", "Public pools (公海) of records."),
    Entry("filter", "filters", "Your saved list filters."),
    Entry("outbox", "outbox", "Notices queued for e-mail, webhook and other channels."),
]

BY_NAME = {entry.name: entry for entry in COMMANDS}
