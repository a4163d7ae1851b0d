"""A quick check that a plain field schema is valid, so that opening a CRM needs no jsonschema.

Every kind's field schemas are checked each time a CRM opens, and most are
plain: a type, an enum, bounds, a pattern, a default. :func:`plainly_valid`
accepts such a schema only when jsonschema would accept it too (as a Draft
2020-12 schema, its default valid against it); for anything else it says
False and the caller asks jsonschema, which decides and words the error.
"""

from __future__ import annotations

import re
from typing import Any

# Keys whose value the Draft 2020-12 meta-schema only asks to be of one JSON type.
NUMBER_KEYS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
COUNT_KEYS = {"minLength", "maxLength", "minItems", "maxItems"}
TEXT_KEYS = {"format", "description"}
# The JSON types of a field, by the Python types jsonschema takes for them (bool is no number).
TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
# Keys a default can be checked against here; with any other, jsonschema checks the default.
DEFAULT_KEYS = {"type", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern"}


def plainly_valid(schema: dict[str, Any]) -> bool:
    """True when ``schema`` is a valid schema (and its default valid) by plain checks alone."""
    for key, value in schema.items():
        if not _valid_keyword(key, value):
            return False
    return "default" not in schema or _valid_default(schema, schema["default"])


def _valid_keyword(key: str, value: Any) -> bool:
    if key == "type":
        return isinstance(value, str) and (value in TYPES or value == "array")
    if key in NUMBER_KEYS:
        return _is(value, (int, float))
    if key in COUNT_KEYS:
        return _is(value, (int,)) and value >= 0
    if key in TEXT_KEYS:
        return isinstance(value, str)
    if key == "enum":
        return isinstance(value, list)
    if key == "pattern":
        return isinstance(value, str) and _compiles(value)
    if key == "uniqueItems":
        return isinstance(value, bool)
    if key == "items":
        return isinstance(value, dict) and plainly_valid(value)
    return key == "default"


def _valid_default(schema: dict[str, Any], value: Any) -> bool:
    if set(schema) - DEFAULT_KEYS - {"default", "description"}:
        return False
    types = TYPES.get(schema.get("type", ""))
    if types is None or not _is(value, types):
        return False
    if "enum" in schema and not any(type(v) is type(value) and v == value for v in schema["enum"]):
        return False
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if numeric and not schema.get("minimum", value) <= value <= schema.get("maximum", value):
        return False
    if isinstance(value, str):
        short = len(value) < schema.get("minLength", 0)
        if short or len(value) > schema.get("maxLength", len(value)):
            return False
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            return False
    return True


def _is(value: Any, types: tuple[type, ...]) -> bool:
    """``isinstance``, where True and False are booleans only, as in JSON."""
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True
