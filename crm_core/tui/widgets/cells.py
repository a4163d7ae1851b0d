"""How times and values read in a table cell: short, and relative where that helps."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any


def when(at: datetime | None, now: datetime, tz: tzinfo | None = None) -> str:
    """A moment as ``MM-DD HH:MM`` in ``tz`` (the machine's zone when None), with the year
    only when it is not the current one."""
    if at is None:
        return ""
    local, today = at.astimezone(tz), now.astimezone(tz)
    if local.year != today.year:
        return local.strftime("%Y-%m-%d %H:%M")
    return local.strftime("%m-%d %H:%M")


def ago(at: datetime | None, now: datetime) -> str:
    """How long ago, in the largest whole unit: ``5m``, ``3h``, ``12d``; empty for never."""
    if at is None:
        return "—"
    seconds = int((now - at).total_seconds())
    if seconds < 0:
        return "0m"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "0m"


def value(shown: Any) -> str:
    """A field value as text: lists joined, booleans as ✓ and ✗, nothing as empty."""
    if shown is None:
        return ""
    if isinstance(shown, bool):
        return "✓" if shown else "✗"
    if isinstance(shown, list):
        return ", ".join(str(v) for v in shown)
    return str(shown)
