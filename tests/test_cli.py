"""The ``crm`` command line, end to end: the README's tour, then every way to get it wrong.

Each command runs through ``typer.testing.CliRunner`` against the ``db_url``
fixture (SQLite, and PostgreSQL when ``CRM_TEST_PG_URL`` is set). With the
click this project uses (8.2 and later) a ``Result`` always keeps stdout and
stderr apart, so the tests can check that data goes to stdout and each error
is exactly one line on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crm_core import testing
from crm_core.api import Crm
from crm_core.cli.main import app
from crm_core.testing import CLEAN_ENV

USER = "alice"
ADMIN = "admin"

RECORD_KEYS = {
    "id", "kind", "title", "stage", "owner", "pool", "fields", "created_at", "updated_at",
    "stage_entered_at", "last_activity_at", "archived_at", "version",
}  # fmt: skip
JOURNAL_KEYS = {
    "id", "at", "actor", "cause", "entity", "entity_id", "record_id", "action", "before", "after",
    "reason",
}  # fmt: skip


@dataclass
class Cli:
    """Runs ``crm --db URL --as USER …`` and checks the shape of what comes back."""

    db_url: str
    runner: CliRunner

    def run(self, *args: str, user: Any = USER, env: dict[str, str | None] | None = None) -> Any:
        argv = ["--db", self.db_url]
        if user is not None:
            argv += ["--as", user]
        return self.runner.invoke(app, [*argv, *args], env={**CLEAN_ENV, **(env or {})})

    def ok(self, *args: str, user: Any = USER, env: dict[str, str | None] | None = None) -> str:
        """Run a command that must succeed silently on stderr; return its stdout."""
        result = self.run(*args, user=user, env=env)
        assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
        assert result.stderr == "", (args, result.stderr)
        return str(result.stdout)

    def json(self, *args: str, user: Any = USER) -> Any:
        """Run a read command with ``--json`` and parse its stdout."""
        return json.loads(self.ok(*args, "--json", user=user))

    def add(self, kind: str, *sets: str, user: Any = USER, extra: Sequence[str] = ()) -> int:
        """``crm record add KIND --set …``: stdout is exactly the new id."""
        argv = ["record", "add", kind, *(a for s in sets for a in ("--set", s)), *extra]
        out = self.ok(*argv, user=user)
        assert out.endswith("\n") and out.strip().isdigit(), out
        return int(out)

    def fails(self, code: int, *args: str, user: Any = USER) -> str:
        """Run a command that must fail with ``code``: one line on stderr, nothing else."""
        result = self.run(*args, user=user)
        assert result.exit_code == code, (args, result.exit_code, result.stderr, result.stdout)
        # Our own errors end in SystemExit; anything else escaped the error handling.
        assert isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in result.output
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: "), lines[0]
        return str(lines[0])


def snapshot(crm: Crm) -> tuple[Any, ...]:
    """Everything a failed command must leave as it was (every write is journaled)."""
    rows = crm.journal(ADMIN, limit=10_000)
    users = [u.to_dict() for u in crm.list_users(ADMIN)]
    tasks = [t.to_dict() for t in crm.list_tasks(ADMIN, include_done=True)]
    return len(rows), rows[0].id if rows else None, crm.record_states(ADMIN), users, tasks


@pytest.fixture
def reader(db_url: str) -> Iterator[Crm]:
    """A CRM of its own on the test's database, to take snapshots with."""
    crm = Crm.open(db_url)
    yield crm
    crm.close()


@pytest.fixture
def cli(db_url: str) -> Cli:
    """The command line on a fresh database that has only the admin ``admin``."""
    return Cli(db_url, CliRunner())


@pytest.fixture
def tour(cli: Cli) -> Cli:
    """The README's people, set up through the command line itself.

    Teams east and west; operators alice (east) and carol (west); manager mia
    (east); pool east-pool with alice as member.
    """
    assert cli.ok("team", "add", "east", user=ADMIN) == "team east added\n"
    assert cli.ok("team", "add", "west", user=ADMIN) == "team west added\n"
    out = cli.ok("user", "add", "alice", "--role", "operator", "--team", "east", user=ADMIN)
    assert out == "user alice (operator) added\n"
    out = cli.ok("user", "add", "mia", "--role", "manager", "--team", "east", user=ADMIN)
    assert out == "user mia (manager) added\n"
    cli.ok("user", "add", "carol", "--role", "operator", "--team", "west", user=ADMIN)
    out = cli.ok("pool", "add", "east-pool", "--member", "alice", user=ADMIN)
    assert out == "pool east-pool added with 1 member(s)\n"
    return cli


def lead(name: str, phone: str, *more: str) -> list[str]:
    return [f"name={name}", f"phone={phone}", *more]


# -- the tour ---------------------------------------------------------------------


def test_people_are_listed_as_added(tour: Cli) -> None:
    users = tour.json("user", "list", user=ADMIN)
    assert [(u["name"], u["role"], u["team"], u["active"]) for u in users] == [
        ("admin", "admin", None, True),
        ("alice", "operator", "east", True),
        ("carol", "operator", "west", True),
        ("mia", "manager", "east", True),
    ]
    teams = tour.json("team", "list", user=ADMIN)
    assert [(t["name"], t["members"]) for t in teams] == [
        ("east", ["alice", "mia"]),
        ("west", ["carol"]),
    ]
    pools = tour.json("pool", "list", user=ADMIN)
    assert [(p["name"], p["members"], p["admins"]) for p in pools] == [("east-pool", ["alice"], [])]
    actions = [(j["entity"], j["action"], j["actor"]) for j in tour.json("journal", user=ADMIN)]
    assert actions.count(("user", "create", "admin")) == 3
    assert actions.count(("team", "create", "admin")) == 2
    assert actions.count(("pool", "create", "admin")) == 1


def test_plugins_list_shows_core_and_installed_plugins(cli: Cli) -> None:
    infos = cli.json("plugins", "list", user=None)  # no acting user needed
    assert all(set(i) == {"name", "version", "hooks", "kinds", "disabled"} for i in infos)
    by_name = {i["name"]: i for i in infos}
    assert {"core", "leads", "testplugin"} <= set(by_name)
    assert by_name["core"]["kinds"] == []
    assert "crm_register_normalizers" in by_name["core"]["hooks"]
    assert by_name["leads"]["kinds"] == ["lead"]
    assert by_name["testplugin"]["kinds"] == ["member"]
    assert by_name["testplugin"]["version"] == "0.0.1"
    assert "crm_record_changed" in by_name["testplugin"]["hooks"]
    assert not any(i["disabled"] for i in infos)

    table = cli.ok("plugins", "list", user=None)
    assert "testplugin" in table and "member" in table and "crm_validate_record" in table


def test_disabled_plugin_is_listed_and_its_kind_gone(cli: Cli) -> None:
    env = {"CRM_DISABLED_PLUGINS": "testplugin"}
    result = cli.run("plugins", "list", "--json", user=None, env=env)
    assert result.exit_code == 0, result.stderr
    by_name = {i["name"]: i for i in json.loads(result.stdout)}
    assert by_name["testplugin"] == {
        "name": "testplugin", "version": "", "hooks": [], "kinds": [], "disabled": True,
    }  # fmt: skip
    result = cli.run("kinds", "show", "member", user=None, env=env)
    assert result.exit_code == 4 and "no kind 'member'" in result.stderr


def test_kinds_list_and_show(cli: Cli) -> None:
    kinds = {k["name"]: k for k in cli.json("kinds", "list", user=None)}
    assert {"lead", "member"} <= set(kinds)  # and whatever other plugins are installed
    keys = {"name", "label", "plugin", "fields", "title", "aliases"}
    assert all(set(k) == keys for k in kinds.values())
    assert kinds["lead"]["label"] == {"en": "Lead", "zh": "线索"}
    assert kinds["lead"]["plugin"] == "leads"

    spec = cli.json("kinds", "show", "lead", user=None)
    assert spec["name"] == "lead" and spec["plugin"] == "leads"
    fields = {f["name"]: f for f in spec["fields"]}
    assert list(fields) == [
        "name", "company", "phone", "email", "source", "referrer_id", "region", "budget",
        "converted_to",
    ]  # fmt: skip
    assert set(fields["phone"]) == {
        "name", "type", "label", "required", "dedupe", "indexed", "searchable", "plugin", "schema",
    }  # fmt: skip
    assert fields["phone"]["dedupe"] == "phone"
    assert fields["name"]["required"] is True
    assert fields["referrer_id"]["type"] == "integer"
    assert fields["source"]["schema"]["default"] == "other"
    assert fields["region"]["indexed"] is True

    table = cli.ok("kinds", "list", user=None)
    assert "Lead / 线索" in table and "Gym member / 会员" in table
    table = cli.ok("kinds", "show", "lead", user=None)
    assert "dedupe:phone" in table and "referrer_id" in table and "(from leads)" in table


def test_record_add_update_show(tour: Cli) -> None:
    referrer = tour.add("lead", *lead("推荐人", "13800000001"))
    rid = tour.add(
        "lead", *lead("王芳", "13900001111", "source=referral", f"referrer_id={referrer}")
    )
    assert rid == referrer + 1

    shown = tour.json("record", "show", str(rid))
    assert set(shown) == RECORD_KEYS
    assert shown["kind"] == "lead" and shown["title"] == "王芳"
    assert shown["owner"] == "alice" and shown["version"] == 1
    assert shown["fields"] == {
        "name": "王芳", "phone": "13900001111", "source": "referral", "referrer_id": referrer,
    }  # fmt: skip

    out = tour.ok("record", "update", str(rid), "--set", "budget=300000", "--set", "region=华东")
    assert out == f"record #{rid} at version 2\n"
    shown = tour.json("record", "show", str(rid))
    assert shown["version"] == 2
    assert shown["fields"]["budget"] == 300000 and isinstance(shown["fields"]["budget"], int)
    assert shown["fields"]["region"] == "华东"
    assert shown["updated_at"] >= shown["created_at"]

    # --if-version with the current version goes through; an empty value clears.
    tour.ok("record", "update", str(rid), "--set", "region=", "--if-version", "2")
    shown = tour.json("record", "show", str(rid))
    assert "region" not in shown["fields"] and shown["version"] == 3

    # The same record through the manager of alice's team, and as a table.
    assert tour.json("record", "show", str(rid), user="mia")["id"] == rid
    block = tour.ok("record", "show", str(rid))
    assert "王芳" in block and "alice" in block and "referral" in block
    assert any(line.split() == ["version", "3"] for line in block.splitlines())

    updated = tour.json("record", "update", str(rid), "--title", "Wang Fang")
    assert updated["title"] == "Wang Fang" and updated["version"] == 4


def test_record_add_merge_fills_empty_fields(tour: Cli) -> None:
    rid = tour.add("lead", *lead("王芳", "13900001111", "source=web"))
    result = tour.run(
        "record", "add", "lead", "--set", "name=Other", "--set", "phone=+86 139-0000-1111",
        "--set", "region=华东", "--merge",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{rid}\n"
    assert result.stderr == f"merged into #{rid}: filled region; kept its own name, phone\n"
    fields = tour.json("record", "show", str(rid))["fields"]
    assert fields["name"] == "王芳" and fields["region"] == "华东"
    assert len(tour.json("record", "list", user=ADMIN)) == 1


def test_record_add_json(tour: Cli) -> None:
    added = tour.json("record", "add", "lead", "--set", "name=Z", "--set", "phone=13900002222")
    assert set(added) == {"record", "merged", "filled", "kept"}
    assert (added["merged"], added["filled"], added["kept"]) == (False, [], [])
    assert set(added["record"]) == RECORD_KEYS
    assert added["record"]["fields"] == {"name": "Z", "phone": "13900002222", "source": "other"}
    merged = tour.json("record", "add", "lead", "--set", "name=Z", "--set", "phone=13900002222",
                       "--set", "region=华东", "--merge")  # fmt: skip
    assert merged["merged"] is True and merged["filled"] == ["region"]
    assert merged["record"]["id"] == added["record"]["id"]


def test_record_list_filters(tour: Cli) -> None:
    first = tour.add("lead", *lead("A", "13900000001", "region=华东", "source=web"))
    second = tour.add("lead", *lead("B", "13900000002", "region=华北", f"referrer_id={first}"))
    third = tour.add("member", "name=C", "plan=yearly", "email=c@example.com", "vip=yes")
    carols = tour.add("lead", *lead("D", "13900000004", "region=华东"), user="carol")

    def ids(*args: str, user: str = USER) -> list[int]:
        return [r["id"] for r in tour.json("record", "list", *args, user=user)]

    # Newest first; an operator sees only their own (and their pools') records.
    assert ids() == [third, second, first]
    assert ids(user="carol") == [carols]
    assert ids(user=ADMIN) == [carols, third, second, first]
    assert ids("--kind", "lead") == [second, first]
    assert ids("--kind", "member") == [third]
    assert ids("--kind", "lead", "--where", "region=华东") == [first]
    assert ids("--kind", "lead", "--where", "region=华东", user=ADMIN) == [carols, first]
    assert ids("--kind", "lead", "--where", f"referrer_id={first}") == [second]
    assert ids("--kind", "lead", "--where", "region=华东", "--where", "source=web") == [first]
    assert ids("--kind", "lead", "--where", "region=西北") == []
    assert ids("--kind", "member", "--where", "plan=yearly") == [third]
    assert ids("--kind", "member", "--where", "vip=yes") == [third]
    assert ids("--kind", "member", "--where", "vip=no") == []
    tour.ok("record", "update", str(third), "--set", "vip=no")
    assert ids("--kind", "member", "--where", "vip=no") == [third]
    assert ids("--owner", "carol", user=ADMIN) == [carols]
    assert ids("--owner", "alice", "--kind", "lead", user=ADMIN) == [second, first]
    assert ids("--limit", "2") == [third, second]
    assert ids("--limit", "2", "--before", str(second)) == [first]

    rows = tour.json("record", "list", "--limit", "1")
    assert set(rows[0]) == RECORD_KEYS
    table = tour.ok("record", "list", "--kind", "lead", "--where", "region=华东")
    assert "A" in table and "alice" in table and "records" in table
    assert tour.ok("record", "list", "--kind", "lead", "--where", "region=西北") == "no records\n"


def test_archive_hides_from_list_but_keeps_the_record(tour: Cli) -> None:
    kept = tour.add("lead", *lead("Kept", "13900000001"))
    gone = tour.add("lead", *lead("Gone", "13900000002"))
    assert tour.ok("record", "archive", str(gone)) == f"record #{gone} archived\n"

    assert [r["id"] for r in tour.json("record", "list")] == [kept]
    listed = tour.json("record", "list", "--archived")
    assert [r["id"] for r in listed] == [gone, kept]
    assert listed[0]["archived_at"] is not None and listed[1]["archived_at"] is None
    shown = tour.json("record", "show", str(gone))
    assert shown["archived_at"] is not None and shown["version"] == 2

    assert "already archived" in tour.fails(5, "record", "archive", str(gone))
    assert "archived" in tour.fails(5, "record", "update", str(gone), "--set", "region=x")
    actions = [j["action"] for j in tour.json("journal", "--record", str(gone))]
    assert actions == ["archive", "create"]


def test_activity_log_and_list(tour: Cli) -> None:
    rid = tour.add("lead", *lead("王芳", "13900001111"))
    assert tour.json("record", "show", str(rid))["last_activity_at"] is None
    out = tour.ok("activity", "log", str(rid), "call", "--note", "wants a quote before Friday")
    assert out.startswith("activity #") and out.endswith(f"logged on record #{rid}\n")
    tour.ok("activity", "log", str(rid), "visit", "--at", "2026-01-05T10:00:00+08:00")

    rows = tour.json("activity", "list", str(rid))
    assert [(a["type"], a["note"], a["actor"]) for a in rows] == [
        ("call", "wants a quote before Friday", "alice"),
        ("visit", None, "alice"),
    ]
    assert set(rows[0]) == {"id", "record_id", "type", "note", "actor", "occurred_at", "data"}
    assert rows[1]["occurred_at"] == "2026-01-05T02:00:00+00:00"
    shown = tour.json("record", "show", str(rid))
    assert shown["last_activity_at"] == rows[0]["occurred_at"]

    types = {t["type"] for t in tour.json("activity", "types")}
    assert {"call", "visit", "tour"} <= types
    assert "wants a quote before Friday" in tour.ok("activity", "list", str(rid))


def test_activity_data_is_kept_and_typed(tour: Cli) -> None:
    rid = tour.add("lead", *lead("李娜", "13900002222"))
    tour.ok("activity", "log", str(rid), "feedback", "--data", "score=4", "--data", "via=wechat")
    rows = tour.json("activity", "list", str(rid))
    assert rows[0]["data"] == {"score": 4, "via": "wechat"}
    assert "expected FIELD=VALUE" in tour.fails(2, "activity", "log", str(rid), "feedback",
                                                "--data", "score")  # fmt: skip
    assert len(tour.json("activity", "list", str(rid))) == 1


def test_tasks_add_list_done(tour: Cli) -> None:
    rid = tour.add("lead", *lead("王芳", "13900001111"))
    out = tour.ok("task", "add", str(rid), "--due", "2026-12-01T09:00", "--note", "send the quote")
    assert out.startswith("task #") and out.endswith(" due 2026-12-01T09:00:00+00:00 for alice\n")
    first = int(out.split()[1].lstrip("#"))
    tour.ok("task", "add", str(rid), "--due", "2027-01-15T09:00", "--note", "follow up")
    # A manager may set a task for their team; carol's own task is not alice's.
    tour.ok("task", "add", str(rid), "--due", "2026-11-30T09:00", "--note", "check", "--for",
            "alice", user="mia")  # fmt: skip
    carols = tour.add("lead", *lead("C", "13900000003"), user="carol")
    tour.ok("task", "add", str(carols), "--due", "2026-11-01T09:00", "--note", "x", user="carol")

    due = tour.json("task", "list", "--due-before", "2026-12-02")
    assert [(t["note"], t["due_at"]) for t in due] == [
        ("check", "2026-11-30T09:00:00+00:00"),
        ("send the quote", "2026-12-01T09:00:00+00:00"),
    ]
    assert set(due[0]) == {"id", "record_id", "assignee", "due_at", "note", "done_at", "cause"}
    assert due[0]["cause"] == "user:mia" and due[1]["cause"] == "user:alice"
    assert len(tour.json("task", "list")) == 3
    assert len(tour.json("task", "list", user="mia")) == 3
    assert len(tour.json("task", "list", user=ADMIN)) == 4

    assert tour.ok("task", "done", str(first)) == f"task #{first} done\n"
    notes = [t["note"] for t in tour.json("task", "list", "--due-before", "2026-12-02")]
    assert notes == ["check"]
    with_done = tour.json("task", "list", "--done", "--due-before", "2026-12-02")
    done = [t for t in with_done if t["id"] == first]
    assert len(done) == 1 and done[0]["done_at"] is not None
    assert "already done" in tour.fails(5, "task", "done", str(first))
    assert tour.fails(3, "task", "done", str(first), user="carol").startswith("error: task #")


def test_contacts_add_and_list(tour: Cli) -> None:
    rid = tour.add("lead", *lead("王芳", "13900001111"))
    out = tour.ok("contact", "add", str(rid), "Wang Fang", "--phone", "13900001111",
                  "--position", "buyer")  # fmt: skip
    assert out.startswith("contact #") and out.endswith(f" added to record #{rid}\n")
    tour.ok("contact", "add", str(rid), "Li Lei", "--email", "li@example.com")
    rows = tour.json("contact", "list", str(rid))
    assert rows == [
        {"id": rows[0]["id"], "record_id": rid, "name": "Wang Fang", "phone": "13900001111",
         "email": None, "position": "buyer"},
        {"id": rows[1]["id"], "record_id": rid, "name": "Li Lei", "phone": None,
         "email": "li@example.com", "position": None},
    ]  # fmt: skip
    assert "Wang Fang" in tour.ok("contact", "list", str(rid))
    assert "'email'" in tour.fails(2, "contact", "add", str(rid), "X", "--email", "not-an-address")


def test_deals_keep_the_amount_exact(tour: Cli) -> None:
    rid = tour.add("lead", *lead("王芳", "13900001111"))
    out = tour.ok("deal", "add", str(rid), "First order", "--amount", "12000.50", "--currency",
                  "CNY", "--close", "2026-12-31")  # fmt: skip
    assert out.startswith("deal #") and out.endswith(f" added to record #{rid}, owned by alice\n")
    tour.ok("deal", "add", str(rid), "Small", "--amount", "0.10", "--currency", "usd")
    tour.ok("deal", "add", str(rid), "Big", "--amount", "99999999999.99")
    deals = tour.json("deal", "list", "--record", str(rid))
    assert [(d["title"], d["amount"], d["currency"], d["stage"], d["expected_close"])
            for d in deals] == [
        ("First order", "12000.50", "CNY", "open", "2026-12-31"),
        ("Small", "0.10", "USD", "open", None),
        ("Big", "99999999999.99", "CNY", "open", None),
    ]  # fmt: skip
    table = tour.ok("deal", "list", "--record", str(rid))
    assert "12000.50" in table and "99999999999.99" in table
    journal = tour.json("journal", "--record", str(rid))
    amounts = [j["after"]["amount"] for j in reversed(journal) if j["entity"] == "deal"]
    assert amounts == ["12000.50", "0.10", "99999999999.99"]


def test_journal_of_a_record(tour: Cli) -> None:
    rid = tour.add("lead", *lead("王芳", "13900001111", "source=web"))
    tour.ok("record", "update", str(rid), "--set", "region=华东", "--set", "source=event")
    tour.ok("activity", "log", str(rid), "call")
    tour.ok("record", "update", str(rid), "--owner", "mia", user="mia")
    tour.ok("record", "archive", str(rid), user="mia")
    other = tour.add("lead", *lead("Other", "13900000002"))

    rows = tour.json("journal", "--record", str(rid), user="mia")
    assert all(set(r) == JOURNAL_KEYS for r in rows)
    assert all(r["record_id"] == rid and r["reason"] is None for r in rows)
    assert [(r["entity"], r["action"], r["actor"]) for r in rows] == [
        ("record", "archive", "mia"),
        ("record", "assign", "mia"),
        ("activity", "create", "alice"),
        ("record", "update", "alice"),
        ("record", "create", "alice"),
    ]
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    update = rows[3]
    assert update["before"] == {"fields": {"region": None, "source": "web"}}
    assert update["after"] == {"fields": {"region": "华东", "source": "event"}}
    assert update["cause"] == "user:alice"
    create = rows[4]
    assert create["before"] is None
    assert create["after"]["fields"] == {"name": "王芳", "phone": "13900001111", "source": "web"}
    assert rows[0]["after"] == {"archived": True}
    assert [r["action"] for r in tour.json("journal", "--record", str(rid), "--limit", "2",
                                           user="mia")] == ["archive", "assign"]  # fmt: skip

    # alice no longer sees the record she gave away; her journal shows only hers.
    assert tour.fails(3, "journal", "--record", str(rid))
    assert {r["record_id"] for r in tour.json("journal")} == {other}
    table = tour.ok("journal", "--record", str(rid), user="mia")
    assert "archive" in table and "user:alice" in table


def test_environment_gives_the_user_and_database(tour: Cli) -> None:
    rid = tour.add("lead", *lead("王芳", "13900001111"))
    env = {"CRM_USER": "alice", "CRM_DATABASE_URL": tour.db_url}
    result = tour.runner.invoke(app, ["record", "list", "--json"], env={**CLEAN_ENV, **env})
    assert result.exit_code == 0, result.stderr
    assert [r["id"] for r in json.loads(result.stdout)] == [rid]
    # --as wins over CRM_USER.
    result = tour.run("record", "list", "--json", user="carol", env={"CRM_USER": "alice"})
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_init_is_idempotent(cli: Cli, reader: Crm) -> None:
    before = snapshot(reader)
    out = cli.ok("init", user=None)
    assert out.startswith("database ready at ")
    assert "first admin: admin" in out
    assert "created" not in out  # the field indexes are there already
    assert snapshot(reader) == before
    assert [u["name"] for u in cli.json("user", "list", user=ADMIN)] == ["admin"]


# -- an uninitialised database ---------------------------------------------------


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)  # fmt: skip
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no CRM schema: a new SQLite file path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "new" / "crm.db")
        return
    with testing.pg_database("crm_test_empty") as url:
        yield url


def test_uninitialised_database_says_to_run_init(empty_url: str) -> None:
    if "://" not in empty_url:
        Path(empty_url).parent.mkdir()
    cli = Cli(empty_url, CliRunner())
    assert "run `crm init`" in cli.fails(2, "record", "list", user=ADMIN)
    assert "run `crm init`" in cli.fails(2, "user", "add", "x", "--role", "operator", user=ADMIN)

    out = cli.ok("init", user=None)
    assert out.startswith("database ready at ")
    crm = Crm.open(empty_url)
    indexed = sum(f.indexed for k in crm.kinds() for f in k.fields.values())
    crm.close()
    indexes = indexed + 1 if empty_url.startswith("postgresql") else indexed  # and a GIN index
    assert f"created {indexes} field index(es)" in out
    assert out.endswith("first admin: admin (act as them with --as admin or CRM_USER=admin)\n")
    if "://" not in empty_url:
        assert Path(empty_url).is_file()
    assert cli.ok("record", "list", user=ADMIN) == "no records\n"
    assert cli.add("lead", *lead("王芳", "13900001111"), user=ADMIN) == 1


def test_init_creates_crm_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["init", "--admin", "boss"], env=CLEAN_ENV)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "crm.db").is_file()
    assert "first admin: boss" in result.stdout
    result = runner.invoke(app, ["--as", "boss", "user", "list", "--json"], env=CLEAN_ENV)
    assert result.exit_code == 0, result.stderr
    assert [(u["name"], u["role"]) for u in json.loads(result.stdout)] == [("boss", "admin")]


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "dir" / "crm.db"
    cli = Cli(str(path), CliRunner())
    assert f"no database at {path}: run `crm init` first" in cli.fails(
        2, "record", "list", user=ADMIN
    )
    assert f"cannot open the database {path}: no folder {path.parent}" in cli.fails(
        2, "init", user=None
    )
    assert not (tmp_path / "no").exists()


# -- errors: one line, the documented exit code, nothing written ------------------


@pytest.fixture
def seeded(people: Crm, db_url: str) -> Iterator[tuple[Cli, dict[str, str]]]:
    """``people`` plus alice's lead (at version 2, with a task) and carol's lead.

    Yields the CLI and the ids the error cases refer to.
    """
    mine = people.add_record(
        "alice", "lead", {"name": "王芳", "phone": "13900001111", "source": "web"}
    ).record.id
    foreign = people.add_record("carol", "lead", {"name": "Carol", "phone": "13700002222"})
    people.update_record("alice", mine, {"region": "华东"})
    task = people.add_task("alice", mine, datetime(2026, 12, 1, 9, tzinfo=UTC), "call back")
    yield (
        Cli(db_url, CliRunner()),
        {"mine": str(mine), "foreign": str(foreign.record.id), "task": str(task.id)},
    )


FUTURE = (datetime.now(UTC) + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M")
NEW_LEAD = ["record", "add", "lead", "--set", "name=New", "--set", "phone=13600003333"]

# (id, acting user, arguments, exit code, fragments the message must contain)
ERRORS: list[tuple[str, str | None, list[str], int, list[str]]] = [
    # 2: invalid input, naming the field
    ("enum", USER, [*NEW_LEAD, "--set", "source=nowhere"], 2, ["field 'source'"]),
    ("integer", USER, [*NEW_LEAD, "--set", "referrer_id=abc"], 2, ["field 'referrer_id'", "abc"]),
    ("minimum", USER, [*NEW_LEAD, "--set", "budget=-5"], 2, ["field 'budget'"]),
    ("too-long", USER, [*NEW_LEAD, "--set", "region=" + "x" * 101], 2, ["field 'region'"]),
    ("phone", USER, ["record", "add", "lead", "--set", "name=x", "--set", "phone=12"], 2,
     ["field 'phone'"]),
    ("required", USER, ["record", "add", "lead", "--set", "phone=13600003333"], 2,
     ["field 'name'"]),
    ("plugin-rule", USER, [*NEW_LEAD, "--set", "source=referral"], 2, ["field 'referrer_id'"]),
    ("member-rule", USER, ["record", "add", "member", "--set", "name=x", "--set", "plan=yearly"],
     2, ["field 'email'"]),
    ("update-value", USER, ["record", "update", "{mine}", "--set", "source=nowhere"], 2,
     ["field 'source'"]),
    ("unknown-field", USER, [*NEW_LEAD, "--set", "colour=red"], 2, ["field 'colour'", "unknown"]),
    ("unknown-field-update", USER, ["record", "update", "{mine}", "--set", "colour=red"], 2,
     ["field 'colour'"]),
    ("unknown-where", USER, ["record", "list", "--kind", "lead", "--where", "colour=red"], 2,
     ["field 'colour'"]),
    ("set-no-equals", USER, ["record", "add", "lead", "--set", "name"], 2,
     ["FIELD=VALUE", "'name'"]),
    ("set-no-name", USER, ["record", "update", "{mine}", "--set", "=x"], 2, ["FIELD=VALUE"]),
    ("where-no-equals", USER, ["record", "list", "--kind", "lead", "--where", "region"], 2,
     ["FIELD=VALUE"]),
    ("where-no-kind", USER, ["record", "list", "--where", "region=x"], 2, ["--kind"]),
    ("limit", USER, ["record", "list", "--limit", "0"], 2, ["limit"]),
    ("journal-limit", USER, ["journal", "--limit", "10001"], 2, ["limit"]),
    ("no-user", None, ["record", "list"], 2, ["--as USER", "CRM_USER"]),
    ("no-user-write", None, NEW_LEAD, 2, ["--as USER"]),
    ("due", USER, ["task", "add", "{mine}", "--due", "tomorrow", "--note", "x"], 2,
     ["--due", "'tomorrow'"]),
    ("due-before", USER, ["task", "list", "--due-before", "soon"], 2, ["--due-before", "'soon'"]),
    ("activity-at", USER, ["activity", "log", "{mine}", "call", "--at", "yesterday"], 2,
     ["--at"]),
    ("activity-future", USER, ["activity", "log", "{mine}", "call", "--at", FUTURE], 2,
     ["future"]),
    ("activity-type", USER, ["activity", "log", "{mine}", "telepathy"], 2, ["'telepathy'"]),
    ("amount-decimals", USER, ["deal", "add", "{mine}", "x", "--amount", "12000.505"], 2,
     ["amount", "12000.505"]),
    ("amount-text", USER, ["deal", "add", "{mine}", "x", "--amount", "lots"], 2,
     ["amount", "'lots'"]),
    ("amount-negative", USER, ["deal", "add", "{mine}", "x", "--amount=-5"], 2, ["amount"]),
    ("amount-nan", USER, ["deal", "add", "{mine}", "x", "--amount", "NaN"], 2, ["amount"]),
    ("close", USER, ["deal", "add", "{mine}", "x", "--close", "31/12/2026"], 2, ["--close"]),
    ("currency", USER, ["deal", "add", "{mine}", "x", "--currency", "yuan"], 2, ["currency"]),
    ("role", ADMIN, ["user", "add", "zed", "--role", "boss"], 2, ["role", "'boss'"]),
    # 3: permission denied
    ("show-foreign", USER, ["record", "show", "{foreign}"], 3, ["#{foreign}", "carol"]),
    ("update-foreign", USER, ["record", "update", "{foreign}", "--set", "region=x"], 3,
     ["#{foreign}"]),
    ("stale-foreign", USER, ["record", "update", "{foreign}", "--title", "x", "--if-version",
                             "1"], 3, ["#{foreign}"]),
    ("archive-foreign", USER, ["record", "archive", "{foreign}"], 3, ["#{foreign}"]),
    ("activity-log-foreign", USER, ["activity", "log", "{foreign}", "call"], 3, ["#{foreign}"]),
    ("activity-list-foreign", USER, ["activity", "list", "{foreign}"], 3, ["#{foreign}"]),
    ("task-foreign", USER, ["task", "add", "{foreign}", "--due", "2026-12-01", "--note", "x"], 3,
     ["#{foreign}"]),
    ("task-done-foreign", "carol", ["task", "done", "{task}"], 3, ["task #{task}"]),
    ("contact-foreign", USER, ["contact", "add", "{foreign}", "X"], 3, ["#{foreign}"]),
    ("deal-foreign", USER, ["deal", "add", "{foreign}", "X", "--amount", "1"], 3,
     ["#{foreign}"]),
    ("deal-list-foreign", USER, ["deal", "list", "--record", "{foreign}"], 3, ["#{foreign}"]),
    ("journal-foreign", USER, ["journal", "--record", "{foreign}"], 3, ["#{foreign}"]),
    ("manager-other-team", "mia", ["record", "show", "{foreign}"], 3, ["#{foreign}"]),
    ("operator-adds-user", USER, ["user", "add", "zed", "--role", "operator"], 3,
     ["only an admin", "alice"]),
    ("manager-adds-user", "mia", ["user", "add", "zed", "--role", "admin"], 3, ["only an admin"]),
    ("operator-adds-team", USER, ["team", "add", "north"], 3, ["only an admin"]),
    ("operator-adds-pool", USER, ["pool", "add", "p", "--member", "alice"], 3, ["only an admin"]),
    ("operator-deactivates", USER, ["user", "deactivate", "bob"], 3, ["only an admin"]),
    ("give-away", USER, [*NEW_LEAD, "--owner", "bob"], 3, ["bob"]),
    ("manager-gives-out-of-team", "mia", [*NEW_LEAD, "--owner", "carol"], 3, ["carol"]),
    # 4: not found
    ("unknown-kind", USER, ["record", "add", "spaceship", "--set", "name=x"], 4,
     ["'spaceship'", "lead", "member"]),
    ("unknown-kind-list", USER, ["record", "list", "--kind", "spaceship"], 4, ["'spaceship'"]),
    ("unknown-kind-show", USER, ["kinds", "show", "spaceship"], 4, ["'spaceship'"]),
    ("show-missing", USER, ["record", "show", "999"], 4, ["#999"]),
    ("update-missing", USER, ["record", "update", "999", "--set", "region=x"], 4, ["#999"]),
    ("archive-missing", USER, ["record", "archive", "999"], 4, ["#999"]),
    ("activity-missing", USER, ["activity", "log", "999", "call"], 4, ["#999"]),
    ("contact-missing", USER, ["contact", "add", "999", "X"], 4, ["#999"]),
    ("task-done-missing", USER, ["task", "done", "999"], 4, ["#999"]),
    ("unknown-user", "nobody", ["record", "list"], 4, ["'nobody'"]),
    ("unknown-user-write", "nobody", NEW_LEAD, 4, ["'nobody'"]),
    ("unknown-owner", USER, ["record", "list", "--owner", "nobody"], 4, ["'nobody'"]),
    ("unknown-new-owner", ADMIN, [*NEW_LEAD, "--owner", "nobody"], 4, ["'nobody'"]),
    ("unknown-assignee", "mia", ["task", "add", "{mine}", "--due", "2026-12-01", "--note", "x",
                                 "--for", "nobody"], 4, ["'nobody'"]),
    ("unknown-team", ADMIN, ["user", "add", "zed", "--role", "operator", "--team", "south"], 4,
     ["'south'"]),
    ("unknown-pool-member", ADMIN, ["pool", "add", "p", "--member", "nobody"], 4, ["'nobody'"]),
    # 5: conflict
    ("duplicate-phone", "mia", ["record", "add", "lead", "--set", "name=Y", "--set",
                                "phone=+86 137-0000-2222"], 5,
     ["duplicate of #{foreign} owned by carol"]),
    ("duplicate-own", USER, ["record", "add", "lead", "--set", "name=Y", "--set",
                             "phone=139 0000 1111"], 5, ["duplicate of #{mine} owned by alice"]),
    ("duplicate-by-update", USER, ["record", "update", "{mine}", "--set", "phone=13700002222"],
     5, ["duplicate of #{foreign} owned by carol"]),
    ("stale-version", USER, ["record", "update", "{mine}", "--set", "region=x",
                             "--if-version", "1"], 5, ["version 2", "not 1"]),
    ("future-version", USER, ["record", "update", "{mine}", "--set", "region=x",
                              "--if-version", "3"], 5, ["version 2"]),
    ("duplicate-user", ADMIN, ["user", "add", "alice", "--role", "operator"], 5, ["'alice'"]),
    ("duplicate-team", ADMIN, ["team", "add", "east"], 5, ["'east'"]),
    ("duplicate-pool", ADMIN, ["pool", "add", "east-pool"], 5, ["'east-pool'"]),
    # 6: a plugin's hook failed; the write was rolled back
    ("plugin-add", USER, ["record", "add", "member", "--set", "name=x", "--title", "EXPLODE"], 6,
     ["plugin 'testplugin'", "crm_record_changed", "EXPLODE"]),
    ("plugin-update", USER, ["record", "update", "{mine}", "--title", "big EXPLODE"], 6,
     ["plugin 'testplugin'"]),
]  # fmt: skip


EXIT_CODES = sorted({case[3] for case in ERRORS})


@pytest.mark.parametrize("code", EXIT_CODES)
def test_errors_are_one_line_with_their_exit_code_and_write_nothing(
    seeded: tuple[Cli, dict[str, str]], reader: Crm, subtests: Any, code: int
) -> None:
    """Every case of ``ERRORS`` with this exit code, each checked on its own.

    A failed command writes nothing, so the cases can share one database;
    each compares its own before and after.
    """
    cli, ids = seeded
    cases = [case for case in ERRORS if case[3] == code]
    assert cases
    for name, user, args, _code, fragments in cases:
        with subtests.test(msg=name):
            before = snapshot(reader)
            message = cli.fails(code, *(a.format(**ids) for a in args), user=user)
            for fragment in fragments:
                assert fragment.format(**ids) in message
            assert snapshot(reader) == before


def test_plugin_failure_leaves_no_record_and_no_journal(
    seeded: tuple[Cli, dict[str, str]],
) -> None:
    cli, ids = seeded
    journal_before = cli.json("journal", "--limit", "10000", user=ADMIN)
    cli.fails(6, "record", "add", "member", "--set", "name=x", "--title", "EXPLODE")
    records = cli.json("record", "list", "--archived", user=ADMIN)
    assert sorted(r["id"] for r in records) == sorted([int(ids["mine"]), int(ids["foreign"])])
    assert cli.json("journal", "--limit", "10000", user=ADMIN) == journal_before
    # The same values with a harmless title go through.
    new = cli.add("member", "name=x", extra=["--title", "fine"])
    assert cli.json("record", "show", str(new))["title"] == "fine"


def test_inactive_user_is_refused(seeded: tuple[Cli, dict[str, str]], reader: Crm) -> None:
    cli, ids = seeded
    assert cli.ok("user", "deactivate", "alice", user=ADMIN) == "user alice deactivated\n"
    before = snapshot(reader)
    assert "'alice' is inactive" in cli.fails(3, "record", "show", ids["mine"])
    assert "'alice' is inactive" in cli.fails(3, *NEW_LEAD)
    assert "inactive" in cli.fails(2, *NEW_LEAD, "--owner", "alice", user=ADMIN)
    assert snapshot(reader) == before
    cli.ok("user", "activate", "alice", user=ADMIN)
    assert cli.json("record", "show", ids["mine"])["owner"] == "alice"


# Input the database cannot store must be refused as invalid input (exit 2, one
# line naming what is wrong), not crash into "internal error" or a raw database
# error (exit 1, often with the SQL statement over many lines).
OUT_OF_RANGE: list[tuple[str, list[str], str]] = [
    ("amount-beyond-bigint", ["deal", "add", "{mine}", "x", "--amount", "100000000000000000"],
     "amount"),
    ("number-nan", ["record", "update", "{mine}", "--set", "budget=nan"], "field 'budget'"),
    ("number-infinity", ["record", "update", "{mine}", "--set", "budget=inf"], "field 'budget'"),
    ("number-nan-add", [*NEW_LEAD, "--set", "budget=NaN"], "field 'budget'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "fragment"), [pytest.param(*case[1:], id=case[0]) for case in OUT_OF_RANGE]
)
def test_values_the_database_cannot_store_are_invalid_input(
    seeded: tuple[Cli, dict[str, str]], reader: Crm, args: list[str], fragment: str
) -> None:
    cli, ids = seeded
    before = snapshot(reader)
    message = cli.fails(2, *(a.format(**ids) for a in args))
    assert fragment in message
    assert snapshot(reader) == before


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["record", "update", "{mine}", "--set", "region=a\x00b"], id="field"),
        pytest.param(["record", "update", "{mine}", "--title", "a\x00b"], id="title"),
        pytest.param(["contact", "add", "{mine}", "Z\x00"], id="contact"),
        pytest.param(["activity", "log", "{mine}", "call", "--note", "a\x00b"], id="note"),
    ],
)
def test_text_with_a_nul_character_is_stored_or_refused_not_a_crash(
    seeded: tuple[Cli, dict[str, str]], reader: Crm, args: list[str]
) -> None:
    """SQLite stores a NUL character; PostgreSQL cannot. Either is fine, a crash is not."""
    cli, ids = seeded
    before = snapshot(reader)
    result = cli.run(*(a.format(**ids) for a in args))
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert snapshot(reader) == before


def test_whole_number_beyond_64_bits_is_refused_or_found(tour: Cli) -> None:
    huge = "99999999999999999999999"
    result = tour.run(*lead_args(huge))
    if result.exit_code == 2:  # refusing it is fine, if it says which field
        assert "field 'referrer_id'" in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    rid = int(result.stdout)
    rows = tour.json("record", "list", "--kind", "lead", "--where", f"referrer_id={huge}")
    assert [r["id"] for r in rows] == [rid]


def lead_args(referrer: str) -> list[str]:
    return ["record", "add", "lead", "--set", "name=Big", "--set", "phone=13600003333",
            "--set", f"referrer_id={referrer}"]  # fmt: skip


def test_usage_errors_exit_2_without_traceback(
    seeded: tuple[Cli, dict[str, str]], reader: Crm
) -> None:
    cli, _ids = seeded
    before = snapshot(reader)
    for args in (
        ["record", "show", "abc"],
        ["record", "add"],
        ["record", "frobnicate"],
        ["task", "add", "1", "--note", "x"],  # --due is required
        ["record", "list", "--limit", "many"],
    ):
        result = cli.run(*args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.output
        assert result.stdout == ""
        assert "Usage:" in result.stderr
    assert snapshot(reader) == before
