"""Declares a ``member`` kind (a gym's members) and a ``tour`` activity type.

Written only from ``crm_core.hookspecs`` docstrings and the README, as an
integrator would. ``crm_record_changed`` refuses titles containing "EXPLODE"
so the tests can check that a failing hook rolls the write back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crm_core import hookimpl

if TYPE_CHECKING:
    # Only an annotation: `crm --help` loads this module, and the API is not cheap to import.
    from crm_core.api import RecordChange


@hookimpl
def crm_register_kinds(register: Callable[..., None]) -> None:
    """Register the ``member`` kind."""
    register(
        "member",
        label={"en": "Gym member", "zh": "会员"},
        fields={
            "name": {"type": "string", "required": True, "minLength": 1,
                     "label": {"en": "Name", "zh": "姓名"}, "searchable": True},
            "phone": {"type": "string", "dedupe": "phone", "label": {"en": "Phone", "zh": "电话"}},
            "email": {"type": "string", "dedupe": "email"},
            "plan": {"type": "string", "enum": ["monthly", "yearly"], "default": "monthly",
                     "indexed": True},
            "visits": {"type": "integer", "minimum": 0},
            "vip": {"type": "boolean"},
        },
    )  # fmt: skip


@hookimpl
def crm_register_activity_types(register: Callable[..., None]) -> None:
    """Register the ``tour`` activity type."""
    register("tour", label={"en": "Gym tour", "zh": "参观"})


@hookimpl
def crm_validate_record(
    kind: str, fields: dict[str, Any], before: dict[str, Any] | None, actor: str
) -> list[tuple[str, str]] | None:
    """Yearly members must give an e-mail for their invoice."""
    if kind == "member" and fields.get("plan") == "yearly" and not fields.get("email"):
        return [("email", "a yearly plan needs an e-mail for the invoice")]
    return None


@hookimpl
def crm_record_changed(change: RecordChange) -> None:
    """Refuse any change that leaves "EXPLODE" in a title (tests the rollback)."""
    if "title" in change.changed and "EXPLODE" in change.after.title:
        raise RuntimeError("titles may not say EXPLODE")
