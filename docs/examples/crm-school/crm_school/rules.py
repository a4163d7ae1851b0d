"""The school's validation rule, which depends on the stage the record is (or is going) in."""

from __future__ import annotations

from typing import Any

from crm_core import hookimpl
from crm_school.kind import KIND


@hookimpl
def crm_validate_record(
    kind: str, fields: dict[str, Any], stage_after: str | None
) -> list[tuple[str, str]] | None:
    """A lead in ``trial_booked`` needs a ``trial_date``: moving there, and while there."""
    if kind == KIND and stage_after == "trial_booked" and not fields.get("trial_date"):
        return [("trial_date", "is required while the lead is in trial_booked")]
    return None
