"""The soak's short form (30 s): a mixed load on PostgreSQL leaves no error, a clean journal,
no cap exceeded, and a worker that outlived losing its connections.

The latency target (a claim's p95 under 50 ms) is the bench's to judge
(``crm bench --soak 300``), not a test's: a test only checks it was measured.
"""

from __future__ import annotations

import pytest

from crm_core import testing
from crm_core.bench import soak
from crm_core.testing import CLEAN_ENV, invoke_cli

LATENCY = "claim p95 under 50 ms"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--soak", "30"], "--soak needs --db postgresql+psycopg://"),
        (["--soak", "30", "--db", "crm.db"], "crm.db is not a PostgreSQL server URL"),
        (["--soak", "30", "--db", "postgresql+psycopg://u:pw9@127.0.0.1:1/x"],
         "cannot create a database on postgresql+psycopg://u:***@127.0.0.1:1/x"),
        (["--soak", "2", "--db", "postgresql://x@y/z"], "Invalid value for '--soak'"),
    ],
)  # fmt: skip
def test_a_soak_without_a_server_is_refused_with_a_message(args: list[str], message: str) -> None:
    result = invoke_cli(["bench", *args], env=CLEAN_ENV)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "pw9" not in result.stderr + result.stdout


@pytest.mark.postgresql
def test_thirty_seconds_of_mixed_load_leave_everything_consistent() -> None:
    assert testing.PG_URL
    lines: list[str] = []
    report = soak.run(soak.Params(30, testing.PG_URL, operators=4), lines.append)
    checks = {check.name: check for check in report.checks}
    assert LATENCY in checks
    failed = [c for name, c in checks.items() if name != LATENCY and not c.passed]
    assert not failed, "\n".join(report.lines())
    operations = {row["operation"]: row for row in report.rows()}
    for name in ("claim", "update", "activity", "move", "read", "reassign", "pool page"):
        assert operations[name]["count"] > 0, name
    assert any(name.startswith("import") for name in operations)
    assert report.worker["terminated"] > 0
    assert report.to_dict()["passed"] == checks[LATENCY].passed
