"""The ``account`` kind (企业客户), B2B activity types, checks and the b2b reports.

Opportunities are the core's deals (``Crm.add_deal``) on an account. Which
deals are cross-sell (交叉销售) or up-sell (高级销售) is kept on the account, in
the fields ``cross_sell_deals`` and ``up_sell_deals`` (lists of deal ids);
:mod:`crm_b2b_accounts.opportunities` writes them. See the README.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from crm_core import hookimpl
from crm_core.i18n import _

# The hooks import reports and screens (and through them crm_core.api) when called:
# `crm --help` loads every plugin, and should not pay for what it does not run.

KIND = "account"
SIZES = ["micro", "small", "medium", "large", "enterprise"]
TYPES = ["end_customer", "distributor", "dealer", "wholesaler", "agent"]

DEAL_IDS: dict[str, Any] = {"type": "array", "items": {"type": "integer", "minimum": 1},
                            "uniqueItems": True}  # fmt: skip

ACCOUNT_FIELDS: dict[str, dict[str, Any]] = {
    "company": {
        "type": "string", "minLength": 1, "maxLength": 200, "required": True,
        "dedupe": "company", "searchable": True, "label": {"en": "Company", "zh": "公司名称"},
    },
    "industry": {
        "type": "string", "maxLength": 100, "indexed": True,
        "label": {"en": "Industry", "zh": "行业"},
    },
    "size": {
        "type": "string", "enum": SIZES, "label": {"en": "Company size", "zh": "企业规模"},
    },
    "region": {
        "type": "string", "maxLength": 100, "indexed": True,
        "label": {"en": "Region", "zh": "地区"},
    },
    "type": {
        "type": "string", "enum": TYPES, "default": "end_customer", "indexed": True,
        "label": {"en": "Account type", "zh": "客户类型"},
    },
    "margin": {
        "type": "number", "minimum": 0, "maximum": 1,
        "label": {"en": "Gross margin (0..1)", "zh": "边际利润率"},
    },
    "phone": {
        "type": "string", "maxLength": 40, "dedupe": "phone",
        "label": {"en": "Phone", "zh": "电话"},
    },
    "email": {
        "type": "string", "maxLength": 254, "dedupe": "email",
        "label": {"en": "E-mail", "zh": "邮箱"},
    },
    "key_account": {
        "type": "boolean", "default": False,
        "label": {"en": "Key account (never returned to the pool)", "zh": "大客户"},
    },
    "parent_account_id": {
        "type": "integer", "minimum": 1, "indexed": True,
        "label": {"en": "Parent account (group company)", "zh": "上级集团"},
    },
    "cross_sell_deals": {
        **DEAL_IDS, "label": {"en": "Cross-sell deals (deal ids)", "zh": "交叉销售商机"},
    },
    "up_sell_deals": {
        **DEAL_IDS, "label": {"en": "Up-sell deals (deal ids)", "zh": "高级销售商机"},
    },
}  # fmt: skip

ACTIVITY_TYPES = {
    "demo": {"en": "Product demo", "zh": "产品演示"},
    "quote": {"en": "Quote sent", "zh": "报价"},
}


# Import headers as the sales teams write them (crm import maps them without --map).
ACCOUNT_ALIASES = {
    "公司名称": "company", "公司": "company", "行业": "industry", "企业规模": "size",
    "地区": "region", "客户类型": "type", "电话": "phone", "邮箱": "email",
    "大客户": "key_account", "负责人": "owner", "阶段": "stage",
}  # fmt: skip

# Stages of workflows/b2b_sales.yaml whose accounts must keep the margin they entered with.
MARGIN_STAGES = {"negotiation", "won"}


@hookimpl
def crm_register_kinds(register: Callable[..., None]) -> None:
    """Register the ``account`` kind, titled by its company (renames follow)."""
    register(
        KIND,
        label={"en": "Account", "zh": "企业客户"},
        fields=ACCOUNT_FIELDS,
        title="{company}",
        aliases=ACCOUNT_ALIASES,
    )


@hookimpl
def crm_register_activity_types(register: Callable[..., None]) -> None:
    """Register the B2B touchpoints ``demo`` and ``quote`` (the workflow's guards use them)."""
    for name, label in ACTIVITY_TYPES.items():
        register(name, label=label)


@hookimpl
def crm_validate_record(
    kind: str, fields: dict[str, Any], before: dict[str, Any] | None, stage_after: str | None
) -> list[tuple[str, str]] | None:
    """A deal is cross-sell or up-sell, not both; an account in negotiation keeps its margin."""
    if kind != KIND:
        return None
    problems: list[tuple[str, str]] = []
    both = set(fields.get("cross_sell_deals") or []) & set(fields.get("up_sell_deals") or [])
    if both:
        ids = ", ".join(f"#{i}" for i in sorted(both))
        problems.append(("up_sell_deals", _("deal(s) {ids} are already cross-sell deals", ids=ids)))
    cleared = before is not None and before.get("margin") is not None and "margin" not in fields
    if cleared and stage_after in MARGIN_STAGES:
        problems.append(
            ("margin", _("cannot be cleared while the account is in {stage}", stage=stage_after))
        )
    return problems


@hookimpl
def crm_register_migrations(register: Callable[..., None]) -> None:
    """The revisions under ``crm_b2b_accounts/migrations`` create the catalogue's tables
    (see :mod:`crm_b2b_accounts.catalogue`).

    Only the folder: ``crm record show`` checks the schema without importing the tables.
    """
    register(Path(__file__).parent / "migrations")


@hookimpl
def crm_register_commands(register: Callable[..., None]) -> None:
    """Add ``crm product …`` and ``crm deal-line …`` (see :mod:`.commands`)."""
    from crm_b2b_accounts import commands

    commands.crm_register_commands(register)


@hookimpl
def crm_register_import_entities(register: Callable[..., None]) -> None:
    """The catalogue's ``product`` and ``deal_line`` in import specs (see :mod:`.bundle`)."""
    from crm_b2b_accounts import bundle

    bundle.crm_register_import_entities(register)


@hookimpl
def crm_register_reports(register: Callable[..., None]) -> None:
    """Register the b2b_* reports (:mod:`crm_b2b_accounts.reports` and ``reports_deals``)."""
    from crm_b2b_accounts import reports, reports_deals

    for run, zh in reports.REPORTS + reports_deals.REPORTS:
        name = run.__name__
        en = name.removeprefix("b2b_").replace("_", " ").capitalize()
        register(name, run, label={"en": f"B2B: {en}", "zh": zh}, description=run.__doc__ or "")


@hookimpl
def crm_register_list_columns(register: Callable[..., None]) -> None:
    """Lists of accounts show company, industry, region and account type."""
    from crm_b2b_accounts import screens

    for name, width in screens.COLUMNS:
        register(KIND, name, width=width)


@hookimpl
def crm_register_detail_panels(register: Callable[..., None]) -> None:
    """An account's detail shows its value: ABC class, revenue, pipeline, deals by motion."""
    from crm_b2b_accounts import screens

    register(KIND, "value", screens.value, label={"en": "Account value", "zh": "客户价值"})


@hookimpl
def crm_register_dashboard_cards(register: Callable[..., None]) -> None:
    """The dashboard shows the weighted pipeline of open deals."""
    from crm_b2b_accounts import screens

    register(
        "b2b_pipeline",
        screens.pipeline_card,
        label={"en": "Weighted pipeline", "zh": "加权商机"},
    )


def _chinese() -> dict[str, str]:
    """The Chinese catalogue, imported only when a reader wants Chinese."""
    from crm_b2b_accounts.locale_zh import MESSAGES

    return MESSAGES


@hookimpl
def crm_register_messages(register: Callable[..., None]) -> None:
    """The plugin's words in Chinese, read the first time a Chinese reader needs them."""
    register("zh", _chinese)  # one function for every CRM opened: its catalogue is read once
