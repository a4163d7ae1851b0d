"""Crm.kind_scope: "none visible to you" told from "none yet", without telling operators more."""

from __future__ import annotations

import pytest

from crm_core.api import Crm, KindScope, NotFound


def _lead(crm: Crm, owner: str, n: int) -> None:
    crm.add_record("admin", "lead", {"name": f"L{n}", "phone": f"1390000{n:04d}"}, owner=owner)


def test_an_empty_kind_reads_none_yet_for_managers_and_admins(people: Crm) -> None:
    assert people.kind_scope("admin", "lead") == KindScope("lead", False, 0)
    assert people.kind_scope("mia", "lead").empty_note("leads") == "No leads yet."


def test_records_out_of_sight_are_counted_for_a_manager_not_for_an_operator(
    people: Crm,
) -> None:
    for n in range(3):
        _lead(people, "carol", n)  # the west team's: mia (east) sees none of them
    assert people.kind_scope("admin", "lead") == KindScope("lead", True)
    mia = people.kind_scope("mia", "lead")
    assert mia == KindScope("lead", False, 3)
    assert mia.empty_note("leads") == "No leads visible to you (3 exist)."
    alice = people.kind_scope("alice", "lead")
    assert alice == KindScope("lead", False, None)  # no count: nothing about others' records
    assert alice.empty_note("leads") == "No leads in your scope (yours or your pools')."
    _lead(people, "alice", 9)
    assert people.kind_scope("alice", "lead").empty_note("leads") is None
    assert people.kind_scope("mia", "lead").visible  # her team's record


def test_an_unknown_kind_is_refused(people: Crm) -> None:
    with pytest.raises(NotFound):
        people.kind_scope("mia", "nothing")
