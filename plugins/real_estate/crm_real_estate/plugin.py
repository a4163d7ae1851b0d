"""The buyer kind (购房客户) of a property developer: needs, interests, the member club.

Hooks used:

- ``crm_register_kinds``: the ``buyer`` kind and its fields;
- ``crm_register_activity_types``: viewings (带看), subscription (认购), signing
  (签约), handover (交房), member events (会员活动) and complaint resolutions;
  ``complaint`` and ``feedback`` are the core's own;
- ``crm_validate_record``: a budget range in order, and a way to reach the buyer;
- ``crm_register_reports``: ``re_funnel``, ``re_viewing_to_signing``,
  ``re_complaints`` and ``re_member_growth`` (see :mod:`crm_real_estate.reports`);
- ``crm_register_list_columns``, ``crm_register_detail_panels`` and
  ``crm_register_dashboard_cards``: the buyer's columns, needs panel and the
  funnel card of ``crm tui`` (see :mod:`crm_real_estate.screens`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm_core import hookimpl
from crm_core.i18n import _

# The hooks import reports and screens (and through them crm_core.api) when called:
# `crm --help` loads every plugin, and should not pay for what it does not run.

KIND = "buyer"

PURPOSES = [
    "home",  # 自住 / 刚需
    "upgrade",  # 改善
    "investment",  # 投资
    "school_district",  # 学区
    "retirement",  # 养老
    "commercial",  # 商铺 / 写字楼
    "other",
]
MEMBER_LEVELS = ["none", "silver", "gold", "platinum"]  # 建业会 / 万客会 tiers

BUYER_FIELDS: dict[str, dict[str, Any]] = {
    "name": {
        "type": "string", "minLength": 1, "maxLength": 200, "required": True,
        "searchable": True, "label": {"en": "Name", "zh": "姓名"},
    },
    "phone": {
        "type": "string", "maxLength": 40, "dedupe": "phone",
        "label": {"en": "Phone", "zh": "电话"},
    },
    "email": {
        "type": "string", "maxLength": 254, "dedupe": "email",
        "label": {"en": "E-mail", "zh": "邮箱"},
    },
    "budget_min": {
        "type": "number", "format": "money", "minimum": 0,
        "label": {"en": "Budget from", "zh": "预算下限"},
    },
    "budget_max": {
        "type": "number", "format": "money", "minimum": 0,
        "label": {"en": "Budget up to", "zh": "预算上限"},
    },
    "district": {
        "type": "string", "maxLength": 100, "indexed": True, "searchable": True,
        "label": {"en": "District", "zh": "意向区域"},
    },
    "rooms": {
        "type": "integer", "minimum": 1, "maximum": 10, "label": {"en": "Rooms", "zh": "居室"},
    },
    "purpose": {
        "type": "string", "enum": PURPOSES, "label": {"en": "Purpose", "zh": "购房目的"},
    },
    "property_interest": {
        "type": "string", "maxLength": 200, "searchable": True,
        "label": {"en": "Project / building of interest", "zh": "意向楼盘"},
    },
    "member_level": {
        "type": "string", "enum": MEMBER_LEVELS, "default": "none", "indexed": True,
        "label": {"en": "Member level", "zh": "会员等级"},
    },
    "member_points": {
        "type": "integer", "minimum": 0, "label": {"en": "Member points", "zh": "会员积分"},
    },
    "complaint_open": {
        "type": "boolean", "default": False,
        "label": {"en": "Complaint open", "zh": "投诉未结"},
    },
}  # fmt: skip

ACTIVITY_TYPES = {
    "viewing": {"en": "Viewing", "zh": "带看"},
    "subscription": {"en": "Subscription", "zh": "认购"},
    "signing": {"en": "Contract signing", "zh": "签约"},
    "handover": {"en": "Handover", "zh": "交房"},
    "member_event": {"en": "Member event", "zh": "会员活动"},
    "complaint_resolved": {"en": "Complaint resolved", "zh": "投诉已解决"},
}


# Import headers as the sales offices write them (crm import maps them without --map).
BUYER_ALIASES = {
    "姓名": "name", "客户姓名": "name", "电话": "phone", "手机": "phone", "邮箱": "email",
    "预算下限": "budget_min", "预算上限": "budget_max", "意向区域": "district", "居室": "rooms",
    "购房目的": "purpose", "意向楼盘": "property_interest", "会员等级": "member_level",
    "置业顾问": "owner", "阶段": "stage",
}  # fmt: skip

# Stages of workflows/real_estate.yaml from ``qualified`` on: a budget was how the buyer got
# there, so it cannot be cleared afterwards.
BUDGET_STAGES = {"qualified", "signed", "future_owner", "owner", "member"}


@hookimpl
def crm_register_kinds(register: Callable[..., None]) -> None:
    """Register the ``buyer`` kind, titled by name and district of interest."""
    register(
        KIND,
        label={"en": "Buyer", "zh": "购房客户"},
        fields=BUYER_FIELDS,
        title="{name} {district}",
        aliases=BUYER_ALIASES,
    )


@hookimpl
def crm_register_activity_types(register: Callable[..., None]) -> None:
    """Register the real-estate touchpoints the core does not have."""
    for name, label in ACTIVITY_TYPES.items():
        register(name, label=label)


@hookimpl
def crm_validate_record(
    kind: str, fields: dict[str, Any], before: dict[str, Any] | None, stage_after: str | None
) -> list[tuple[str, str]] | None:
    """A budget range runs from low to high; a buyer needs a phone or an e-mail; a qualified
    buyer keeps the budget it qualified with."""
    if kind != KIND:
        return None
    problems: list[tuple[str, str]] = []
    low, high = fields.get("budget_min"), fields.get("budget_max")
    if low is not None and high is not None and low > high:
        problems.append(("budget_min", _("is {low}, above budget_max {high}", low=low, high=high)))
    if not fields.get("phone") and not fields.get("email"):
        problems.append(("phone", _("give a phone or an e-mail")))
    had_budget = before is not None and before.get("budget_max") is not None
    if had_budget and high is None and stage_after in BUDGET_STAGES:
        problems.append(
            ("budget_max", _("cannot be cleared while the buyer is {stage}", stage=stage_after))
        )
    return problems


@hookimpl
def crm_register_reports(register: Callable[..., None]) -> None:
    """Register the four real-estate reports."""
    from crm_real_estate import reports

    for run, en, zh in reports.REPORTS:
        register(
            run.__name__,
            run,
            label={"en": en, "zh": zh},
            needs_kind=False,
            description=run.__doc__ or "",
        )


@hookimpl
def crm_register_list_columns(register: Callable[..., None]) -> None:
    """Lists of buyers show district, rooms, budget range and member level."""
    from crm_real_estate import screens

    for name, width in screens.COLUMNS:
        register(KIND, name, width=width)


@hookimpl
def crm_register_detail_panels(register: Callable[..., None]) -> None:
    """A buyer's detail shows their needs, viewings, member level and open complaints."""
    from crm_real_estate import screens

    register(KIND, "needs", screens.needs, label={"en": "Needs", "zh": "购房需求"})


@hookimpl
def crm_register_dashboard_cards(register: Callable[..., None]) -> None:
    """The dashboard shows the buyer funnel."""
    from crm_real_estate import screens

    register(
        "buyer_funnel", screens.funnel_card, label={"en": "Buyer funnel", "zh": "购房客户漏斗"}
    )


def _chinese() -> dict[str, str]:
    """The Chinese catalogue, imported only when a reader wants Chinese."""
    from crm_real_estate.locale_zh import MESSAGES

    return MESSAGES


@hookimpl
def crm_register_messages(register: Callable[..., None]) -> None:
    """The plugin's words in Chinese, read the first time a Chinese reader needs them."""
    register("zh", _chinese)  # one function for every CRM opened: its catalogue is read once
