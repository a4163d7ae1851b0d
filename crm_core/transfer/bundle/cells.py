"""From a row's cells to typed target values: column maps, value maps, defaults, dates, money.

References stay text here; the runner resolves them for a whole batch at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from crm_core.errors import FieldError, quote
from crm_core.fields import FALSE_WORDS, TRUE_WORDS
from crm_core.transfer.bundle.entity import Target
from crm_core.transfer.bundle.spec import FileSpec
from crm_core.transfer.readers import RawRow


class CellError(ValueError):
    """A cell that cannot become its field's value; ``unmapped`` when it matched no choice."""

    def __init__(self, reason: str, unmapped: bool = False) -> None:
        super().__init__(reason)
        self.unmapped = unmapped


@dataclass
class Cell:
    """One target value of a row and where it came from (the column, the text)."""

    field: str
    column: str
    text: str
    value: Any


class Cells:
    """Reads the target values of one file's rows, as its spec says."""

    def __init__(self, spec: FileSpec, registry: Any) -> None:
        self.spec = spec
        self.registry = registry
        # Defaults apply to the mapped columns' empty cells and to the fields no column gives.
        self.fields = list(dict.fromkeys([*spec.columns, *spec.defaults]))

    def read(self, row: RawRow) -> tuple[list[Cell], list[tuple[Cell, CellError]]]:
        """The row's cells, typed; and the cells that could not be read, with why."""
        cells, bad = [], []
        for name in self.fields:
            column = self.spec.columns.get(name, "")
            text = str(row.values.get(column, "") or "").strip() if column else ""
            if name in self.spec.values:
                text = self._mapped(name, text)
            if text == "" and name in self.spec.defaults:
                text = str(self.spec.defaults[name])
            if text == "":
                continue
            cell = Cell(name, column, text, None)
            try:
                cell.value = self.convert(self.spec.targets[name], text)
            except CellError as exc:
                bad.append((cell, exc))
                continue
            cells.append(cell)
        return cells, bad

    def _mapped(self, name: str, text: str) -> str:
        table = self.spec.values[name]
        found = table.get(text, table.get("*")) if text in table or "*" in table else text
        return "" if found is None else str(found)

    def convert(self, target: Target, text: str) -> Any:
        """``text`` as ``target``'s value; CellError says why it cannot be."""
        kind = target.type
        if target.choices is not None and text not in target.choices:
            shown = ", ".join(target.choices)
            raise CellError(f"unknown {target.name} {quote(text)} (expected: {shown})", True)
        if kind in ("text", "ref"):
            return text
        if kind == "int":
            try:
                return int(text)
            except ValueError:
                raise CellError(f"{quote(text)} is not a whole number") from None
        if kind == "bool":
            if text.lower() in TRUE_WORDS | FALSE_WORDS:
                return text.lower() in TRUE_WORDS
            raise CellError(f"{quote(text)} is not yes or no")
        if kind == "money":
            return money(text)
        if kind in ("datetime", "date"):
            moment = self.moment(target.name, text)
            return moment.date() if kind == "date" else moment
        if kind == "field":
            try:
                return self.registry.coerce(self.spec.kind, {target.name: text})[target.name]
            except FieldError as exc:
                raise CellError("; ".join(why for _, why in exc.problems)) from None
        raise CellError(f"cannot read a {kind}")

    def moment(self, name: str, text: str) -> datetime:
        """A date/time cell: the field's format, the file's, else ISO 8601; naive → the zone."""
        fmt = self.spec.dates.get(name) or self.spec.date_format
        parsed: datetime | None = None
        if fmt:
            try:
                parsed = datetime.strptime(text, fmt)
            except ValueError:
                parsed = None
        if parsed is None:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                expected = (
                    f"{fmt} or ISO 8601" if fmt else "ISO 8601, e.g. 2024-11-23 or 2024-11-23T14:05"
                )
                raise CellError(f"{quote(text)} is not a date ({expected})") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.spec.zone)
        return parsed


def money(text: str) -> Decimal:
    """An amount in major units, exact: at most two decimals."""
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise CellError(f"{quote(text)} is not an amount") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise CellError(f"{quote(text)} is not an amount with at most two decimals")
    return amount


def minor(amount: Decimal) -> int:
    """``amount`` (major units) in minor units."""
    return int(amount.scaleb(2))


def day_of(value: date | datetime) -> date:
    """The date of a date or a time."""
    return value.date() if isinstance(value, datetime) else value
