"""What operators type in the dialogs: due-time shortcuts and FIELD=VALUE lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm_core.tui.widgets.forms import parse_assignments, parse_due

NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("typed", "due"),
    [
        ("+2d", NOW + timedelta(days=2)),
        (" +3h ", NOW + timedelta(hours=3)),
        ("+30m", NOW + timedelta(minutes=30)),
        ("tomorrow", NOW + timedelta(days=1)),
        ("明天", NOW + timedelta(days=1)),
        ("2026-03-14", datetime(2026, 3, 14, 1, 0, tzinfo=UTC)),
        ("2026-03-14 15:30", datetime(2026, 3, 14, 7, 30, tzinfo=UTC)),
        ("2026-03-14T15:30+00:00", datetime(2026, 3, 14, 15, 30, tzinfo=UTC)),
    ],
)
def test_due_times_read_shortcuts_and_wall_clock_times_in_the_operators_zone(
    typed: str, due: datetime
) -> None:
    at = parse_due(typed, NOW, SHANGHAI)
    assert at == due and at.tzinfo == UTC


@pytest.mark.parametrize("typed", ["", "someday", "+2y", "2d", "2026-13-01"])
def test_anything_else_is_not_a_due_time(typed: str) -> None:
    with pytest.raises(ValueError, match="is not a due time"):
        parse_due(typed, NOW, UTC)


def test_field_assignments_split_on_semicolons_and_keep_commas_in_values() -> None:
    assert parse_assignments(" plan=yearly; tags=a, b ;") == {"plan": "yearly", "tags": "a, b"}
    assert parse_assignments("") == {}
    with pytest.raises(ValueError, match="'plan' is not FIELD=VALUE"):
        parse_assignments("plan")
