"""The tour of the README, through the API."""

from crm_core.api import Crm


def test_add_show_and_journal(people: Crm) -> None:
    crm = people
    added = crm.add_record("alice", "member", {"name": "Li Lei", "phone": "13812345678"})
    record = crm.get_record("alice", added.record.id)
    assert record.fields == {"name": "Li Lei", "phone": "13812345678", "plan": "monthly"}
    assert record.owner == "alice"
    actions = [j.action for j in crm.journal("alice", record_id=record.id)]
    assert actions == ["create"]
