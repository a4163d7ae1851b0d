"""How exports write one value as CSV text, shared by ``crm export KIND`` and ``--all``.

Every cell reads back to the value it came from: ``crm import`` (and a
spreadsheet) parses ``1054`` into the same number as ``1054.0``, so a whole
number is written without the ``.0`` Python adds to floats; money is exact
with two decimals; times are ISO 8601 in UTC with their offset.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

LOCAL_KEY = "crm:"
"""Prefix of the key a row without an ``external_id`` is exported under (``crm:42``)."""


def cell(value: Any) -> str:
    """One value as CSV text that ``Registry.coerce`` (and the bundle import) reads back."""
    if type(value) is str:  # most cells: a million-record export calls this for every one
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def money(minor: int) -> str:
    """An amount kept in minor units, in major units with exactly two decimals (``1054.50``)."""
    return f"{Decimal(minor).scaleb(-2):.2f}"


def external_key(external_id: str | None, row_id: int) -> str:
    """The key a row is exported under: its source system's id, else ``crm:<id>``."""
    return external_id if external_id else f"{LOCAL_KEY}{row_id}"
