"""The ``school_courses`` report: per course, how many leads booked a trial and enrolled."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import case, func

from crm_core import hookimpl
from crm_core.api import ReportContext, ReportResult
from crm_school.kind import KIND


def courses(ctx: ReportContext) -> ReportResult:
    """Per course: leads, trials booked (or past them), enrolled, and the enrolment rate."""
    record = ctx.tables.record
    course = ctx.field("course")
    trial = func.sum(case((record.c.stage.in_(["trial_booked", "enrolled"]), 1), else_=0))
    enrolled = func.sum(case((record.c.stage.in_(ctx.outcome_stages("won")), 1), else_=0))
    query = ctx.records(course, func.count(), trial, enrolled).group_by(course).order_by(course)
    rows = [
        [name, leads, trials or 0, won or 0, round((won or 0) / leads, 2)]
        for name, leads, trials, won in ctx.session.execute(query)
    ]
    columns = ["course", "leads", "trials", "enrolled", "rate"]
    return ReportResult("school_courses", "Leads by course", columns, rows)


@hookimpl
def crm_register_reports(register: Callable[..., None]) -> None:
    """``crm report school_courses``, about student leads unless told otherwise."""
    register(
        "school_courses",
        courses,
        label={"en": "Leads by course", "zh": "各课程招生"},
        description=courses.__doc__ or "",
        kind=KIND,
    )
