"""Every cell of the permission table, walked through the API and the CLI.

The cells come from :data:`crm_core.permissions.RULES` itself: for each role,
relation and action the test puts a fresh record in that relation to the
actor, does the action, and expects it to work exactly when the table says
so (a refusal is exit 3 and changes nothing). The README's table is printed
from the same rules; the last test keeps the two equal.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_core import permissions
from crm_core.api import Crm, PermissionDenied
from crm_core.cli.main import app
from crm_core.permissions import ACTIONS, RELATIONS, RULES
from crm_core.testing import CLEAN_ENV

README = Path(__file__).parent.parent / "README.md"
WORKFLOW = """\
workflow: members
version: 1
kind: member
stages:
  - id: new
  - id: contacted
  - id: won
    outcome: won
  - id: lost
    outcome: lost
    lost_reasons: [no budget]
"""
ACTORS = {"operator": "alice", "manager": "mia", "admin": "root"}


@pytest.fixture
def org(crm: Crm, tmp_path: Path) -> Crm:
    """East (alice, bob, manager mia, admin root) and west (carol, manager wes); pools:
    east-pool (alice, mia, root), bob-pool (bob: the pool east works but none of the
    three actors is in), west-pool (carol, wes); the member workflow applied."""
    crm.add_team("admin", "east")
    crm.add_team("admin", "west")
    for name, role, team in [
        ("alice", "operator", "east"),
        ("bob", "operator", "east"),
        ("mia", "manager", "east"),
        ("root", "admin", "east"),
        ("carol", "operator", "west"),
        ("wes", "manager", "west"),
    ]:
        crm.add_user("admin", name, role, team)
    crm.add_pool("admin", "east-pool", ["alice", "mia", "root"])
    crm.add_pool("admin", "bob-pool", ["bob"])
    crm.add_pool("admin", "west-pool", ["carol", "wes"])
    path = tmp_path / "members.yaml"
    path.write_text(WORKFLOW)
    crm.apply_workflow("admin", path)
    return crm


def _place(crm: Crm, actor: str, relation: str, action: str, name: str) -> int:
    """A new record standing in ``relation`` to ``actor``, as ``action`` needs it."""
    unowned = action in ("claim", "assign")
    owner = {"own": actor, "team": "bob", "other": "carol"}.get(relation, "bob")
    rid = crm.add_record("admin", "member", {"name": name}, title=name, owner=owner).record.id
    pool = {"pool_member": "east-pool", "pool_team": "bob-pool"}.get(relation)
    if relation == "other" and unowned:
        pool = "west-pool"
    if pool is not None:
        crm.release("admin", rid, "matrix", pool=pool)
    return rid


@dataclass
class Outcome:
    """Whether the action went through; ``denied`` says it was refused with exit 3."""

    done: bool
    denied: bool = False


def _new_owner(crm: Crm, rid: int, actor: str) -> str:
    """Someone else of the actor's team to give the record to."""
    return "bob" if crm.get_record("admin", rid).owner == "alice" else "alice"


def _api(crm: Crm, actor: str, action: str, rid: int, name: str) -> Outcome:
    calls: dict[str, Callable[[], object]] = {
        "show": lambda: crm.get_record(actor, rid),
        "update": lambda: crm.update_record(actor, rid, {"visits": 3}),
        "move": lambda: crm.move_record(actor, rid, "contacted"),
        "archive": lambda: crm.archive_record(actor, rid),
        "claim": lambda: crm.claim(actor, rid),
        "release": lambda: crm.release(actor, rid, "not now", pool="east-pool"),
        "assign": lambda: crm.update_record(actor, rid, owner="bob"),
        "reassign": lambda: crm.update_record(actor, rid, owner=_new_owner(crm, rid, actor)),
        "journal": lambda: crm.journal(actor, record_id=rid),
    }
    if action == "export":
        out = io.StringIO()
        crm.export_records(actor, "member", out)
        return Outcome(name in out.getvalue())
    if action == "report":
        result = crm.run_report(actor, "conversion_by_field", kind="member", by="name")
        return Outcome(any(row[0] == name for row in result.rows))
    try:
        calls[action]()
    except PermissionDenied:
        return Outcome(False, denied=True)
    return Outcome(True)


def _cli(crm: Crm, url: str, actor: str, action: str, rid: int, name: str) -> Outcome:
    r = str(rid)
    argv = {
        "show": ["record", "show", r],
        "update": ["record", "update", r, "--set", "visits=3"],
        "move": ["record", "move", r, "contacted"],
        "archive": ["record", "archive", r],
        "claim": ["pool", "claim", r],
        "release": ["pool", "release", r, "--reason", "not now", "--pool", "east-pool"],
        "assign": ["record", "update", r, "--owner", "bob"],
        "reassign": ["record", "update", r, "--owner", _new_owner(crm, rid, actor)],
        "journal": ["journal", "--record", r],
        "export": ["export", "member"],
        "report": ["report", "conversion_by_field", "--kind", "member", "--by", "name",
                   "--format", "json"],
    }[action]  # fmt: skip
    result = CliRunner().invoke(app, ["--db", url, "--as", actor, *argv], env=CLEAN_ENV)
    if result.exit_code == 3:
        assert result.stderr.count("\n") == 1, result.stderr
        return Outcome(False, denied=True)
    assert result.exit_code == 0, (argv, result.stdout, result.stderr, result.exception)
    if action == "export":
        return Outcome(name in result.stdout)
    if action == "report":
        return Outcome(any(row[0] == name for row in json.loads(result.stdout)["rows"]))
    return Outcome(True)


def _cells() -> list[tuple[str, str]]:
    return [
        (relation, action)
        for relation in RELATIONS
        for action in ACTIONS
        if permissions.applies(action, relation)
    ]


@pytest.mark.parametrize("surface", ["api", "cli"])
@pytest.mark.parametrize("role", list(ACTORS))
def test_every_cell_of_the_table_holds(org: Crm, db_url: str, role: str, surface: str) -> None:
    crm, actor = org, ACTORS[role]
    wrong = []
    for relation, action in _cells():
        name = f"{role}-{relation}-{action}-{surface}"
        rid = _place(crm, actor, relation, action, name)
        before = crm.get_record("admin", rid)
        journal_rows = len(crm.journal("admin", record_id=rid, limit=1000))
        if surface == "api":
            outcome = _api(crm, actor, action, rid, name)
        else:
            outcome = _cli(crm, db_url, actor, action, rid, name)
        allowed = action in RULES[role][relation]
        if outcome.done != allowed:
            wrong.append(f"{role} {relation} {action}: table says {allowed}, got {outcome}")
        if not outcome.done:
            assert crm.get_record("admin", rid) == before, (relation, action)
            assert len(crm.journal("admin", record_id=rid, limit=1000)) == journal_rows
    assert not wrong, "\n".join(wrong)


def test_readme_table_is_the_rules_table() -> None:
    text = README.read_text(encoding="utf-8")
    found = re.search(
        r"<!-- permissions:start -->\n(.*?)<!-- permissions:end -->", text, flags=re.S
    )
    assert found, "README.md lost its <!-- permissions:start/end --> markers"
    assert found.group(1) == permissions.markdown_table(), (
        "README's permission table differs from crm_core.permissions.RULES: "
        "paste the output of `crm permissions` between the markers"
    )


def test_crm_permissions_prints_the_table() -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["permissions"], env=CLEAN_ENV)
    assert table.exit_code == 0 and table.stdout == permissions.markdown_table()
    rules = runner.invoke(app, ["permissions", "--json"], env=CLEAN_ENV)
    assert json.loads(rules.stdout) == Crm.permission_rules()
    assert json.loads(rules.stdout)["operator"]["pool_member"] == [
        "show", "claim", "report", "journal"
    ]  # fmt: skip
