"""The ``student_lead`` kind: someone who asked about a course."""

from __future__ import annotations

from collections.abc import Callable

from crm_core import hookimpl

KIND = "student_lead"
COURSES = ["python", "design", "english"]


@hookimpl
def crm_register_kinds(register: Callable[..., None]) -> None:
    """Declare ``student_lead``: labelled in English and Chinese, deduplicated by phone."""
    register(
        KIND,
        label={"en": "Student lead", "zh": "学员线索"},
        fields={
            "name": {
                "type": "string",
                "required": True,
                "minLength": 1,
                "searchable": True,
                "label": {"en": "Name", "zh": "姓名"},
            },
            "phone": {
                "type": "string",
                "required": True,
                "dedupe": "phone",  # +86 138 1234 5678 and 13812345678 are one person
                "label": {"en": "Phone", "zh": "手机"},
            },
            "course": {
                "type": "string",
                "enum": COURSES,
                "indexed": True,  # the strategy and the report filter and group by it
                "label": {"en": "Course", "zh": "课程"},
            },
            "trial_date": {
                "type": "string",
                "format": "date",
                "label": {"en": "Trial lesson", "zh": "试听日期"},
            },
        },
        title="{name} · {course}",  # kept in step when name or course change
        aliases={"姓名": "name", "手机": "phone", "课程": "course", "试听日期": "trial_date"},
    )
