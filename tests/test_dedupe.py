"""Duplicate prevention (防撞单): the normalisers and the refusals through the API."""

from __future__ import annotations

from typing import Any

import pytest

from crm_core.api import Crm, Duplicate, FieldError, PermissionDenied
from crm_core.dedupe import normalize_company, normalize_email, normalize_exact, normalize_phone

# -- normalisers ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+86 138-1234-5678",
        "+8613812345678",
        "008613812345678",
        " (138) 1234 5678 ",
    ],
)
def test_chinese_mobile_numbers_become_e164(text: str) -> None:
    assert normalize_phone(text) == "+8613812345678"


def test_landline_and_foreign_numbers() -> None:
    assert normalize_phone("010 6552 9988") == "+861065529988"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize("text", ["", "abc", "12", "call me maybe", "+86", "12345", "14012345678"])
def test_invalid_phones_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        normalize_phone(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("li@example.com", "li@example.com"),
        ("  Li.Lei@Example.COM ", "li.lei@example.com"),
        ("WANG+crm@Mail.Example.cn", "wang+crm@mail.example.cn"),
    ],
)
def test_emails_are_trimmed_and_lower_cased(text: str, expected: str) -> None:
    assert normalize_email(text) == expected


@pytest.mark.parametrize("text", ["", "li", "li@", "@example.com", "li@localhost", "l i@x.cn"])
def test_invalid_emails_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="e-mail"):
        normalize_email(text)


@pytest.mark.parametrize(
    "names",
    [
        [
            "北京阿里巴巴有限公司",
            "北京阿里巴巴",
            "北京阿里巴巴 有限公司",
            "北京阿里巴巴股份有限公司",
        ],
        ["华为技术有限责任公司", "华为技术有限公司", "华为技术"],
        ["阿里巴巴（中国）有限公司", "阿里巴巴(中国)"],
        ["Acme Co., Ltd.", "ACME Limited", "acme", "Acme Inc.", "ACME Corp", "Ａｃｍｅ Co.,Ltd"],
        ["Acme Trading Co., Ltd.", "acme trading", "ACME-TRADING LLC"],
    ],
)
def test_company_names_fold_to_one_key(names: list[str]) -> None:
    keys = {normalize_company(n) for n in names}
    assert len(keys) == 1, keys


def test_company_folding_keeps_distinct_companies_apart() -> None:
    assert normalize_company("Acme Co., Ltd.") != normalize_company("Acme Trading Co., Ltd.")
    assert normalize_company("北京阿里巴巴有限公司") != normalize_company("上海阿里巴巴有限公司")
    assert normalize_company("Acme Co., Ltd.") == "acme"
    assert normalize_company("北京阿里巴巴有限公司") == "北京阿里巴巴"


@pytest.mark.parametrize("text", ["", "   ", "!!", "（）"])
def test_empty_company_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="empty company"):
        normalize_company(text)


def test_exact_normaliser() -> None:
    assert normalize_exact("  ＡbC ") == "abc"
    with pytest.raises(ValueError):
        normalize_exact("   ")


# -- through the API ---------------------------------------------------------------


def _snapshot(crm: Crm) -> tuple[int, dict[int, dict[str, Any]]]:
    return len(crm.journal("admin", limit=10_000)), crm.record_states("admin")


def test_a_duplicate_phone_is_refused_with_id_and_owner(people: Crm) -> None:
    crm = people
    first = crm.add_record("alice", "member", {"name": "Li Lei", "phone": "138 1234 5678"})
    before = _snapshot(crm)
    with pytest.raises(Duplicate) as err:
        crm.add_record("bob", "member", {"name": "Lei Li", "phone": "+86 138-1234-5678"})
    dup = err.value
    assert dup.exit_code == 5
    assert dup.record_id == first.record.id
    assert dup.owner == "alice"
    assert dup.field == "phone"
    assert dup.value == "+8613812345678"
    assert str(dup).startswith(f"duplicate of #{first.record.id} owned by alice")
    assert _snapshot(crm) == before
    assert [r.id for r in crm.list_records("bob")] == []


def test_duplicate_email_and_company(people: Crm) -> None:
    crm = people
    lead = crm.add_record(
        "alice",
        "lead",
        {"name": "王芳", "company": "北京阿里巴巴有限公司", "email": "Wang@Example.com"},
    ).record
    before = _snapshot(crm)
    with pytest.raises(Duplicate) as err:
        crm.add_record("carol", "lead", {"name": "王芳", "company": "北京阿里巴巴"})
    assert (err.value.record_id, err.value.field) == (lead.id, "company")
    assert "owned by alice" in str(err.value)
    with pytest.raises(Duplicate) as err:
        crm.add_record("carol", "lead", {"name": "Fang", "email": " wang@EXAMPLE.com"})
    assert (err.value.record_id, err.value.field) == (lead.id, "email")
    assert _snapshot(crm) == before


def test_keys_are_unique_per_kind_not_across_kinds(people: Crm) -> None:
    crm = people
    crm.add_record("alice", "member", {"name": "Li", "phone": "13812345678"})
    lead = crm.add_record("alice", "lead", {"name": "Li", "phone": "13812345678"})
    assert lead.merged is False
    assert crm.count_records("admin") == 2


def test_an_invalid_dedupe_value_is_a_field_error(people: Crm) -> None:
    crm = people
    with pytest.raises(FieldError) as err:
        crm.add_record("alice", "member", {"name": "Li", "phone": "not a phone"})
    assert err.value.exit_code == 2
    assert [f for f, _ in err.value.problems] == ["phone"]
    assert crm.count_records("admin") == 0


def test_an_update_that_creates_a_duplicate_is_refused(people: Crm) -> None:
    crm = people
    a = crm.add_record("alice", "member", {"name": "A", "phone": "13800000001"}).record
    b = crm.add_record("alice", "member", {"name": "B", "phone": "13800000002"}).record
    before = _snapshot(crm)
    with pytest.raises(Duplicate) as err:
        crm.update_record("alice", b.id, {"phone": "+86 138 0000 0001", "visits": 3})
    assert err.value.record_id == a.id
    assert "owned by alice" in str(err.value)
    assert _snapshot(crm) == before
    assert crm.get_record("alice", b.id).version == b.version
    # and B's own key is still held: a third record cannot take it
    with pytest.raises(Duplicate) as err:
        crm.add_record("bob", "member", {"name": "C", "phone": "138 0000 0002"})
    assert err.value.record_id == b.id


def test_an_update_keeping_the_same_number_in_another_format_is_fine(people: Crm) -> None:
    crm = people
    a = crm.add_record("alice", "member", {"name": "A", "phone": "13800000001"}).record
    after = crm.update_record("alice", a.id, {"phone": "+86 138 0000 0001"})
    assert after.fields["phone"] == "+86 138 0000 0001"
    with pytest.raises(Duplicate):
        crm.add_record("bob", "member", {"name": "B", "phone": "13800000001"})


def test_clearing_a_dedupe_field_frees_the_key(people: Crm) -> None:
    crm = people
    a = crm.add_record("alice", "member", {"name": "A", "phone": "13800000001"}).record
    crm.update_record("alice", a.id, {"phone": None})
    b = crm.add_record("bob", "member", {"name": "B", "phone": "138 0000 0001"}).record
    assert b.fields["phone"] == "138 0000 0001"
    # and A cannot take it back now that B holds it
    with pytest.raises(Duplicate) as err:
        crm.update_record("alice", a.id, {"phone": "13800000001"})
    assert err.value.record_id == b.id
    assert err.value.owner == "bob"


def test_changing_a_dedupe_field_frees_the_old_key(people: Crm) -> None:
    crm = people
    a = crm.add_record("alice", "member", {"name": "A", "email": "a@example.com"}).record
    crm.update_record("alice", a.id, {"email": "a2@example.com"})
    crm.add_record("bob", "member", {"name": "B", "email": "A@example.com"})
    with pytest.raises(Duplicate) as err:
        crm.add_record("bob", "member", {"name": "C", "email": "a2@example.com"})
    assert err.value.record_id == a.id


def test_merge_fills_empty_fields_and_reports_kept_ones(people: Crm) -> None:
    crm = people
    original = crm.add_record(
        "alice", "member", {"name": "Li Lei", "phone": "13812345678", "visits": 2}
    ).record
    journal_before = len(crm.journal("admin", limit=10_000))
    result = crm.add_record(
        "alice",
        "member",
        {
            "name": "Lei Li",
            "phone": "13812345678",
            "visits": 9,
            "email": "li@example.com",
            "vip": True,
        },
        merge=True,
    )
    assert result.merged is True
    assert result.record.id == original.id
    assert result.filled == ["email", "vip"]
    assert result.kept == ["name", "visits"]
    expected = {
        "name": "Li Lei",
        "phone": "13812345678",
        "visits": 2,
        "plan": "monthly",
        "email": "li@example.com",
        "vip": True,
    }
    assert result.record.fields == expected
    assert crm.get_record("alice", original.id).fields == expected
    assert crm.count_records("admin") == 1
    rows = crm.journal("admin", limit=10_000)
    assert len(rows) == journal_before + 1
    merge = rows[0]
    assert (merge.action, merge.entity, merge.record_id) == ("merge", "record", original.id)
    assert merge.actor == "alice"
    assert merge.before == {"fields": {"email": None, "vip": None}}
    assert merge.after == {"fields": {"email": "li@example.com", "vip": True}}
    assert crm.replay_journal("admin") == crm.record_states("admin")


def test_merge_without_a_duplicate_creates_the_record(people: Crm) -> None:
    crm = people
    result = crm.add_record("alice", "member", {"name": "Li", "phone": "13812345678"}, merge=True)
    assert result.merged is False
    assert result.filled == [] and result.kept == []
    assert crm.get_record("alice", result.record.id).owner == "alice"


def test_merge_with_nothing_new_changes_nothing(people: Crm) -> None:
    crm = people
    original = crm.add_record("alice", "member", {"name": "Li", "phone": "13812345678"}).record
    before = _snapshot(crm)
    result = crm.add_record("alice", "member", {"name": "Li", "phone": "13812345678"}, merge=True)
    assert result.merged is True
    assert result.filled == [] and result.kept == []
    assert result.record.version == original.version
    assert _snapshot(crm) == before


def test_merge_into_a_record_the_actor_may_not_use_is_refused(people: Crm) -> None:
    crm = people
    crm.add_record("carol", "member", {"name": "Li", "phone": "13812345678"})
    before = _snapshot(crm)
    with pytest.raises(PermissionDenied):
        crm.add_record(
            "alice", "member", {"name": "Li", "phone": "13812345678", "vip": True}, merge=True
        )
    assert _snapshot(crm) == before


def test_merge_that_would_take_a_third_records_key_is_refused(people: Crm) -> None:
    crm = people
    target = crm.add_record("alice", "member", {"name": "Li", "phone": "13812345678"}).record
    other = crm.add_record("alice", "member", {"name": "Wu", "email": "wu@example.com"}).record
    before = _snapshot(crm)
    with pytest.raises(Duplicate) as err:
        crm.add_record(
            "alice",
            "member",
            {"name": "Li", "phone": "13812345678", "email": "WU@example.com"},
            merge=True,
        )
    assert err.value.record_id == other.id
    assert _snapshot(crm) == before
    assert crm.get_record("alice", target.id).fields == target.fields
