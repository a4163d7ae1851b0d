"""The core's own behaviour, registered through the same hooks a plugin uses.

Each hook imports what it registers when it is called: every ``crm`` call
loads this module (``crm --help`` included), and most use few of its hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from crm_core import hookimpl

if TYPE_CHECKING:
    from crm_core.channels import Options

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
    from crm_core import dedupe

    register("phone", dedupe.normalize_phone)
    register("email", dedupe.normalize_email)
    register("company", dedupe.normalize_company)
    register("exact", dedupe.normalize_exact)


@hookimpl
def crm_register_assignment_strategies(register: Callable[..., None]) -> None:
    """Register round_robin, weighted and load_balanced."""
    from crm_core.assign.strategies import BUILTIN as STRATEGIES

    for name, factory in STRATEGIES.items():
        register(name, factory)


@hookimpl
def crm_register_channels(register: Callable[..., None], config: dict[str, Options]) -> None:
    """Register ``email`` and ``webhook`` when crm.toml has their ``[channels.*]`` table."""
    # Each imported only when configured: smtplib and urllib pull in ssl, email and sockets.
    if "email" in config:
        from crm_core.channels import smtp

        register("email", smtp.channel(config["email"]))
    if "webhook" in config:
        from crm_core.channels import webhook

        register("webhook", webhook.channel(config["webhook"]))


# The functions of crm_core.reports.core by name, their Chinese label, and whether they need --kind.
CORE_REPORTS = [
    ("funnel", "销售漏斗", True),
    ("time_in_stage", "阶段停留", True),
    ("win_rate_by_owner", "赢单率", True),
    ("conversion_by_field", "分类转化", True),
    ("follow_up_compliance", "跟进达标", False),
    ("pool_stats", "公海统计", False),
    ("customer_growth", "客户增长", False),
    ("retention", "留存与流失", False),
    ("repeat_purchase", "复购率", False),
    ("satisfaction", "满意度", False),
]


@hookimpl
def crm_register_reports(register: Callable[..., None]) -> None:
    """Register the reports every CRM has."""
    from crm_core.reports import core as reports

    for name, zh, needs_kind in CORE_REPORTS:
        run = getattr(reports, name)
        en = run.__name__.replace("_", " ").capitalize()
        doc = run.__doc__ or ""
        register(
            run.__name__, run, label={"en": en, "zh": zh}, needs_kind=needs_kind, description=doc
        )
