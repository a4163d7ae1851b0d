"""workflows/b2b_sales.yaml: it validates, applies, routes, guards, and returns idle accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm_core.api import Crm, InvalidInput

WORKFLOW = Path(__file__).resolve().parents[3] / "workflows" / "b2b_sales.yaml"


def test_the_shipped_workflow_validates(crm: Crm) -> None:
    result = crm.check_workflow(WORKFLOW)
    assert result.problems == []
    assert result.workflow is not None
    assert result.workflow.stage_ids == [
        "lead", "qualified", "proposal", "negotiation", "won", "lost",
    ]  # fmt: skip


def test_routing_by_type_and_region(b2b: Crm) -> None:
    def place(**fields: object) -> str | None:
        fields.setdefault("company", f"Co {len(b2b.list_records('admin', limit=1000))}")
        return b2b.add_record("admin", "account", fields, auto_assign=True).record.owner

    assert place(type="distributor", region="west") in {"wang", "zhang"}
    assert place(region="华东") in {"wang", "li"}
    assert place(region="西南") in {"zhang", "zhao"}
    assert place(region="abroad") in {"wang", "li", "zhang", "zhao"}


def test_stages_follow_the_guards(b2b: Crm) -> None:
    account = b2b.add_record("admin", "account", {"company": "Acme"}, owner="wang").record.id
    assert b2b.get_record("wang", account).stage == "lead"
    with pytest.raises(InvalidInput, match="industry"):
        b2b.move_record("wang", account, "qualified")
    b2b.update_record("wang", account, {"industry": "machinery", "region": "east"})
    b2b.move_record("wang", account, "qualified")
    with pytest.raises(InvalidInput):
        b2b.move_record("wang", account, "proposal")  # nobody met the buyer yet
    b2b.log_activity("wang", account, "demo")
    b2b.move_record("wang", account, "proposal")
    with pytest.raises(InvalidInput):
        b2b.move_record("wang", account, "negotiation")  # no quote sent
    b2b.log_activity("wang", account, "quote")
    b2b.update_record("wang", account, {"margin": 0.3})
    b2b.move_record("wang", account, "negotiation")
    with pytest.raises(InvalidInput, match="price"):
        b2b.move_record("wang", account, "lost")  # a lost account needs a reason
    assert b2b.move_record("wang", account, "won").stage == "won"


def test_idle_accounts_leave_their_owner_unless_won_or_key(b2b: Crm, clock: Any) -> None:
    def account(company: str, **fields: object) -> int:
        return b2b.add_record("admin", "account", {"company": company, **fields},
                              owner="li").record.id  # fmt: skip

    idle = account("Idle Co")
    key = account("Key Co", key_account=True)
    won = account("Won Co", industry="steel", region="east", margin=0.4)
    b2b.move_record("admin", won, "qualified")
    b2b.log_activity("admin", won, "visit")
    b2b.move_record("admin", won, "proposal")
    b2b.log_activity("admin", won, "quote")
    b2b.move_record("admin", won, "negotiation")
    b2b.move_record("admin", won, "won")
    clock.advance(days=26)
    warned = b2b.sweep(None)
    assert sum(r.warned for r in warned) == 1  # five days ahead, only the idle one
    clock.advance(days=5)
    b2b.sweep(None)
    assert b2b.get_record("admin", idle).owner != "li"  # rotated or returned
    assert b2b.get_record("admin", key).owner == "li"
    assert b2b.get_record("admin", won).owner == "li"
