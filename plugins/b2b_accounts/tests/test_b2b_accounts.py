"""The account kind, its checks, and the cross-sell / up-sell convention."""

from __future__ import annotations

import pytest
from crm_b2b_accounts.opportunities import add_opportunity, deal_motions, tag_deal

from crm_core.api import Crm, Duplicate, FieldError


def test_the_account_kind_is_registered(crm: Crm) -> None:
    kind = crm.kind("account")
    assert kind.plugin == "b2b_accounts"
    assert kind.label == {"en": "Account", "zh": "企业客户"}
    fields = kind.fields
    assert fields["company"].required and fields["company"].dedupe == "company"
    assert fields["phone"].dedupe == "phone" and fields["email"].dedupe == "email"
    assert all(fields[f].indexed for f in ("industry", "region", "type", "parent_account_id"))
    assert fields["size"].schema["enum"] == ["micro", "small", "medium", "large", "enterprise"]
    assert fields["type"].schema["enum"] == [
        "end_customer", "distributor", "dealer", "wholesaler", "agent",
    ]  # fmt: skip
    assert fields["industry"].label == {"en": "Industry", "zh": "行业"}
    assert {"demo", "quote"} <= {t.name for t in crm.activity_types()}


def test_defaults_and_bad_values(crm: Crm) -> None:
    view = crm.add_record("admin", "account", {"company": "上海华东机械有限公司"}).record
    assert view.title == "上海华东机械有限公司"
    assert view.fields["type"] == "end_customer" and view.fields["key_account"] is False
    with pytest.raises(FieldError) as bad:
        crm.add_record("admin", "account", {"company": "X", "margin": 1.5, "size": "huge"})
    assert {f for f, _ in bad.value.problems} == {"margin", "size"}
    with pytest.raises(FieldError):
        crm.add_record("admin", "account", {"industry": "steel"})  # no company


def test_company_names_are_deduplicated(crm: Crm) -> None:
    crm.add_record("admin", "account", {"company": "Acme Trading Co., Ltd."})
    with pytest.raises(Duplicate):
        crm.add_record("admin", "account", {"company": "ACME trading co ltd"})
    crm.add_record("admin", "account", {"company": "Beta", "phone": "138 1234 5678"})
    with pytest.raises(Duplicate):
        crm.add_record("admin", "account", {"company": "Gamma", "phone": "+86 138-1234-5678"})


def test_group_companies(crm: Crm) -> None:
    parent = crm.add_record("admin", "account", {"company": "华润集团"}).record.id
    child = crm.add_record(
        "admin", "account", {"company": "华润万家", "parent_account_id": parent}
    ).record
    assert child.fields["parent_account_id"] == parent
    children = crm.list_records("admin", kind="account", where={"parent_account_id": parent})
    assert [r.id for r in children] == [child.id]


def test_cross_sell_and_up_sell_deals_are_listed_on_the_account(crm: Crm) -> None:
    account = crm.add_record("admin", "account", {"company": "Acme"}).record.id
    first = add_opportunity(crm, "admin", account, "Line A", amount="100000")
    cross = add_opportunity(crm, "admin", account, "Spare parts", motion="cross_sell", amount=8000)
    up = add_opportunity(crm, "admin", account, "Line A, premium", motion="up_sell", amount=20000)
    view = crm.get_record("admin", account)
    assert view.fields["cross_sell_deals"] == [cross.id]
    assert view.fields["up_sell_deals"] == [up.id]
    assert deal_motions(view) == {cross.id: "cross_sell", up.id: "up_sell"}
    assert first.id not in deal_motions(view)  # new business
    # re-tagging moves the deal between the lists; "new" takes it off both
    tag_deal(crm, "admin", account, cross.id, "up_sell")
    assert deal_motions(crm.get_record("admin", account)) == {
        cross.id: "up_sell", up.id: "up_sell",
    }  # fmt: skip
    tag_deal(crm, "admin", account, cross.id, "new")
    assert deal_motions(crm.get_record("admin", account)) == {up.id: "up_sell"}
    # who tagged what, and when, is in the journal
    actions = [e.action for e in crm.journal("admin", record_id=account)]
    assert actions.count("update") == 4


def test_a_deal_of_another_account_cannot_be_tagged(crm: Crm) -> None:
    a = crm.add_record("admin", "account", {"company": "A"}).record.id
    b = crm.add_record("admin", "account", {"company": "B"}).record.id
    deal = crm.add_deal("admin", b, "B's deal", amount=10)
    with pytest.raises(ValueError, match="not a deal of account"):
        tag_deal(crm, "admin", a, deal.id, "cross_sell")
    with pytest.raises(ValueError, match="motion"):
        add_opportunity(crm, "admin", a, "x", motion="resell")


def test_a_deal_is_not_both_cross_sell_and_up_sell(crm: Crm) -> None:
    account = crm.add_record("admin", "account", {"company": "Acme"}).record.id
    with pytest.raises(FieldError) as bad:
        crm.update_record("admin", account, {"cross_sell_deals": [3], "up_sell_deals": [3]})
    assert bad.value.problems[0][0] == "up_sell_deals"
