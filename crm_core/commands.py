"""What a plugin's commands call: the CLI's state and its two ways of printing.

A command a plugin adds through ``crm_register_commands`` takes a
``ctx: typer.Context`` parameter and calls :func:`cli` with it, like the core's
own commands: ``cli(ctx).crm`` is the opened :class:`crm_core.api.Crm` (the
``--db`` option, ``CRM_DATABASE_URL`` or ``crm.toml``), ``cli(ctx).actor`` the
user given with ``--as`` or ``CRM_USER`` (refused, exit 2, when there is
none). Print rows with :func:`table` (a readable table) or :func:`emit_json`
(``--json``), as ``crm``'s read commands do.
"""

from __future__ import annotations

import typer

from crm_core.cli.render import emit_json, table
from crm_core.cli.state import CliState, state

__all__ = ["CliState", "cli", "emit_json", "table"]


def cli(ctx: typer.Context) -> CliState:
    """The running command's state: ``.crm``, ``.actor``, ``.db`` and ``.user``."""
    return state(ctx)
