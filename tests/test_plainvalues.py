"""The quick values check passes only what the full validation passes, and the usual import rows."""

from __future__ import annotations

from typing import Any

import fastjsonschema
import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.errors import FieldError
from crm_core.fields import INT64, Registry
from crm_core.plainvalues import PlainRules
from crm_core.testing import fresh_crm

TEXTS = st.sampled_from(["", "a", "abc", "web", "other", "a\x00b", "x" * 30, "王小明", "1"])
NUMBERS = st.sampled_from([0, 1, -1, 5, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 1.5, 3.0])
VALUES = st.one_of(st.none(), st.booleans(), TEXTS, NUMBERS, st.lists(TEXTS, max_size=2))
BOUNDS = st.one_of(st.integers(-3, 40), st.sampled_from([0.5, 2**63, -(2**64)]))
SCHEMAS = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={
            "minLength": st.integers(0, 4),
            "maxLength": st.integers(0, 40),
            "enum": st.lists(st.one_of(TEXTS, NUMBERS), min_size=1, max_size=3),
            "pattern": st.just("^a"),
            "format": st.just("email"),
        },
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["integer", "number"])},
        optional={
            "minimum": BOUNDS,
            "maximum": BOUNDS,
            "exclusiveMinimum": BOUNDS,
            "format": st.just("money"),
        },
    ),
    st.fixed_dictionaries({"type": st.sampled_from(["boolean", "array"])}),
)
FIELDS = st.sampled_from(["a", "b", "c"])


def _valid(schema: dict[str, Any], values: dict[str, Any]) -> bool:
    """What the full validation says, less its words: both validators and the storable values."""
    if not jsonschema.Draft202012Validator(schema).is_valid(values):
        return False
    try:
        fastjsonschema.compile(schema, use_default=False)(values)
    except fastjsonschema.JsonSchemaException:
        return False
    for value in values.values():
        if isinstance(value, str) and "\x00" in value:
            return False
        if isinstance(value, int) and not -INT64 <= value < INT64:
            return False
    return True


@settings(max_examples=800, deadline=None)
@given(
    st.dictionaries(FIELDS, SCHEMAS, min_size=1),
    st.dictionaries(FIELDS, VALUES),
    st.sets(FIELDS),
)
def test_what_the_rules_pass_the_full_validation_passes(
    fields: dict[str, dict[str, Any]], values: dict[str, Any], required: set[str]
) -> None:
    required &= set(fields)
    schema = {
        "type": "object",
        "properties": fields,
        "required": sorted(required),
        "additionalProperties": False,
    }
    if PlainRules.of(fields, required).passes(values):
        assert _valid(schema, values), (fields, values)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    with fresh_crm(tmp_path_factory.mktemp("plain"), entry_points=True) as crm:
        return crm.registry


ROW = {"name": "王小明", "phone": "13812345678", "email": "li@qq.com", "source": "web"}


@pytest.mark.parametrize(
    "values",
    [ROW, {**ROW, "region": "华东", "referrer_id": 7}, {"name": "Li", "company": "ACME"}],
)
def test_usual_lead_rows_take_the_quick_way(registry: Registry, values: dict[str, Any]) -> None:
    assert registry._compile("lead").plain.passes(values)


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({**ROW, "budget": 1000}, None),  # money: the full validation decides, and passes it
        ({**ROW, "budget": 0.001}, ["budget"]),
        ({**ROW, "source": "fax"}, ["source"]),
        ({**ROW, "name": ""}, ["name"]),
        ({**ROW, "name": "a\x00b"}, ["name"]),
        ({**ROW, "referrer_id": 2**63}, ["referrer_id"]),
        ({**ROW, "referrer_id": True}, ["referrer_id"]),
        ({**ROW, "nickname": "Li"}, ["nickname"]),
        ({"phone": "13812345678"}, ["name"]),
    ],
)
def test_the_rest_is_validated_fully(
    registry: Registry, values: dict[str, Any], problems: list[str] | None
) -> None:
    assert not registry._compile("lead").plain.passes(values)
    check = registry.checker("lead")
    if problems is None:
        registry.validate("lead", values)
        assert check(values) == registry.dedupe_keys("lead", values)
        return
    for validate in (lambda: registry.validate("lead", values), lambda: check(values)):
        with pytest.raises(FieldError) as caught:
            validate()
        assert [name for name, _why in caught.value.problems] == problems


def test_the_checker_gives_the_keys_and_their_problems(registry: Registry) -> None:
    check = registry.checker("lead")
    assert (
        check(ROW)
        == registry.dedupe_keys("lead", ROW)
        == {
            "phone": "+8613812345678",
            "email": "li@qq.com",
        }
    )
    with pytest.raises(FieldError) as caught:
        check({**ROW, "phone": "12"})
    assert [name for name, _why in caught.value.problems] == ["phone"]
