"""PostgreSQL connections: pools and timeouts per process, a dropped connection, a server down."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, text

from crm_core.api import Crm, TimedOut
from crm_core.db import PROCESSES, make_engine, read_session, transaction
from crm_core.testing import CLEAN_ENV

CLI = "from crm_core.cli.main import run; run()"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    return subprocess.run([sys.executable, "-c", CLI, *args], env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


@pytest.mark.postgresql
def test_a_tui_read_that_runs_too_long_is_cancelled_and_said_so(pg_database: str) -> None:
    quick = replace(PROCESSES["tui"], read_timeout_ms=200)
    engine = make_engine(pg_database, quick)
    try:
        with read_session(engine) as session:
            assert session.execute(text("SELECT current_setting('application_name')")).scalar() \
                == "crm tui"  # fmt: skip
            session.execute(text("SELECT pg_sleep(0.05)"))
        with pytest.raises(TimedOut, match=r"longer than 0\.2 s"), read_session(engine) as session:
            session.execute(text("SELECT pg_sleep(2)"))
        # Writes are not cut short, and the pool still serves after a cancelled read.
        with transaction(engine) as session:
            session.execute(text("SELECT pg_sleep(0.4)"))
        with read_session(engine) as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.postgresql
def test_each_kind_of_process_gets_its_own_pool(pg_database: str) -> None:
    for process, connections in PROCESSES.items():
        crm = Crm.open(pg_database, process=process)
        try:
            assert crm.engine.pool.size() == connections.pool_size  # type: ignore[attr-defined]
            with crm.engine.connect() as connection:
                name = connection.execute(text("SELECT current_setting('application_name')"))
                assert name.scalar() == f"crm {process}"
        finally:
            crm.close()


def test_an_unknown_kind_of_process_is_refused() -> None:
    with pytest.raises(Exception, match="process must be one of cli, tui, worker"):
        Crm.open("sqlite://", process="daemon")


@pytest.mark.postgresql
def test_the_worker_outlives_its_connections_being_terminated(
    pg_database: str, reset_pg: Callable[[str], None]
) -> None:
    reset_pg(pg_database)
    clean = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    worker = subprocess.Popen(
        [sys.executable, "-c", CLI, "--db", pg_database, "--as", "admin", "worker",
         "--interval", "1"],
        env=clean, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[tuple[float, str]] = queue.Queue()

    def read() -> None:
        assert worker.stdout is not None
        for line in worker.stdout:
            lines.put((time.monotonic(), line))

    threading.Thread(target=read, daemon=True).start()
    admin = create_engine(pg_database.replace("postgresql://", "postgresql+psycopg://"))
    terminated = 0
    try:
        lines.get(timeout=60)  # the first tick ran
        for _ in range(8):
            with admin.connect() as connection:
                killed = connection.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'crm worker' AND datname = current_database()"
                )).all()  # fmt: skip
            terminated += len(killed)
            time.sleep(0.3)
        last_kill = time.monotonic()
        deadline = last_kill + 30
        after: list[str] = []
        while time.monotonic() < deadline and not any("assigned" in line for line in after):
            try:
                at, line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if at > last_kill:
                after.append(line)
        assert terminated > 0
        assert any("assigned" in line for line in after), after
        assert worker.poll() is None, "the worker stopped"
    finally:
        worker.terminate()
        _out, err = worker.communicate(timeout=30)
        admin.dispose()
    assert "Traceback" not in err, err


@pytest.mark.parametrize(
    "args",
    [
        ["record", "list"],
        ["record", "show", "1"],
        ["worker", "--once"],
        ["report", "funnel", "--kind", "lead"],
        ["db", "status"],
        ["init"],
        ["export", "lead", "--out", "x.csv"],
    ],
)
def test_a_server_that_is_down_gets_a_clean_message_without_the_password(
    args: list[str],
) -> None:
    url = "postgresql+psycopg://crm:s3cret-pw@127.0.0.1:1/crm"
    done = _cli("--db", url, "--as", "admin", *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    output = done.stdout + done.stderr
    assert "cannot open the database postgresql+psycopg://crm:***@127.0.0.1:1/crm" in output
    assert "s3cret-pw" not in output
    assert "Traceback" not in output


@pytest.mark.postgresql
def test_a_database_that_does_not_exist_is_named_without_the_password(pg_database: str) -> None:
    server = pg_database.rsplit("/", 1)[0]
    user, host = server.split("://", 1)[1].split("@", 1)
    url = f"postgresql+psycopg://{user}:s3cret-pw@{host}/no_such_crm_db"
    done = _cli("--db", url, "--as", "admin", "record", "list")
    assert done.returncode == 2
    assert "no_such_crm_db" in done.stderr
    assert "s3cret-pw" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
