"""Test support for the core's and the plugins' suites.

A plugin's tests open a fresh CRM with the plugin registered
(:func:`fresh_crm`) and run ``crm`` commands in-process (:func:`invoke_cli`)::

    from crm_core.testing import fresh_crm, invoke_cli
    from crm_gym import plugin

    def test_a_member(tmp_path):
        with fresh_crm(tmp_path, plugins=[("gym", plugin)]) as crm:
            crm.add_record("admin", "member", {"name": "Ann", "phone": "13812345678"})

PostgreSQL tests run when ``CRM_TEST_PG_URL`` names a server (``.ci/run`` sets
it); the suite then makes its own database there and drops it at the end, and
each test empties it first. Without the variable those tests are skipped with
the reason. Import what a ``conftest.py`` needs; nothing here runs on import.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, inspect, text

from crm_core.db import make_engine, scratch_database
from crm_core.models import SQLModel

if TYPE_CHECKING:
    from typer.testing import Result

    from crm_core.api import Crm

PG_URL = os.environ.get("CRM_TEST_PG_URL")
SKIP_REASON = "PostgreSQL tests need CRM_TEST_PG_URL (set by .ci/run)"


@contextmanager
def pg_database(prefix: str) -> Iterator[str]:
    """Create an empty database named ``prefix`` + a random suffix; drop it afterwards."""
    assert PG_URL, SKIP_REASON
    with scratch_database(PG_URL, prefix) as url:
        yield url


def empty_pg(url: str) -> None:
    """Delete every row of the core's and the plugins' tables and restart the sequences.

    The schema is kept, alembic's versions included. Plugins' tables (any other
    table) are emptied first, as they may refer to the core's. DELETE and
    setval take milliseconds on a test's few rows; TRUNCATE of every table
    costs a quarter of a second, which every PostgreSQL test would pay.
    """
    engine = make_engine(url)
    core = SQLModel.metadata.sorted_tables
    with engine.begin() as conn:
        skip = {t.name for t in core} | {"alembic_version"}
        others = [n for n in inspect(conn).get_table_names() if n not in skip]
        if others:
            plugin_tables = MetaData()
            plugin_tables.reflect(conn, only=others)
            for table in reversed(plugin_tables.sorted_tables):
                if table.name in others:
                    conn.execute(table.delete())
        for table in reversed(core):
            conn.execute(table.delete())
        sequences = conn.execute(text("SELECT relname FROM pg_class WHERE relkind = 'S'"))
        for name in sequences.scalars().all():
            conn.execute(text("SELECT setval(quote_ident(:name), 1, false)"), {"name": name})
    engine.dispose()


@contextmanager
def fresh_crm(
    folder: Path,
    plugins: Sequence[tuple[str, object]] = (),
    *,
    entry_points: bool = False,
    admin: str = "admin",
    **options: Any,
) -> Iterator[Crm]:
    """A new SQLite CRM in ``folder`` (``crm.db``) with the admin ``admin``, closed afterwards.

    ``plugins`` are ``(name, module)`` pairs to register; the installed
    plugins are left out unless ``entry_points`` is true, so a plugin's tests
    see only the core and the plugin. ``options`` go to :meth:`Crm.open`
    (``clock``, ``plugin_settings``, ``channels``).
    """
    from crm_core.api import Crm

    crm = Crm.open(
        f"sqlite:///{folder / 'crm.db'}", extra_plugins=plugins, entry_points=entry_points,
        **options,
    )  # fmt: skip
    try:
        crm.init(admin)
        yield crm
    finally:
        crm.close()


CLEAN_ENV: dict[str, str | None] = {
    "CRM_USER": None,
    "CRM_DATABASE_URL": None,
    "CRM_DISABLED_PLUGINS": None,
    "CRM_DEBUG": None,
    "CRM_LANG": None,
    "COLUMNS": "200",
}
"""An environment for CLI tests that does not depend on the shell they run in: no acting
user, database, disabled plugins or language from it, and a wide terminal so tables do not
wrap."""


def invoke_cli(
    args: Sequence[str],
    plugins: Sequence[tuple[str, object]] = (),
    env: Mapping[str, str | None] | None = None,
    *,
    entry_points: bool = False,
) -> Result:
    """Run ``crm ARGS`` in this process with ``plugins`` registered.

    The plugins get into the CRM the command opens and into the command line
    itself (their ``crm_register_commands``). As with :func:`fresh_crm`, the
    installed plugins are left out of the CRM unless ``entry_points`` is true,
    so the command sees the database a plugin's test made. Returns typer's
    ``Result``: ``exit_code``, ``stdout`` and ``stderr`` apart.
    """
    from typer.testing import CliRunner

    from crm_core.cli.main import app
    from crm_core.cli.state import CliState

    state = CliState(None, None, tuple(plugins), entry_points)
    return CliRunner().invoke(app, list(args), obj=state, env=env)
