"""Bad input through the command line: one table of what an outside tester ran.

Every row is a ``crm`` command line that must fail with its documented exit
code (2 invalid input, 3 permission, 4 not found, 5 conflict), print exactly
one line on stderr (no traceback, no "internal error") holding the expected
words, and leave the database as it was: the same journal and the same
records. Rows that name a database of their own (a file that is not one, an
unknown scheme, a server that does not answer) run once, on SQLite; the
others run on every backend of ``db_url``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crm_core.api import Crm
from crm_core.cli.main import app
from crm_core.errors import QUOTE_MAX, excerpt, quote
from crm_core.testing import CLEAN_ENV

ADMIN = "admin"
LONGEST_LINE = 400  # what a message may grow to when it quotes cut values and lists known names

BASE_WORKFLOW = """\
workflow: w
version: 1
kind: lead
stages:
  - id: new
  - id: a
  - id: b
  - id: won
    outcome: won
  - id: lost
    outcome: lost
    lost_reasons: [no_budget]
"""


@dataclass(frozen=True)
class Case:
    """One bad command line: ``{tmp}``, ``{mine}`` and ``{bobs}`` are filled in when it runs."""

    argv: tuple[str, ...]
    code: int
    words: str
    user: str = ADMIN
    own_database: bool = False  # names its own --db: run once, on SQLite
    located: bool = False  # `workflow validate`: the line is FILE:LINE:COLUMN: KEY: WHY


X = "x"
CASES: dict[str, Case] = {
    # 1. a --db that is not a CRM database
    "db: random bytes": Case(("--db", "{tmp}/random.db", "record", "list"), 2,
                             "cannot open the database {tmp}/random.db: not a crm database",
                             own_database=True),
    "db: a text file": Case(("--db", "{tmp}/notes.txt", "record", "list"), 2,
                            "cannot open the database {tmp}/notes.txt: not a crm database",
                            own_database=True),
    "db: unknown scheme": Case(("--db", "foo://bar", "record", "list"), 2,
                               "cannot open the database foo://bar: unknown scheme foo (use a "
                               "SQLite path or postgresql+psycopg://…)", own_database=True),
    "db: server not answering": Case(
        ("--db", "postgresql+psycopg://crm:s3cret@127.0.0.1:1/crm", "record", "list"), 2,
        "cannot open the database postgresql+psycopg://crm:***@127.0.0.1:1/crm: ",
        own_database=True),
    # 5. a SQLite file or folder that does not exist
    "db: no such file": Case(("--db", "{tmp}/nope.db", "record", "list"), 2,
                             "no database at {tmp}/nope.db: run `crm init` first",
                             own_database=True),
    "db: no such file, upgrade": Case(("--db", "{tmp}/nope.db", "db", "upgrade"), 2,
                                      "no database at {tmp}/nope.db", own_database=True),
    "db: no such folder": Case(("--db", "{tmp}/nodir/crm.db", "init"), 2,
                               "cannot open the database {tmp}/nodir/crm.db: no folder {tmp}/nodir",
                               own_database=True),
    # 2. phones
    "phone: too short": Case(("record", "add", "lead", "--set", "name=A", "--set", "phone=12345"),
                             2, "field 'phone': not a phone number: '12345'"),
    "phone: no such range": Case(("record", "update", "{mine}", "--set", "phone=14012345678"),
                                 2, "not a phone number: '14012345678'"),
    # 3. lengths, and messages that quote only the start of a value
    "title: 120 KB": Case(("record", "add", "lead", "--title", X * 120_000, "--set", "name=A",
                           "--set", "phone=13800000009"), 2,
                          "a title is 120,000 characters long; at most 200"),
    "title: update": Case(("record", "update", "{mine}", "--title", X * 201), 2,
                          "a title is 201 characters long; at most 200"),
    "field: default cap": Case(("record", "add", "member", "--set", "name=" + X * 2_001), 2,
                               f"field 'name': {quote(X * 2_001)} is too long"),
    "field: own maxLength": Case(("record", "update", "{mine}", "--set", "region=" + X * 5_000),
                                 2, f"field 'region': {quote(X * 5_000)} is too long"),
    "field: long unknown name": Case(("record", "update", "{mine}", "--set", X * 5_000 + "=1"), 2,
                                     f"field '{excerpt(X * 5_000)}': unknown field"),
    "field: long bad number": Case(("record", "update", "{mine}", "--set", "budget=" + X * 5_000),
                                   2, f"{quote(X * 5_000)} is not a number"),
    "note: activity": Case(("activity", "log", "{mine}", "call", "--note", X * 10_001), 2,
                           "a note is 10,001 characters long; at most 10,000"),
    "note: task": Case(("task", "add", "{mine}", "--due", "2026-12-01T09:00", "--note",
                        X * 10_001), 2, "a note is 10,001 characters long; at most 10,000"),
    "contact: name": Case(("contact", "add", "{mine}", X * 201), 2,
                          "a contact's name is 201 characters long; at most 200"),
    "contact: position": Case(("contact", "add", "{mine}", "Wang", "--position", X * 201), 2,
                              "a contact's position is 201 characters long"),
    "deal: title": Case(("deal", "add", "{mine}", X * 201), 2,
                        "a deal's title is 201 characters long; at most 200"),
    "deal: long currency": Case(("deal", "add", "{mine}", "Order", "--currency", X * 5_000), 2,
                                f"currency must be a three-letter code, not {quote(X * 5_000)}"),
    "team: name": Case(("team", "add", X * 201), 2, "a team's name is 201 characters long"),
    "pool: name": Case(("pool", "add", X * 201), 2, "a pool's name is 201 characters long"),
    "user: name": Case(("user", "add", X * 65, "--role", "operator"), 2,
                       "a user name must be 1 to 64 characters"),
    "release: reason": Case(("pool", "release", "{mine}", "--reason", X * 501, "--pool",
                             "east-pool"), 2, "a reason is 501 characters long; at most 500"),
    "move: reason": Case(("record", "move", "{mine}", "contacted", "--reason", X * 501), 2,
                         "a reason is 501 characters long; at most 500"),
    # 4. workflows
    "workflow: dead end": Case(("workflow", "validate", "{tmp}/dead-end.yaml"), 2,
                               "{tmp}/dead-end.yaml:6:9: stages[1].id: stage 'a' can never "
                               "reach an outcome (lost, won)", located=True),
    "workflow: bad YAML": Case(("workflow", "validate", "{tmp}/bad.yaml"), 2,
                               "{tmp}/bad.yaml:2:6: YAML syntax", located=True),
    "workflow: apply a loop": Case(("workflow", "apply", "{tmp}/loop.yaml"), 2,
                                   "stage 'a' can never reach an outcome"),
    # 6. imports
    "import: GB18030 file": Case(("import", "lead", "{tmp}/gb.csv"), 2,
                                 "gb.csv line 3: not UTF-8; it looks like GB18030 (Chinese "
                                 "spreadsheet export): use --encoding gb18030"),
    "import: unknown encoding": Case(("import", "lead", "{tmp}/gb.csv", "--encoding", "klingon"),
                                     2, "--encoding: unknown text encoding 'klingon'"),
    "import: 1 MB title": Case(("import", "lead", "{tmp}/title.jsonl"), 2,
                               "1 row(s) rejected"),
    "import: 1 MB CSV cell": Case(("import", "lead", "{tmp}/cell.csv"), 2, "1 row(s) rejected"),
    "import: empty CSV": Case(("import", "lead", "{tmp}/empty.csv"), 2, "empty.csv is empty"),
    "import: missing file": Case(("import", "lead", "{tmp}/missing.csv"), 2, "no file"),
    "import: unknown column": Case(("import", "lead", "{tmp}/fax.csv"), 2,
                                   "unknown column(s) 'fax' for lead"),
    "import: bad --on-duplicate": Case(("import", "lead", "{tmp}/fax.csv", "--on-duplicate",
                                        "maybe"), 2, "--on-duplicate must be skip, merge or "
                                                     "refuse, not 'maybe'"),
    # the classics
    "unknown field": Case(("record", "add", "lead", "--set", "name=A", "--set", "fax=1"), 2,
                          "field 'fax': unknown field"),
    "bad enum": Case(("record", "add", "lead", "--set", "name=A", "--set", "phone=13800000009",
                      "--set", "source=tv"), 2, "field 'source': 'tv' is not one of"),
    "bad number": Case(("record", "update", "{mine}", "--set", "budget=lots"), 2,
                       "'lots' is not a number"),
    "bad date": Case(("task", "add", "{mine}", "--due", "next friday", "--note", "call"), 2,
                     "--due: 'next friday' is not an ISO time"),
    "bad --set": Case(("record", "update", "{mine}", "--set", "budget"), 2,
                      "expected FIELD=VALUE, got 'budget'"),
    "unknown kind": Case(("record", "add", "spaceship", "--set", "name=A"), 4,
                         "no kind 'spaceship'"),
    "unknown record": Case(("record", "show", "999999"), 4, "no record #999999"),
    "unknown user": Case(("record", "list"), 4, "no user 'ghost'", user="ghost"),
    "unknown team, long": Case(("user", "add", "zoe", "--role", "operator", "--team", X * 5_000),
                               4, f"no team '{excerpt(X * 5_000)}' (add it with: crm team add "
                                  "NAME)"),
    "unknown pool, long": Case(("pool", "release", "{mine}", "--reason", "moved", "--pool",
                                X * 5_000), 4, f"no pool '{excerpt(X * 5_000)}'"),
    "unknown user, long": Case(("record", "list"), 4, f"no user '{excerpt(X * 5_000)}' (an admin",
                               user=X * 5_000),
    "unknown owner": Case(("record", "update", "{mine}", "--owner", "ghost"), 4,
                          "no user 'ghost'"),
    "not yours": Case(("record", "update", "{bobs}", "--set", "budget=1"), 3,
                      "record #{bobs}", user="alice"),
    "stale --if-version": Case(("record", "update", "{mine}", "--set", "budget=1",
                                "--if-version", "7"), 5, "is at version 1, not 7"),
    "duplicate": Case(("record", "add", "lead", "--set", "name=B", "--set",
                       "phone=+86 138-0000-0001"), 5, "duplicate of #{mine} owned by alice"),
}  # fmt: skip


@pytest.fixture
def world(people: Crm, tmp_path: Path) -> dict[str, str]:
    """Alice's lead and Bob's lead, and the files the table names; returns the fill-ins."""
    mine = people.add_record("alice", "lead", {"name": "A", "phone": "13800000001"}).record.id
    bobs = people.add_record("bob", "lead", {"name": "B", "phone": "13800000002"}).record.id
    (tmp_path / "random.db").write_bytes(bytes(range(256)) * 16)
    (tmp_path / "notes.txt").write_text("not a database\n" * 300, encoding="utf-8")
    transitions = "transitions:\n  - {from: new, to: [a, won, lost]}\n  - {from: a, to: b}\n"
    loop = BASE_WORKFLOW + transitions + "  - {from: b, to: a}\n"
    (tmp_path / "loop.yaml").write_text(loop, encoding="utf-8")
    dead_end = BASE_WORKFLOW + "transitions:\n  - {from: new, to: [a, b, won, lost]}\n"
    dead_end += "  - {from: b, to: lost}\n"  # and nothing leaves a
    (tmp_path / "dead-end.yaml").write_text(dead_end, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("workflow: w\n  bad: [\n", encoding="utf-8")
    gb = "name,phone\nA,13800000005\n王芳,13800000006\n".encode("gb18030")
    (tmp_path / "gb.csv").write_bytes(gb)
    title = {"title": "t" * 1_000_000, "name": "T", "phone": "13800000007"}
    (tmp_path / "title.jsonl").write_text(json.dumps(title) + "\n", encoding="utf-8")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    cell = "title,name,phone\n" + "t" * 1_000_000 + ",C,13800000008\n"
    (tmp_path / "cell.csv").write_text(cell, encoding="utf-8")
    (tmp_path / "fax.csv").write_text("name,phone,fax\nA,13800000008,1\n", encoding="utf-8")
    return {"tmp": str(tmp_path), "mine": str(mine), "bobs": str(bobs)}


def _snapshot(crm: Crm) -> tuple[Any, ...]:
    """What a refused command must leave as it was: the journal and every record."""
    users = [u.to_dict() for u in crm.list_users(ADMIN)]
    teams = [t.to_dict() for t in crm.list_teams(ADMIN)]
    pools = [p.to_dict() for p in crm.list_pools(ADMIN)]
    return len(crm.journal(ADMIN, limit=10_000)), crm.record_states(ADMIN), users, teams, pools


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_with_its_exit_code_and_changes_nothing(
    name: str, world: dict[str, str], people: Crm, db_url: str, tmp_path: Path
) -> None:
    case = CASES[name]
    if case.own_database and not db_url.startswith("sqlite"):
        pytest.skip("names a database of its own: run once, on SQLite")
    argv = [a.format(**world) if "{" in a else a for a in case.argv]
    if argv[0] != "--db":
        argv = ["--db", db_url, *argv]
    before, files = _snapshot(people), _files(tmp_path)

    result = CliRunner().invoke(app, ["--as", case.user, *argv], env=CLEAN_ENV)

    assert result.exit_code == case.code, (result.exit_code, result.stderr, result.stdout)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "internal error" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(world["tmp"] if case.located else "error: "), lines[0]
    assert case.words.format(**world) in lines[0]
    assert len(lines[0]) <= LONGEST_LINE, lines[0][:200]
    assert "s3cret" not in result.output
    assert _snapshot(people) == before
    assert _files(tmp_path) == files, "a bad command wrote a file"
    assert not (tmp_path / "nodir").exists()


def test_quotes_cut_long_values() -> None:
    assert quote("short") == "'short'"
    assert quote(X * 1000) == repr(X * (QUOTE_MAX - 1) + "…")
    assert len(excerpt(X * 1000)) == QUOTE_MAX and excerpt("ok") == "ok"
