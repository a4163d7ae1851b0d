"""``crm journal verify``: the journal replayed against the tables, one line per difference."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from crm_core.api import Crm, PermissionDenied
from crm_core.cli.main import app
from crm_core.clock import ManualClock
from crm_core.models import Record
from crm_core.testing import CLEAN_ENV

FLOW = """\
workflow: leads
version: 1
kind: lead
stages:
  - id: new
  - id: contacted
  - id: won
    outcome: won
assignment:
  strategy: round_robin
  members: [alice, bob]
pools:
  - id: public
    members: [alice, bob]
    return:
      - id: idle
        when: {days_since: last_activity, gt: 14}
"""


@pytest.fixture
def busy(people: Crm, clock: ManualClock, tmp_path: Path) -> Crm:
    """Records written by most paths: add, update, move, assign, release, claim, sweep."""
    path = tmp_path / "leads.yaml"
    path.write_text(FLOW, encoding="utf-8")
    people.apply_workflow("admin", path)
    ids = [
        people.add_record("admin", "lead", {"name": f"L{n}", "phone": f"1390000{n:04d}"},
                          auto_assign=n % 2 == 0, owner=None if n % 2 == 0 else "alice").record.id
        for n in range(1, 7)
    ]  # fmt: skip
    people.update_record("alice", ids[0], {"email": "l1@example.com"}, title="L1 at ACME")
    people.move_record("alice", ids[0], "contacted")
    people.release("alice", ids[2], "wrong region")
    people.claim("bob", ids[2])
    people.archive_record("admin", ids[4])
    people.log_activity("alice", ids[0], "call")
    clock.advance(timedelta(days=15))
    people.sweep("admin")
    return people


def _run(db_url: str, *args: str, user: str = "admin") -> Any:
    return CliRunner().invoke(app, ["--db", db_url, "--as", user, *args], env=CLEAN_ENV)


def _record_rows(crm: Crm) -> int:
    return sum(1 for r in crm.journal("admin", limit=10_000) if r.entity == "record")


def test_a_journal_written_by_the_api_verifies(busy: Crm) -> None:
    check = busy.verify_journal("admin")
    assert (check.ok, check.differences) == (True, [])
    assert (check.records, check.rows) == (6, _record_rows(busy))


def test_an_empty_database_verifies(crm: Crm) -> None:
    check = crm.verify_journal("admin")
    assert (check.ok, check.records, check.rows) == (True, 0, 0)


def test_only_admins_verify(people: Crm) -> None:
    with pytest.raises(PermissionDenied, match="verify the journal"):
        people.verify_journal("mia")


def _corrupt(crm: Crm) -> list[str]:
    """Change tables behind the journal's back, as a bad migration or a hand edit would;
    return the lines verify must print."""
    first, second, third = sorted(r.id for r in crm.list_records("admin", archived=True))[:3]
    was = {rid: crm.get_record("admin", rid) for rid in (first, second, third)}
    bob = next(u.id for u in crm.list_users("admin") if u.name == "bob")
    table, journal = (Record.metadata.tables[name] for name in ("record", "journal"))
    data = dict(was[second].fields, phone="13911112222", vip=True)
    with crm.engine.begin() as connection:
        connection.execute(
            sa.update(table).where(table.c.id == first).values(owner_id=bob, title="Renamed")
        )
        connection.execute(
            sa.update(table).where(table.c.id == second).values(data=data, stage="won")
        )
        connection.execute(
            sa.update(table).where(table.c.id == third).values(archived_at=crm.clock())
        )
        connection.execute(
            sa.insert(journal),
            [{"at": crm.clock(), "cause": "test", "entity": "record", "entity_id": 999,
              "record_id": 999, "action": "update", "after": {"title": "ghost"}}],
        )  # fmt: skip
    return [
        f"#{first} title: journal says {was[first].title}, table says Renamed",
        f"#{first} owner: journal says {was[first].owner or 'none'}, table says bob",
        f"#{second} stage: journal says {was[second].stage}, table says won",
        f"#{second} field phone: journal says {was[second].fields['phone']}, "
        "table says 13911112222",
        f"#{second} field vip: journal says none, table says yes",
        f"#{third} archived: journal says no, table says yes",
        "#999 is in the journal but not in the record table",
    ]


@pytest.mark.no_journal_check
def test_each_difference_is_one_line(busy: Crm) -> None:
    before = busy.verify_journal("admin")
    expected = _corrupt(busy)
    check = busy.verify_journal("admin")
    assert not check.ok
    assert check.differences == expected
    assert (check.records, check.rows) == (before.records, before.rows + 1)


@pytest.mark.no_journal_check
def test_records_without_their_journal_rows_are_named(people: Crm) -> None:
    gone = people.add_record("alice", "member", {"name": "Li"}).record.id
    headless = people.add_record("alice", "member", {"name": "Wang"}).record.id
    people.update_record("alice", headless, title="Mr Wang")
    journal = Record.metadata.tables["journal"]
    with people.engine.begin() as connection:
        connection.execute(sa.delete(journal).where(journal.c.record_id == gone))
        connection.execute(
            sa.delete(journal).where(journal.c.record_id == headless, journal.c.action == "create")
        )
    assert people.verify_journal("admin").differences == [
        f"#{gone} has no journal rows",
        f"#{headless} journal rows start with update, not create",
    ]


def test_cli_journal_verify_ok_and_json(busy: Crm, db_url: str) -> None:
    result = _run(db_url, "journal", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"journal ok: 6 records, {_record_rows(busy)} rows\n"
    result = _run(db_url, "journal", "verify", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "records": 6, "rows": _record_rows(busy), "differences": [], "ok": True
    }  # fmt: skip
    # `crm journal` itself still lists rows, of one record too
    listed = _run(db_url, "journal", "--record", "1", "--json")
    assert listed.exit_code == 0 and json.loads(listed.stdout)[-1]["action"] == "create"


def test_cli_journal_verify_refusal_exits_3(busy: Crm, db_url: str) -> None:
    result = _run(db_url, "journal", "verify", user="alice")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and "verify the journal" in result.stderr


@pytest.mark.no_journal_check
def test_cli_journal_verify_prints_differences_and_exits_1(busy: Crm, db_url: str) -> None:
    expected = _corrupt(busy)
    result = _run(db_url, "journal", "verify")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == expected
    assert result.stderr == "7 difference(s) between journal and tables\n"
    result = _run(db_url, "journal", "verify", "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert (out["ok"], len(out["differences"])) == (False, 7)


@pytest.mark.no_journal_check
def test_fields_that_are_not_an_object_are_a_difference_not_a_crash(people: Crm) -> None:
    rid = people.add_record("alice", "member", {"name": "Wang"}).record.id
    table = Record.metadata.tables["record"]
    with people.engine.begin() as connection:
        connection.execute(sa.update(table).where(table.c.id == rid).values(data=["x"]))
    lines = people.verify_journal("admin").differences
    assert f'#{rid} field (not an object): journal says none, table says ["x"]' in lines, lines
