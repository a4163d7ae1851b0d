"""The lead kind: where a lead came from, who referred it, and how to reach it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm_core import hookimpl
from crm_leads import reports, screens

SOURCES = ["market_survey", "event", "lucky_draw", "referral", "web", "ad", "other"]

LEAD_FIELDS: dict[str, dict[str, Any]] = {
    "name": {
        "type": "string", "minLength": 1, "maxLength": 200, "required": True,
        "searchable": True, "label": {"en": "Name", "zh": "姓名"},
    },
    "company": {
        "type": "string", "maxLength": 200, "dedupe": "company", "searchable": True,
        "label": {"en": "Company", "zh": "公司"},
    },
    "phone": {
        "type": "string", "maxLength": 40, "dedupe": "phone",
        "label": {"en": "Phone", "zh": "电话"},
    },
    "email": {
        "type": "string", "maxLength": 254, "dedupe": "email",
        "label": {"en": "E-mail", "zh": "邮箱"},
    },
    "source": {
        "type": "string", "enum": SOURCES, "default": "other", "indexed": True,
        "label": {"en": "Source", "zh": "来源"},
    },
    "referrer_id": {
        "type": "integer", "minimum": 1, "indexed": True,
        "label": {"en": "Referred by (record id)", "zh": "转介绍人"},
    },
    "region": {
        "type": "string", "maxLength": 100, "indexed": True,
        "label": {"en": "Region", "zh": "地区"},
    },
    "budget": {
        "type": "number", "minimum": 0, "label": {"en": "Budget", "zh": "预算"},
    },
    "converted_to": {
        "type": "integer", "minimum": 1,
        "label": {"en": "Converted to (record id)", "zh": "已转化为"},
    },
}  # fmt: skip


@hookimpl
def crm_register_kinds(register: Callable[..., None]) -> None:
    """Register the ``lead`` kind."""
    register("lead", label={"en": "Lead", "zh": "线索"}, fields=LEAD_FIELDS)


@hookimpl
def crm_validate_record(
    kind: str, fields: dict[str, Any], before: dict[str, Any] | None, actor: str
) -> list[tuple[str, str]] | None:
    """A referral needs the referrer; a lead needs some way to reach it."""
    if kind != "lead":
        return None
    problems = []
    if fields.get("source") == "referral" and "referrer_id" not in fields:
        problems.append(("referrer_id", "a referral lead needs the referring customer's id"))
    if not any(fields.get(k) for k in ("phone", "email", "company")):
        problems.append(("phone", "give at least one of phone, email or company"))
    return problems


LEAD_REPORTS = [
    (
        reports.conversion_by_source,
        "lead_conversion_by_source",
        "Conversion by source",
        "来源转化率",
    ),
    (reports.referrals, "lead_referrals", "Referral leaderboard", "转介绍排行"),
    (reports.aging, "lead_aging", "Lead aging", "线索账龄"),
    (reports.scores, "lead_scores", "Qualification scores", "线索评分"),
]


@hookimpl
def crm_register_reports(register: Callable[..., None]) -> None:
    """Register the lead reports; they are about the ``lead`` kind."""
    for run, name, en, zh in LEAD_REPORTS:
        register(name, run, label={"en": en, "zh": zh}, description=run.__doc__, kind="lead")


@hookimpl
def crm_register_list_columns(register: Callable[..., None]) -> None:
    """Lists of leads show company, phone, source and budget."""
    for name, width in screens.COLUMNS:
        register(screens.KIND, name, width=width)


@hookimpl
def crm_register_detail_panels(register: Callable[..., None]) -> None:
    """A lead's detail shows its qualification: score, what it lacks, who referred it."""
    register(
        screens.KIND,
        "qualification",
        screens.qualification,
        label={"en": "Qualification", "zh": "线索评估"},
    )


@hookimpl
def crm_register_dashboard_cards(register: Callable[..., None]) -> None:
    """The dashboard shows lead conversion by source."""
    register(
        "lead_conversion",
        screens.conversion_card,
        label={"en": "Lead conversion by source", "zh": "线索来源转化"},
    )
