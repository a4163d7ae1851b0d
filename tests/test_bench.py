"""``crm bench``: a small run end to end, the report's text, and a refused path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from crm_core import testing
from crm_core.bench.report import Check, Figure, Report
from crm_core.cli.main import app

ENV = {"CRM_USER": None, "CRM_DATABASE_URL": None, "CRM_DISABLED_PLUGINS": None, "CRM_DEBUG": None}
ENVIRONMENT = {"date": "today", "python": "3", "sqlite": "3", "platform": "x", "cpus": 1,
               "load_average": "0.00, 0.00, 0.00"}  # fmt: skip
FIGURES = (
    "generate ",
    "sweep: ",
    "assign ",
    "why #",
    "why #",
    "pool_page ",
    "pool_page ",
    "why #",  # the cold one, through the CLI in a new process
    "crm --help, cold",
    "crm record show #",
    "tui start as ",
    "tui key n ",
    "tui key n ",
    "tui key n, page not read ahead",
    "tui key n, page not read ahead",
    "report funnel",
    "report win_rate_by_owner",
    "report conversion_by_field",
    "report follow_up_compliance",
    "report customer_growth",
    "import ",
    "import floor: ",
    "import bundle: ",
)


def test_small_run_has_every_figure_and_sane_values(tmp_path: Path) -> None:
    db = tmp_path / "bench.db"
    argv = ["bench", "--records", "3000", "--new", "500", "--operators", "5", "--db", str(db)]
    result = CliRunner().invoke(app, [*argv, "--json"], env=ENV)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    out = json.loads(result.stdout)
    assert out["params"] == {"records": 3000, "operators": 5, "new": 500}
    names = [f["name"] for f in out["figures"]]
    assert len(names) == len(FIGURES)
    assert all(n.startswith(p) for n, p in zip(names, FIGURES, strict=True)), names
    assert [n.split()[-1] for n in names[3:7]] == ["p50", "p95", "p50", "p95"]
    assert all(f["seconds"] > 0 for f in out["figures"])
    assert all(f["baseline_seconds"] > 0 for f in out["figures"][1:])
    checks = {c["name"]: c for c in out["checks"]}
    assert all(c["passed"] for c in checks.values()), out["checks"]
    swept = checks["sweep returned = rows the UPDATE baseline changed"]
    assert swept["expected"] == swept["got"] and 600 < swept["got"] < 1300  # ~32% of 3,000
    assert checks["assign gave every new lead an owner"]["got"] == 500
    starts = [f for f in out["figures"] if f["name"].startswith("crm ")]
    assert [(f["max_ratio"], f["baseline_seconds"] > 0) for f in starts] == [(5, True), (15, True)]
    assert (
        checks["`crm --help` exit code"]["got"] == checks["`crm record show` exit code"]["got"] == 0
    )
    assert not list(tmp_path.iterdir())  # without --keep every file is removed


def test_text_report_marks_each_miss_with_fail() -> None:
    report = Report(
        {"records": 10, "operators": 1, "new": 1},
        ENVIRONMENT,
        [
            Figure("fast", 0.5, 1.0, max_ratio=2.0),
            Figure("slow", 3.0, 1.0, max_seconds=2.0, max_ratio=2.0),
            Figure("info", 1.0, None),
        ],
        [Check("counts agree", 3, 3), Check("counts differ", 3, 4)],
    )
    text = "\n".join(report.lines())
    assert "fast" in text and "info" in text and "report only" in text
    assert "FAIL slow: 3.000 s is not under 2 s" in text
    assert "FAIL slow: ratio 3 is above 2" in text
    assert "FAIL check counts differ: expected 3, got 4" in text
    assert "FAIL fast" not in text
    assert report.to_dict()["passed"] is False


def test_an_existing_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    db.write_text("mine")
    result = CliRunner().invoke(app, ["bench", "--db", str(db)], env=ENV)
    assert result.exit_code == 2
    assert "exists" in result.stderr
    assert db.read_text() == "mine"


def test_a_list_of_few_pages_is_paged_as_far_as_it_goes(tmp_path: Path) -> None:
    argv = ["bench", "--records", "130", "--new", "10", "--operators", "2", "--import-rows", "20"]
    result = CliRunner().invoke(app, [*argv, "--db", str(tmp_path / "b.db"), "--json"], env=ENV)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    out = json.loads(result.stdout)
    paged = next(c for c in out["checks"] if c["name"] == "tui paged forward")
    assert paged["expected"] == paged["got"] == 3  # 140 leads: pages 1 to 3, two presses
    names = [f["name"] for f in out["figures"]]
    assert sum(n.startswith("tui key n") for n in names) == 4


@pytest.mark.postgresql
def test_a_small_run_on_postgresql_has_the_same_figures_and_drops_its_databases() -> None:
    assert testing.PG_URL
    argv = ["bench", "--records", "2000", "--new", "300", "--operators", "5",
            "--db", testing.PG_URL, "--json"]  # fmt: skip
    result = CliRunner().invoke(app, argv, env=ENV)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    out = json.loads(result.stdout)
    names = [f["name"] for f in out["figures"]]
    # Every figure SQLite has, the import against SQLite's on the same file after the floor,
    # and what the worker does after the sweep and the assignment when autovacuum is off.
    on_postgresql = [*FIGURES[:20], "maintenance after the sweep", "maintenance after the assign",
                     *FIGURES[20:-1], "import 2,000 leads: PostgreSQL against SQLite",
                     FIGURES[-1]]  # fmt: skip
    assert len(names) == len(on_postgresql)
    assert all(n.startswith(p) for n, p in zip(names, on_postgresql, strict=True)), names
    assert out["environment"]["postgresql"]
    checks = {c["name"]: c for c in out["checks"]}
    assert all(c["passed"] for c in checks.values()), out["checks"]
    assert checks["assign gave every new lead an owner"]["got"] == 300
    assert checks["the floor stored every record"]["got"] == 2000
    assert checks["the SQLite import created every row"]["got"] == 2000
    assert checks["bundle created every row"]["got"] == [5, 50, 100, 2000]
    figures = {f["name"].split(" (")[0]: f for f in out["figures"]}
    assert "PostgreSQL storing the same rows" in names[-3]
    assert figures[names[-3].split(" (")[0]]["max_ratio"] == 1.5  # the COPY floor's target
    compared = figures["import 2,000 leads: PostgreSQL against SQLite"]
    assert compared["seconds"] == out["figures"][-4]["seconds"]  # the PostgreSQL import's time
    assert compared["max_ratio"] == 1.0
    bundle = out["figures"][-1]
    assert "COPY" in bundle["note"] and bundle["baseline_seconds"] > 0
    server = create_engine(testing.PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with server.connect() as conn:
            left = conn.execute(
                text("SELECT count(*) FROM pg_database WHERE datname LIKE 'crm_bench_%'")
            ).scalar_one()
    finally:
        server.dispose()
    assert left == 0
