"""The injectable clock: every rule that depends on "now" asks one of these."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""A callable that returns the current time as an aware UTC datetime."""


def system_clock() -> datetime:
    """Return the wall-clock time in UTC."""
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    """Return a clock that always answers ``at`` (used by tests and ``--now``)."""
    aware = as_utc(at)
    return lambda: aware


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive value is refused rather than guessed."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone")
    return value.astimezone(UTC)


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time; a value without a zone is taken as UTC."""
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class ManualClock:
    """A clock that stands still until moved; ``simulate`` and the tests drive it."""

    def __init__(self, start: datetime) -> None:
        self.now = as_utc(start)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new time."""
        self.now += delta
        return self.now
