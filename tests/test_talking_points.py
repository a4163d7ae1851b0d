"""Plugins give a call script per stage (crm_register_talking_points); the API reads it.

Bad registrations are refused in tests/test_screenparts.py with the other screen parts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_core.api import Crm, PermissionDenied

ROOT = Path(__file__).resolve().parents[1]


def test_a_lead_gets_the_points_of_its_stage(people: Crm) -> None:
    people.apply_workflow("admin", ROOT / "workflows" / "leads.yaml")
    rid = people.add_record("alice", "lead", {"name": "Wang", "phone": "13900000001"}).record.id
    new = people.talking_points("alice", rid)
    assert (new.kind, new.stage) == ("lead", "new")
    assert new.points[0] == {
        "en": "Say who you are and why you call",
        "zh": "说明你是谁、为什么来电",
    }
    people.move_record("alice", rid, "contacted")
    assert people.talking_points("alice", rid).points[0]["en"].startswith("Ask about the budget")
    with pytest.raises(PermissionDenied):
        people.talking_points("carol", rid)


def test_a_record_without_a_stage_gets_none(people: Crm) -> None:
    rid = people.add_record("alice", "lead", {"name": "Li", "phone": "13900000002"}).record.id
    assert people.talking_points("alice", rid).points == []
