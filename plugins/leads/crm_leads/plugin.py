"""The lead kind: where a lead came from, who referred it, and how to reach it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm_core import hookimpl
from crm_core.i18n import _

# The hooks import reports and screens (and through them crm_core.api) when called:
# `crm --help` loads every plugin, and should not pay for what it does not run.

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
        "type": "number", "format": "money", "minimum": 0,
        "label": {"en": "Budget", "zh": "预算"},
    },
    "converted_to": {
        "type": "integer", "minimum": 1,
        "label": {"en": "Converted to (record id)", "zh": "已转化为"},
    },
}  # fmt: skip


# Import headers as the sales teams write them (crm import maps them without --map).
LEAD_ALIASES = {
    "姓名": "name", "公司": "company", "电话": "phone", "手机": "phone", "邮箱": "email",
    "来源": "source", "地区": "region", "预算": "budget", "负责人": "owner", "阶段": "stage",
}  # fmt: skip

# Stages of workflows/leads.yaml whose leads must keep what qualified them (its ``require``).
QUALIFIED_STAGES = {"qualified": ("budget", "region"), "won": ("budget", "region")}


@hookimpl
def crm_register_kinds(register: Callable[..., None]) -> None:
    """Register the ``lead`` kind, titled by its name and its company."""
    register(
        "lead",
        label={"en": "Lead", "zh": "线索"},
        fields=LEAD_FIELDS,
        title="{name} {company}",
        aliases=LEAD_ALIASES,
    )


@hookimpl
def crm_validate_record(
    kind: str, fields: dict[str, Any], before: dict[str, Any] | None, stage_after: str | None
) -> list[tuple[str, str]] | None:
    """A referral needs the referrer; a lead needs some way to reach it; a qualified lead
    keeps the budget and region it qualified with."""
    if kind != "lead":
        return None
    problems: list[tuple[str, str]] = []
    if fields.get("source") == "referral" and "referrer_id" not in fields:
        problems.append(("referrer_id", _("a referral lead needs the referring customer's id")))
    if not (fields.get("phone") or fields.get("email") or fields.get("company")):
        problems.append(("phone", _("give at least one of phone, email or company")))
    for name in QUALIFIED_STAGES.get(stage_after or "", ()):
        if before is not None and before.get(name) is not None and fields.get(name) is None:
            problems.append(
                (name, _("cannot be cleared while the lead is {stage}", stage=stage_after))
            )
    return problems


# The report functions of crm_leads.reports, by name: the module is imported when they register.
LEAD_REPORTS = [
    ("conversion_by_source", "lead_conversion_by_source", "Conversion by source", "来源转化率"),
    ("referrals", "lead_referrals", "Referral leaderboard", "转介绍排行"),
    ("aging", "lead_aging", "Lead aging", "线索账龄"),
    ("scores", "lead_scores", "Qualification scores", "线索评分"),
]


@hookimpl
def crm_register_reports(register: Callable[..., None]) -> None:
    """Register the lead reports; they are about the ``lead`` kind."""
    from crm_leads import reports

    for function, name, en, zh in LEAD_REPORTS:
        run = getattr(reports, function)
        register(name, run, label={"en": en, "zh": zh}, description=run.__doc__, kind="lead")


@hookimpl
def crm_register_list_columns(register: Callable[..., None]) -> None:
    """Lists of leads show company, phone, source and budget."""
    from crm_leads import screens

    for name, width in screens.COLUMNS:
        register(screens.KIND, name, width=width)


@hookimpl
def crm_register_detail_panels(register: Callable[..., None]) -> None:
    """A lead's detail shows its qualification: score, what it lacks, who referred it."""
    from crm_leads import screens

    register(
        screens.KIND,
        "qualification",
        screens.qualification,
        label={"en": "Qualification", "zh": "线索评估"},
    )


@hookimpl
def crm_register_dashboard_cards(register: Callable[..., None]) -> None:
    """The dashboard shows lead conversion by source."""
    from crm_leads import screens

    register(
        "lead_conversion",
        screens.conversion_card,
        label={"en": "Lead conversion by source", "zh": "线索来源转化"},
    )


def _chinese() -> dict[str, str]:
    """The catalogue of :mod:`crm_leads.locale_zh`, imported only when a reader wants Chinese."""
    from crm_leads.locale_zh import MESSAGES

    return MESSAGES


@hookimpl
def crm_register_messages(register: Callable[..., None]) -> None:
    """The leads' words in Chinese, read the first time a Chinese reader needs them."""
    register("zh", _chinese)  # one function for every CRM opened: its catalogue is read once


@hookimpl
def crm_register_talking_points(register: Callable[..., None]) -> None:
    """A call script for each open stage of a lead, in English and Chinese."""
    from crm_leads import screens

    for stage, points in screens.TALKING_POINTS.items():
        register(screens.KIND, stage, points)
