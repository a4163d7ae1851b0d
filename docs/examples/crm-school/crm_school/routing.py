"""The assignment strategy: each course's leads are shared out on their own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from crm_core import hookimpl
from crm_core.api import Load, Member, RecordSnapshot


class FewestOfCourse:
    """Give a lead to the member with the fewest open leads of the same course.

    A teacher who already follows five python leads is not handed a sixth
    while a colleague has two, however many design leads each has.
    """

    def __init__(self, members: list[Member], state: dict[str, Any]) -> None:
        del members, state  # the load is counted afresh on every pass

    def pick(
        self, eligible: Sequence[Member], load: Load, *, record: RecordSnapshot
    ) -> Member | None:
        """The eligible member with the fewest open leads of ``record``'s course."""
        of_course = load.count(course=record.fields.get("course"))
        return min(eligible, key=lambda m: of_course.get(m.user_id, 0), default=None)

    def state(self) -> dict[str, Any]:
        """Nothing to remember between passes."""
        return {}


@hookimpl
def crm_register_assignment_strategies(register: Callable[..., None]) -> None:
    """Offer ``strategy: fewest_of_course`` to the workflows."""
    register("fewest_of_course", FewestOfCourse)
