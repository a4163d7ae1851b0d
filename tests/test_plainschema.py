"""The quick field-schema check accepts only what jsonschema accepts, and the usual schemas."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.plainschema import plainly_valid
from crm_core.testing import fresh_crm

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 300), st.floats(-5, 300, allow_nan=False),
    st.sampled_from(["", "a", "abc", "other", "[", "^a.*$", "x" * 20, "date", "integer"]),
    st.lists(st.sampled_from(["a", "other", 1, True]), max_size=3),
)  # fmt: skip
KEYS = st.sampled_from(
    ["type", "enum", "pattern", "minimum", "maximum", "exclusiveMinimum", "minLength",
     "maxLength", "format", "items", "default", "description", "const", "multipleOf",
     "minItems", "uniqueItems"]
)  # fmt: skip
TYPES = st.sampled_from(["string", "integer", "number", "boolean", "array"])
# A value, or a small schema for "items".
VALUES = st.one_of(SCALARS, st.dictionaries(KEYS, SCALARS, max_size=3))
SCHEMAS = st.builds(
    lambda kind, rest: {"type": kind, **rest}, TYPES, st.dictionaries(KEYS, VALUES, max_size=4)
)


def _jsonschema_accepts(schema: dict[str, Any]) -> bool:
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError:
        return False
    validator = jsonschema.Draft202012Validator(schema)
    return "default" not in schema or validator.is_valid(schema["default"])


@settings(max_examples=600, deadline=None)
@given(SCHEMAS)
def test_what_the_quick_check_accepts_jsonschema_accepts(schema: dict[str, Any]) -> None:
    if plainly_valid(schema):
        assert _jsonschema_accepts(schema), schema


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "minLength": 1, "maxLength": 200},
        {"type": "string", "enum": ["web", "other"], "default": "other"},
        {"type": "integer", "minimum": 1, "default": 3},
        {"type": "number", "minimum": 0, "maximum": 1.5},
        {"type": "string", "pattern": "^[0-9]+$", "default": "42"},
        {"type": "boolean", "default": False, "description": "VIP"},
        {"type": "string", "format": "date"},
        {"type": "array", "items": {"type": "integer", "minimum": 1}, "uniqueItems": True},
    ],
)
def test_plain_schemas_need_no_jsonschema(schema: dict[str, Any]) -> None:
    assert plainly_valid(schema) and _jsonschema_accepts(schema)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": "["},  # not a regular expression
        {"type": "string", "minLength": -1},
        {"type": "integer", "minimum": True},  # a boolean is no number
        {"type": "string", "enum": ["a"], "default": "b"},
        {"type": "integer", "default": 1.5},
        {"type": "string", "maxLength": 2, "default": "abc"},
        {"type": "array", "items": {"type": "string", "minLength": -1}},
        {"type": "array", "items": {"type": "string"}, "default": ["a"]},  # jsonschema decides
    ],
)
def test_the_rest_goes_to_jsonschema(schema: dict[str, Any]) -> None:
    assert not plainly_valid(schema)


def test_the_installed_plugins_fields_are_all_plain(tmp_path: Any) -> None:
    with fresh_crm(tmp_path, entry_points=True) as crm:
        kinds = crm.registry.kinds.values()
        schemas = {f"{k.name}.{f.name}": f.schema for k in kinds for f in k.fields.values()}
    assert len(schemas) > 30
    assert [name for name, schema in schemas.items() if not plainly_valid(schema)] == []
