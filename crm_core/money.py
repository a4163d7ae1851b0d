"""Money in record fields: ``{"type": "number", "format": "money"}``.

Such a field holds an amount in major units with at most two decimals,
kept as a JSON number whose text is the amount exactly: a whole amount as
an integer (``1054``, never ``1054.0``), any other as the shortest number
that reads back as it (``12.5``). Amounts stay below 10^13 so that every
cent is exact in the 15 significant digits a double keeps. :func:`exact`
gives the Decimal back.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from crm_core.errors import quote
from crm_core.i18n import _

FORMAT = "money"
LIMIT = Decimal(10) ** 13


def is_money(schema: dict[str, Any]) -> bool:
    """True for a field schema that holds money."""
    return schema.get("type") == "number" and schema.get("format") == FORMAT


def problem(value: Any) -> str | None:
    """Why ``value`` is not an amount of money, or None when it is one."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None  # the schema's type check names it
    amount = exact(value)
    if not amount.is_finite():
        return _("is not a finite amount")
    if abs(amount) >= LIMIT:
        return _("is too large an amount (at most {most:,})", most=LIMIT - 1)
    if amount != amount.quantize(Decimal("0.01")):
        return _("has more than two decimals")
    return None


def exact(value: int | float | Decimal) -> Decimal:
    """The amount as a Decimal, as its JSON text reads (``12.5`` is ``Decimal("12.5")``)."""
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def parse(text: str) -> int | float:
    """Text (``1054``, ``99.50``) as the JSON number a money field keeps (ValueError if not)."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(_("{value} is not a number", value=quote(text))) from None
    why = problem(amount)
    if why:
        raise ValueError(_("{value} {why}", value=quote(text), why=why))
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)
