"""The core's own behaviour, registered through the same hooks a plugin uses."""

from __future__ import annotations

from collections.abc import Callable

from crm_core import dedupe, hookimpl
from crm_core.assign.strategies import BUILTIN as STRATEGIES
from crm_core.channels import Options, smtp, webhook
from crm_core.reports import core as reports

ACTIVITY_TYPES = {
    "call": {"en": "Call", "zh": "电话"},
    "visit": {"en": "Visit", "zh": "拜访"},
    "email": {"en": "E-mail", "zh": "邮件"},
    "message": {"en": "Message", "zh": "消息"},
    "meeting": {"en": "Meeting", "zh": "会议"},
    "feedback": {"en": "Feedback", "zh": "反馈"},
    "complaint": {"en": "Complaint", "zh": "投诉"},
    "note": {"en": "Note", "zh": "备注"},
}


@hookimpl
def crm_register_activity_types(register: Callable[..., None]) -> None:
    """Register the touchpoints every CRM needs."""
    for name, label in ACTIVITY_TYPES.items():
        register(name, label=label)


@hookimpl
def crm_register_normalizers(register: Callable[..., None]) -> None:
    """Register the standard dedupe normalisers."""
    register("phone", dedupe.normalize_phone)
    register("email", dedupe.normalize_email)
    register("company", dedupe.normalize_company)
    register("exact", dedupe.normalize_exact)


@hookimpl
def crm_register_assignment_strategies(register: Callable[..., None]) -> None:
    """Register round_robin, weighted and load_balanced."""
    for name, factory in STRATEGIES.items():
        register(name, factory)


@hookimpl
def crm_register_channels(register: Callable[..., None], config: dict[str, Options]) -> None:
    """Register ``email`` and ``webhook`` when crm.toml has their ``[channels.*]`` table."""
    if "email" in config:
        register("email", smtp.channel(config["email"]))
    if "webhook" in config:
        register("webhook", webhook.channel(config["webhook"]))


CORE_REPORTS = [
    (reports.funnel, "销售漏斗", True),
    (reports.time_in_stage, "阶段停留", True),
    (reports.win_rate_by_owner, "赢单率", True),
    (reports.conversion_by_field, "分类转化", True),
    (reports.follow_up_compliance, "跟进达标", False),
    (reports.pool_stats, "公海统计", False),
    (reports.customer_growth, "客户增长", False),
    (reports.retention, "留存与流失", False),
    (reports.repeat_purchase, "复购率", False),
    (reports.satisfaction, "满意度", False),
]


@hookimpl
def crm_register_reports(register: Callable[..., None]) -> None:
    """Register the reports every CRM has."""
    for run, zh, needs_kind in CORE_REPORTS:
        en = run.__name__.replace("_", " ").capitalize()
        doc = run.__doc__ or ""
        register(
            run.__name__, run, label={"en": en, "zh": zh}, needs_kind=needs_kind, description=doc
        )
