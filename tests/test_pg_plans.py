"""On PostgreSQL, at 100,000 leads, the screens' and reports' queries use their indexes.

Each API call runs with the statements it sends recorded; each recorded
SELECT is then EXPLAINed with its own parameters, and a sequential scan of
``record`` is a failure. An admin's whole-table reports are left out: adding
up every lead is a scan whichever way it is done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from sqlalchemy import event

from crm_core import testing
from crm_core.api import Crm
from crm_core.bench import data, pgdata
from crm_core.clock import fixed_clock
from crm_core.db import scratch_database

pytestmark = pytest.mark.postgresql

RECORDS = 100_000
OPERATORS = 10
TEAMS = 5  # as in crm bench: a manager's team holds a fifth of the leads


@dataclass
class Big:
    """The database: a CRM over it, an operator, their manager, a record of each kind of place."""

    crm: Crm
    operator: str
    manager: str
    owned_id: int
    pooled_id: int


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Big]:
    assert testing.PG_URL
    with scratch_database(testing.PG_URL, "crm_plans") as url:
        crm = Crm.open(url, entry_points=False, extra_plugins=[("leads", data.leads_plugin())],
                       clock=fixed_clock(data.NOW))  # fmt: skip
        try:
            crm.init("admin")
            teams = [f"team-{i}" for i in range(1, TEAMS + 1)]
            for team in teams:
                crm.add_team("admin", team)
            names = [f"op-{i:02d}" for i in range(1, OPERATORS + 1)]
            users = [crm.add_user("admin", n, "operator", teams[i % TEAMS])
                     for i, n in enumerate(names)]  # fmt: skip
            crm.add_user("admin", "boss", "manager", teams[0])
            crm.add_pool("admin", data.POOL, names)
            workflow = tmp_path_factory.mktemp("plans") / "bench.yaml"
            definition = data.workflow(names, RECORDS, 1000)
            workflow.write_text(yaml.safe_dump(definition, allow_unicode=True), "utf-8")
            crm.apply_workflow("admin", workflow)
            admin_id = next(u.id for u in crm.list_users("admin") if u.name == "admin")
            owners = [u.id for u in users]
            added = pgdata.add_records(crm.engine, stage="new", admin_id=admin_id,
                                       owner_ids=owners, count=RECORDS, owned=True)  # fmt: skip
            pgdata.add_records(crm.engine, stage="new", admin_id=admin_id, owner_ids=owners,
                               count=1000, owned=False)  # fmt: skip
            crm.sweep("admin")  # the idle third go back to the pool, as a day's sweep would
            pooled = crm.pool_page("admin", data.POOL, limit=1).entries[0].record_id
            owned = next(i for i in added.ids if crm.get_record("admin", i).owner == "op-05")
            yield Big(crm, "op-05", "boss", owned, pooled)
        finally:
            crm.close()


def _plans(crm: Crm, call: Callable[[], Any]) -> list[tuple[str, dict[str, Any]]]:
    """Run ``call``; return the EXPLAIN (JSON) of each SELECT it sent that reads ``record``."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and "record" in statement:
            sent.append((statement, parameters))

    event.listen(crm.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(crm.engine, "before_cursor_execute", record)
    plans = []
    raw = crm.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in sent:
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            plans.append((statement, cursor.fetchone()[0][0]["Plan"]))
        raw.rollback()
    finally:
        raw.close()
    return plans


def _scans_of_record(plan: dict[str, Any]) -> Iterator[str]:
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") == "record":
        yield plan.get("Filter", "(no filter)")
    for child in plan.get("Plans", []):
        yield from _scans_of_record(child)


CALLS: dict[str, Callable[[Big], Any]] = {
    "operator's list": lambda b: b.crm.list_records(b.operator, limit=50),
    "operator's record page": lambda b: b.crm.record_page(b.operator, kind="lead"),
    "operator's pool page": lambda b: b.crm.pool_page(b.operator, data.POOL),
    "operator's my work": lambda b: b.crm.my_work(b.operator),
    "operator's why": lambda b: b.crm.why(b.operator, b.owned_id),
    "why of a pooled record": lambda b: b.crm.why(b.operator, b.pooled_id),
    "operator's funnel": lambda b: b.crm.run_report(b.operator, "funnel", kind="lead"),
    "operator's compliance": lambda b: b.crm.run_report(b.operator, "follow_up_compliance"),
    "manager's funnel": lambda b: b.crm.run_report(b.manager, "funnel", kind="lead"),
    "manager's team list": lambda b: b.crm.list_records(b.manager, owner="op-06"),
    "admin's list": lambda b: b.crm.list_records("admin", limit=50),
    "admin's record page": lambda b: b.crm.record_page("admin", kind="lead"),
    "admin's list by an indexed field": lambda b: b.crm.list_records(
        "admin", kind="lead", where={"source": "web"}
    ),
    "admin's pool page": lambda b: b.crm.pool_page("admin", data.POOL),
    "admin's why": lambda b: b.crm.why("admin", b.owned_id),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CALLS))
def test_no_sequential_scan_of_record(big: Big, name: str) -> None:
    plans = _plans(big.crm, lambda: CALLS[name](big))
    assert plans, f"{name} sent no query that reads record"
    scans = [(statement, list(_scans_of_record(plan))) for statement, plan in plans]
    bad = [(statement, filters) for statement, filters in scans if filters]
    assert not bad, "\n\n".join(f"{s}\n-> Seq Scan on record, filter {f}" for s, f in bad)
