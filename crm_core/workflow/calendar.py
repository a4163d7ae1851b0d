"""A workflow's local calendar: its time zone decides what "today" and "Monday" mean."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class WorkCalendar:
    """Local days in one time zone (``timezone:`` in the workflow, UTC when absent)."""

    zone: ZoneInfo

    @classmethod
    def of(cls, definition: dict[str, Any]) -> WorkCalendar:
        """The calendar of a workflow definition."""
        return cls(zone_named(definition.get("timezone", "UTC")))

    def weekday(self, moment: datetime) -> int:
        """The local weekday of ``moment``; Monday is 0."""
        return moment.astimezone(self.zone).weekday()

    def day_start(self, moment: datetime) -> datetime:
        """Local midnight before ``moment``, in UTC."""
        local = moment.astimezone(self.zone)
        midnight = datetime.combine(local.date(), time(), tzinfo=self.zone)
        return midnight.astimezone(UTC)

    def label(self, moment: datetime) -> str:
        """``moment`` as local time to the minute with the zone, e.g. ``2026-03-16 17:01
        Asia/Shanghai``: what messages to people and ``why`` show."""
        return f"{moment.astimezone(self.zone):%Y-%m-%d %H:%M} {self.zone.key}"

    def next_day(self, moment: datetime) -> datetime:
        """Local midnight after ``moment``, in UTC."""
        local = moment.astimezone(self.zone).date() + timedelta(days=1)
        return datetime.combine(local, time(), tzinfo=self.zone).astimezone(UTC)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError when there is none by that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone '{name}' (use an IANA name like Asia/Shanghai)"
        ) from exc
