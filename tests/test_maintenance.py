"""``crm db maintain`` and ``Crm.maintain``: what autovacuum would do, when it is off."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from crm_core.api import Crm, PermissionDenied
from crm_core.cli.main import app
from crm_core.maintenance import MaintenanceReport

ENV = {"CRM_USER": None, "CRM_DATABASE_URL": None, "CRM_DISABLED_PLUGINS": None}


def _add_leads(crm: Crm, folder: Path, count: int) -> None:
    path = folder / "leads.csv"
    rows = "".join(f"Lead {i},1390000{i:04d}\n" for i in range(count))
    path.write_text("name,phone\n" + rows, encoding="utf-8")
    assert crm.import_records("admin", "lead", path).created == count


def _counted(crm: Crm, table: str, rows: int) -> None:
    """Wait until the server's statistics count the rows added (a connection reports its
    counts when it ends or idles, at most once a second)."""
    crm.engine.dispose()
    query = text(
        "SELECT n_mod_since_analyze FROM pg_stat_user_tables "
        "WHERE relname = :table AND schemaname = current_schema()"
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with crm.engine.connect() as conn:
            if (conn.execute(query, {"table": table}).scalar() or 0) >= rows:
                return
        crm.engine.dispose()
        time.sleep(0.2)
    raise AssertionError(f"the server never counted the {rows} rows added to {table}")


def _analysed(crm: Crm, table: str) -> bool:
    with crm.engine.connect() as conn:
        return bool(
            conn.execute(
                text("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                     "WHERE relname = :table AND schemaname = current_schema()"),
                {"table": table},
            ).scalar()
        )  # fmt: skip


def test_sqlite_has_nothing_to_do(crm: Crm) -> None:
    if crm.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's answer")
    report = crm.maintain("admin")
    assert report == MaintenanceReport("sqlite", None)
    assert report.summary() == "nothing to do on SQLite"


def test_only_an_admin_maintains(people: Crm) -> None:
    with pytest.raises(PermissionDenied, match="maintain the database"):
        people.maintain("alice")


@pytest.mark.postgresql
def test_tables_past_the_thresholds_are_vacuumed_then_left_alone(
    pg_database: str, reset_pg: Callable[[str], None], tmp_path: Path
) -> None:
    reset_pg(pg_database)
    crm = Crm.open(pg_database)
    try:
        _add_leads(crm, tmp_path, 600)
        _counted(crm, "record", 600)
        first = crm.maintain("admin", force=True)
        done = {s.table: s.action for s in first.steps}
        # 600 new records, keys and journal rows: past autovacuum's insert threshold (1,000
        # + 20%) for none of them alone, but past its analyze threshold (50 + 10%).
        assert done["record"] in ("analyze", "vacuum analyze")
        assert done["journal"] in ("analyze", "vacuum analyze")
        assert all(s.seconds >= 0 and s.why for s in first.steps)
        assert _analysed(crm, "record")
        again = crm.maintain("admin", force=True)
        assert "record" not in {s.table for s in again.steps}
        assert again.summary() != first.summary()
    finally:
        crm.close()


@pytest.mark.postgresql
def test_the_command_says_what_it_did_and_refuses_an_operator(
    pg_database: str, reset_pg: Callable[[str], None]
) -> None:
    reset_pg(pg_database)
    crm = Crm.open(pg_database)
    try:
        crm.add_user("admin", "olga", "operator")
    finally:
        crm.close()
    runner = CliRunner()
    base = ["--db", pg_database, "db", "maintain"]
    done = runner.invoke(app, ["--as", "admin", *base, "--force", "--json"], env=ENV)
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["dialect"] == "postgresql" and isinstance(out["autovacuum"], bool)
    text_form = runner.invoke(app, ["--as", "admin", *base], env=ENV)
    assert text_form.exit_code == 0
    assert text_form.stdout.startswith(("maintained: ", "autovacuum is on", "every table"))
    refused = runner.invoke(app, ["--as", "olga", *base], env=ENV)
    assert refused.exit_code == 3
    assert "maintain the database" in refused.output
    assert "Traceback" not in refused.output


@pytest.mark.postgresql
def test_the_worker_maintains_after_its_tick_when_autovacuum_is_off(
    pg_database: str, reset_pg: Callable[[str], None], tmp_path: Path
) -> None:
    reset_pg(pg_database)
    crm = Crm.open(pg_database)
    try:
        with crm.engine.connect() as conn:
            if conn.execute(text("SHOW autovacuum")).scalar() == "on":
                pytest.skip("this server's autovacuum maintains the tables itself")
        _add_leads(crm, tmp_path, 600)
        _counted(crm, "record", 600)
    finally:
        crm.close()
    out = CliRunner().invoke(app, ["--db", pg_database, "worker", "--once"], env=ENV)
    assert out.exit_code == 0, out.output
    assert "maintenance failed" not in out.output
    crm = Crm.open(pg_database)
    try:
        assert _analysed(crm, "record")
        assert crm.maintain("admin").steps == []  # nothing left to do
    finally:
        crm.close()
