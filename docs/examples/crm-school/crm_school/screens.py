"""What ``crm tui`` shows of student leads: list columns, a detail panel, a dashboard card."""

from __future__ import annotations

from collections.abc import Callable

from crm_core import hookimpl
from crm_core.api import Crm, RecordView
from crm_school.kind import KIND


@hookimpl
def crm_register_list_columns(register: Callable[..., None]) -> None:
    """Lists of student leads show the course and the trial date after the title."""
    register(KIND, "course", width=8)
    register(KIND, "trial_date", width=10)


def trial_panel(crm: Crm, actor: str, record: RecordView) -> str:
    """The lead's trial lesson: when and where, or that none is booked yet."""
    when = record.fields.get("trial_date")
    if not when:
        return "no trial lesson booked"
    campus = crm.settings("school")["campus"]
    return f"trial lesson on [b]{when}[/b] at {campus}"


def enrolment_card(crm: Crm, actor: str) -> str:
    """Enrolled leads out of all, over the courses the operator may see."""
    result = crm.run_report(actor, "school_courses")
    leads = sum(row[1] for row in result.rows)
    enrolled = sum(row[3] for row in result.rows)
    return f"[b]{enrolled}[/b] of {leads} leads enrolled"


@hookimpl
def crm_register_detail_panels(register: Callable[..., None]) -> None:
    """A student lead's detail screen shows its trial lesson."""
    register(KIND, "trial", trial_panel, label={"en": "Trial lesson", "zh": "试听"})


@hookimpl
def crm_register_dashboard_cards(register: Callable[..., None]) -> None:
    """The dashboard shows how many leads enrolled."""
    register("school_enrolment", enrolment_card, label={"en": "Enrolment", "zh": "报名"})
