"""A quick check that values certainly pass a kind's schema, so that most writes skip the rest.

Every write of a record validates its values (:meth:`crm_core.fields.Registry.validate`):
no NaN, NUL or integer beyond 64 bits, exact money, then the kind's compiled
JSON Schema. An import does it for every row, and most rows hold only short
strings of plain string fields. :class:`PlainRules` answers those rows with a
few comparisons a value: it says True only when every value is a string or
an integer of a field whose schema has nothing but a type, length or number
bounds and an enum (no pattern, format or other keyword), within them, and
every required field is there. Anything else, True or not, is left to the
full validation, which decides and words the errors; so the rules can only
make a write faster, never let through what the schema refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

INT64 = 2**63
TEXT_KEYS = {"type", "minLength", "maxLength", "enum", "default", "description"}
WHOLE_KEYS = {"type", "minimum", "maximum", "default", "description"}

TextRule = tuple[int, float, frozenset[str] | None]
"""A string field's least and greatest length and, with an enum, the strings it allows."""


@dataclass(frozen=True)
class PlainRules:
    """The fields of one kind whose values :meth:`passes` can judge, and the required ones."""

    required: tuple[str, ...]
    text: dict[str, TextRule]
    whole: dict[str, tuple[float, float]]  # integer values: least and greatest, within 64 bits

    @classmethod
    def of(cls, schemas: dict[str, dict[str, Any]], required: Iterable[str]) -> PlainRules:
        """The rules for fields ``schemas`` (name -> JSON Schema), ``required`` among them."""
        text: dict[str, TextRule] = {}
        whole: dict[str, tuple[float, float]] = {}
        for name, schema in schemas.items():
            kind = schema.get("type")
            if kind == "string" and set(schema) <= TEXT_KEYS:
                text[name] = _text_rule(schema)
            elif kind in ("integer", "number") and set(schema) <= WHOLE_KEYS:
                low, high = schema.get("minimum", -INT64), schema.get("maximum", INT64 - 1)
                if _is_number(low) and _is_number(high):
                    whole[name] = (max(low, -INT64), min(high, INT64 - 1))
        return cls(tuple(required), text, whole)

    def passes(self, values: dict[str, Any]) -> bool:
        """True when ``values`` certainly pass the schema; False when the full check must say."""
        for name in self.required:
            if name not in values:
                return False
        text, whole = self.text, self.whole
        for name, value in values.items():
            if type(value) is str:
                rule = text.get(name)
                if rule is None or "\x00" in value or not rule[0] <= len(value) <= rule[1]:
                    return False
                if rule[2] is not None and value not in rule[2]:
                    return False
            elif type(value) is int:  # not bool, whose type is bool
                bounds = whole.get(name)
                if bounds is None or not bounds[0] <= value <= bounds[1]:
                    return False
            else:
                return False
        return True


def _text_rule(schema: dict[str, Any]) -> TextRule:
    low, high = schema.get("minLength", 0), schema.get("maxLength", float("inf"))
    enum = schema.get("enum")
    # Only a string can equal a string value: the enum's other members never match one.
    allowed = None if enum is None else frozenset(v for v in enum if type(v) is str)
    return (low, high, allowed)


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)
