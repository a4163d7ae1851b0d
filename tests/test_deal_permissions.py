"""Deals are judged by their own owner, with the records' permission table.

An owned deal stands to a user as its owner does (own, team, other); a deal
without an owner stands as its record does. Every cell below comes from
:data:`crm_core.permissions.RULES`, so the test follows the table.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from crm_core.api import Crm, NotFound, PermissionDenied
from crm_core.cli.main import app
from crm_core.permissions import RULES
from crm_core.testing import CLEAN_ENV

ACTORS = {"operator": "alice", "manager": "mia", "admin": "admin"}
# Whom each relation's deal belongs to; the accounts are all carol's (west), so
# only the deal's owner can give an east user access.
OWNERS = {"own": None, "team": "bob", "other": "carol"}
# Whom a reassignment hands the deal to: someone the actor may give records to.
TARGETS = {"operator": "alice", "manager": "alice", "admin": "carol"}


def _deal(crm: Crm, actor: str, relation: str) -> int:
    owner = OWNERS[relation] or actor
    rid = crm.add_record("admin", "member", {"name": "Acme"}, title="Acme", owner="carol")
    return crm.add_deal("admin", rid.record.id, "Pumps", amount="10", owner=owner).id


def _attempt(crm: Crm, actor: str, action: str, deal_id: int, role: str) -> None:
    if action == "show":
        crm.get_deal(actor, deal_id)
    elif action == "update":
        crm.update_deal(actor, deal_id, amount="20.5")
    elif action == "move":
        crm.move_deal(actor, deal_id, "won")
    else:
        target = TARGETS[role]
        current = crm.get_deal("admin", deal_id).owner
        crm.reassign_deal(actor, deal_id, "bob" if current == target else target)


@pytest.mark.parametrize("relation", ["own", "team", "other"])
@pytest.mark.parametrize("action", ["show", "update", "move", "reassign"])
@pytest.mark.parametrize("role", ["operator", "manager", "admin"])
def test_a_deal_is_judged_by_its_owner(people: Crm, role: str, action: str, relation: str) -> None:
    crm = people
    if role == "admin" and relation == "team":
        pytest.skip("the admin has no team")
    actor = ACTORS[role]
    deal_id = _deal(crm, actor, relation)
    before = crm.get_deal("admin", deal_id)
    allowed = action in RULES[role][relation]
    if allowed:
        _attempt(crm, actor, action, deal_id, role)
        assert crm.get_deal("admin", deal_id) != before or action == "show"
    else:
        with pytest.raises(PermissionDenied):
            _attempt(crm, actor, action, deal_id, role)
        assert crm.get_deal("admin", deal_id) == before
    visible = {d.id for d in crm.list_deals(actor)}
    assert (deal_id in visible) == ("show" in RULES[role][relation])


def test_an_operator_works_their_deal_on_someone_elses_account(people: Crm) -> None:
    crm = people
    rid = crm.add_record("admin", "member", {"name": "Acme"}, title="Acme", owner="carol")
    deal = crm.add_deal("admin", rid.record.id, "Pumps", amount="100", owner="alice")
    assert crm.get_deal("alice", deal.id).record_title == "Acme"
    moved = crm.move_deal("alice", deal.id, "won")
    assert moved.closed_at is not None
    assert crm.update_deal("alice", deal.id, amount="120").amount == 120
    with pytest.raises(PermissionDenied):
        crm.get_record("alice", rid.record.id)
    with pytest.raises(PermissionDenied):
        crm.add_deal("alice", rid.record.id, "More pumps")
    assert [d.id for d in crm.list_deals("alice")] == [deal.id]
    assert [d.id for d in crm.list_deals("carol")] == []
    assert crm.list_deals("admin", owner="alice")[0].record_title == "Acme"


def test_a_deal_without_owner_follows_its_record(people: Crm) -> None:
    crm = people
    rid = crm.add_record("admin", "member", {"name": "Pool Co"}, title="Pool Co").record.id
    crm.release("admin", rid, "no owner yet", pool="east-pool")
    deal = crm.add_deal("admin", rid, "Tanks", amount="5")
    assert deal.owner is None
    assert crm.get_deal("alice", deal.id).title == "Tanks"  # pool member: may see
    with pytest.raises(PermissionDenied):
        crm.move_deal("alice", deal.id, "won")  # …but claims the record first
    with pytest.raises(PermissionDenied):
        crm.get_deal("carol", deal.id)


def test_stage_dates_and_reopening(people: Crm) -> None:
    crm = people
    rid = crm.add_record("admin", "member", {"name": "Acme"}, title="Acme", owner="alice")
    deal = crm.add_deal("alice", rid.record.id, "Pumps")
    assert deal.owner == "alice" and deal.closed_at is None
    assert deal.stage_entered_at == deal.created_at
    lost = crm.update_deal("alice", deal.id, stage="lost")
    assert lost.closed_at is not None and lost.stage_entered_at == lost.closed_at
    reopened = crm.move_deal("alice", deal.id, "proposal")
    assert reopened.closed_at is None and reopened.stage == "proposal"
    entries = [e for e in crm.journal("admin", record_id=rid.record.id) if e.entity == "deal"]
    assert [e.action for e in reversed(entries)] == ["create", "update", "move"]


def test_bad_deal_input_is_refused(people: Crm) -> None:
    crm = people
    rid = crm.add_record("admin", "member", {"name": "Acme"}, title="Acme", owner="alice")
    deal = crm.add_deal("alice", rid.record.id, "Pumps")
    with pytest.raises(NotFound):
        crm.reassign_deal("admin", deal.id, "nobody")
    with pytest.raises(PermissionDenied):
        crm.reassign_deal("mia", deal.id, "carol")  # not of mia's team
    with pytest.raises(NotFound):
        crm.get_deal("admin", 999)
    assert crm.get_deal("admin", deal.id).owner == "alice"


def test_deal_commands(people: Crm, db_url: str) -> None:
    crm = people
    rid = crm.add_record("admin", "member", {"name": "Acme"}, title="Acme", owner="carol").record
    runner = CliRunner()

    def run(user: str, *args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, ["--db", db_url, "--as", user, *args], env=CLEAN_ENV)
        return result.exit_code, result.stdout, result.stderr

    code, out, _ = run("admin", "deal", "add", str(rid.id), "Pumps", "--amount", "1054",
                       "--owner", "alice", "--close-date", "2027-03-31")  # fmt: skip
    assert code == 0 and out.endswith("owned by alice\n"), out
    deal_id = crm.list_deals("admin")[0].id
    assert run("alice", "deal", "move", str(deal_id), "won")[0] == 0
    code, out, _ = run("alice", "deal", "show", str(deal_id))
    assert code == 0 and "1054.00" in out and "Acme" in out and "alice" in out
    code, out, _ = run("alice", "deal", "list", "--mine", "--stage", "won")
    assert code == 0 and "Pumps" in out
    code, _, err = run("carol", "deal", "reassign", str(deal_id), "carol")
    assert code == 3 and len(err.strip().splitlines()) == 1
    assert crm.get_deal("admin", deal_id).owner == "alice"
    code, _, err = run("admin", "deal", "add", str(rid.id), "X", "--close-date", "31/03/2027")
    assert code == 2 and "--close-date" in err and len(crm.list_deals("admin")) == 1
    code, _, err = run("admin", "deal", "list", "--mine", "--owner", "bob")
    assert code == 2 and "exclude" in err
    code, _, err = run("admin", "deal", "add", str(rid.id), "X", "--owner", "ghost")
    assert code != 0 and "ghost" in err and len(crm.list_deals("admin")) == 1
