"""Kinds and fields: composition from plugins, schemas, defaults, validation, coercion
and the refusal of bad registrations."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core import hookimpl
from crm_core.api import Crm, FieldError, NotFound
from crm_core.errors import CrmError
from crm_core.fields import DANGLING, EMPTY_BRACKETS, KindSpec, Registry, template_fields
from crm_core.plugins import PluginHost


def _registry(*plugins: tuple[str, object], entry_points: bool = False) -> Registry:
    return Registry(PluginHost(entry_points=entry_points, extra=list(plugins)))


def _kind_plugin(name: str, fields: dict[str, Any]) -> SimpleNamespace:
    """A plugin that registers one kind with ``fields``."""

    @hookimpl
    def crm_register_kinds(register: Callable[..., None]) -> None:
        register(name, label={"en": name.title(), "zh": name}, fields=fields)

    return SimpleNamespace(crm_register_kinds=crm_register_kinds)


# A kind with one field of every type, for coercion tests that the installed
# plugins (which have no array field) cannot cover.
GADGET = _kind_plugin(
    "gadget",
    {
        "label_text": {"type": "string"},
        "count": {"type": "integer", "minimum": 0},
        "weight": {"type": "number"},
        "on": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "contact": {"type": "string", "format": "email"},
        "site": {"type": "string", "format": "uri"},
        "seen_at": {"type": "string", "format": "date-time"},
        "opens": {"type": "string", "format": "time"},
    },
)


@pytest.fixture(scope="module")
def api() -> Iterator[Crm]:
    """A CRM with the installed plugins for calls that never reach a database."""
    crm = Crm.open("sqlite://")
    yield crm
    crm.close()


@pytest.fixture(scope="module")
def sqlite_crm(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crm]:
    """One SQLite CRM shared by the tests of refused writes (they leave it empty)."""
    path = tmp_path_factory.mktemp("fields") / "crm.db"
    shutil.copy(sqlite_template, path)
    crm = Crm.open(f"sqlite:///{path}")
    crm.add_user("admin", "alice", "operator")
    yield crm
    crm.close()


def _problem_fields(exc: FieldError) -> set[str]:
    return {name for name, _ in exc.problems}


# -- composition ---------------------------------------------------------------


def test_kinds_are_composed_from_the_installed_plugins(api: Crm) -> None:
    kinds = {k.name: k for k in api.kinds()}
    assert {"lead", "member"} <= set(kinds)
    assert kinds["member"].plugin == "testplugin"
    assert kinds["lead"].plugin == "leads"
    assert kinds["member"].label == {"en": "Gym member", "zh": "会员"}
    assert set(kinds["member"].fields) == {"name", "phone", "email", "plan", "visits", "vip"}
    assert {f.plugin for f in kinds["member"].fields.values()} == {"testplugin"}
    assert kinds["lead"].fields["phone"].dedupe == "phone"
    assert kinds["lead"].fields["company"].dedupe == "company"
    assert kinds["member"].fields["plan"].indexed
    assert kinds["member"].fields["name"].required
    types = {a.name: a.plugin for a in api.activity_types()}
    assert types["tour"] == "testplugin"
    assert types["call"] == "core"


def test_unknown_kind_is_not_found_and_lists_the_known_ones(api: Crm) -> None:
    with pytest.raises(NotFound, match="lead, member") as err:
        api.kind("gym")
    assert err.value.exit_code == 4


def test_member_json_schema(api: Crm) -> None:
    schema = api.kind("member").json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name"]
    assert set(schema["properties"]) == {"name", "phone", "email", "plan", "visits", "vip"}
    assert schema["properties"]["plan"] == {
        "type": "string",
        "enum": ["monthly", "yearly"],
        "default": "monthly",
    }
    assert schema["properties"]["visits"] == {"type": "integer", "minimum": 0}
    # the CRM's own keys are not part of the JSON Schema
    for prop in schema["properties"].values():
        assert not {"label", "required", "dedupe", "indexed", "searchable"} & set(prop)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"name": "Li", "plan": "yearly", "visits": 3})
    assert not validator.is_valid({"name": "Li", "plan": "weekly"})
    assert not validator.is_valid({"plan": "monthly"})


def test_field_spec_json_form(api: Crm) -> None:
    out = api.kind("member").to_dict()
    assert out["name"] == "member"
    plan = next(f for f in out["fields"] if f["name"] == "plan")
    assert plan == {
        "name": "plan",
        "type": "string",
        "label": {"en": "plan", "zh": "plan"},
        "required": False,
        "dedupe": None,
        "indexed": True,
        "searchable": False,
        "plugin": "testplugin",
        "schema": {"type": "string", "enum": ["monthly", "yearly"], "default": "monthly"},
    }


# -- defaults ------------------------------------------------------------------


def test_defaults_are_filled_in_on_create(people: Crm) -> None:
    crm = people
    member = crm.add_record("alice", "member", {"name": "Li"}).record
    assert member.fields == {"name": "Li", "plan": "monthly"}
    lead = crm.add_record("alice", "lead", {"name": "Wang", "phone": "13900001111"}).record
    assert lead.fields["source"] == "other"
    assert crm.get_record("alice", member.id).fields["plan"] == "monthly"


def test_an_explicit_value_beats_the_default(people: Crm) -> None:
    crm = people
    fields = {"name": "Li", "plan": "yearly", "email": "li@example.com"}
    member = crm.add_record("alice", "member", fields).record
    assert member.fields["plan"] == "yearly"


def test_clearing_a_field_that_has_a_default_clears_it(people: Crm) -> None:
    """``None`` clears a field (Crm.update_record); defaults are for new records only.

    The compiled validator must not write defaults back into the values it checks.
    """
    crm = people
    fields = {"name": "Li", "plan": "yearly", "email": "li@example.com"}
    rec = crm.add_record("alice", "member", fields).record
    after = crm.update_record("alice", rec.id, {"plan": None})
    assert "plan" not in after.fields
    assert "plan" not in crm.get_record("alice", rec.id).fields


def test_validation_does_not_change_the_values_it_checks(api: Crm) -> None:
    values = {"name": "Li"}
    api.registry.validate("member", values)
    assert values == {"name": "Li"}


# -- validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"name": "Li", "shoe_size": 42}, "shoe_size"),  # unknown field
        ({"name": "Li", "visits": "3"}, "visits"),  # wrong type
        ({"name": "Li", "visits": True}, "visits"),  # a boolean is not an integer
        ({"name": 7}, "name"),  # wrong type
        ({"name": "Li", "vip": "yes"}, "vip"),  # wrong type
        ({"name": "Li", "plan": "weekly"}, "plan"),  # not in the enum
        ({"name": "Li", "visits": -1}, "visits"),  # below the minimum
        ({"name": ""}, "name"),  # below minLength
        ({"phone": "13800000000"}, "name"),  # required field missing
    ],
)
def test_bad_values_are_refused_naming_the_field(
    sqlite_crm: Crm, fields: dict[str, Any], bad: str
) -> None:
    crm = sqlite_crm
    journal_before = len(crm.journal("admin", limit=10_000))
    with pytest.raises(FieldError) as err:
        crm.add_record("alice", "member", fields)
    assert err.value.exit_code == 2
    assert err.value.kind == "member"
    assert _problem_fields(err.value) == {bad}
    assert f"field '{bad}'" in str(err.value)
    assert crm.count_records("admin") == 0
    assert len(crm.journal("admin", limit=10_000)) == journal_before


def test_unknown_field_message_lists_the_known_fields(sqlite_crm: Crm) -> None:
    with pytest.raises(FieldError, match="known fields: email, name, phone, plan, vip, visits"):
        sqlite_crm.add_record("admin", "member", {"name": "Li", "colour": "red"})


def test_every_bad_field_is_reported_at_once(crm: Crm) -> None:
    journal_before = crm.journal("admin", limit=10_000)
    with pytest.raises(FieldError) as err:
        crm.add_record("admin", "member", {"name": "Li", "visits": -5, "plan": "x", "foo": 1})
    assert _problem_fields(err.value) == {"visits", "plan", "foo"}
    assert err.value.exit_code == 2
    assert crm.count_records("admin") == 0
    assert crm.journal("admin", limit=10_000) == journal_before


def test_update_is_validated_too(people: Crm) -> None:
    crm = people
    rec = crm.add_record("alice", "member", {"name": "Li", "visits": 1}).record
    with pytest.raises(FieldError) as err:
        crm.update_record("alice", rec.id, {"visits": 2.5})
    assert _problem_fields(err.value) == {"visits"}
    with pytest.raises(FieldError) as err:
        crm.update_record("alice", rec.id, {"name": None})  # clearing a required field
    assert _problem_fields(err.value) == {"name"}
    after = crm.get_record("alice", rec.id)
    assert after.fields == rec.fields
    assert after.version == rec.version


def test_plugin_rules_run_after_the_schema(crm: Crm) -> None:
    # testplugin: a yearly plan needs an e-mail; leads: a referral needs its referrer
    with pytest.raises(FieldError) as err:
        crm.add_record("admin", "member", {"name": "Li", "plan": "yearly"})
    assert err.value.problems == [("email", "a yearly plan needs an e-mail for the invoice")]
    with pytest.raises(FieldError) as err:
        crm.add_record("admin", "lead", {"name": "Wang", "source": "referral"})
    assert _problem_fields(err.value) == {"referrer_id", "phone"}


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("contact", "someone@example.com", "not an address"),
        ("site", "https://example.com/a", "not a uri"),
        ("seen_at", "2026-03-02T09:00:00Z", "2026-13-45T99:00:00Z"),
        ("opens", "09:30:00Z", "25:61:00"),
    ],
)
def test_a_format_violation_names_the_field(field: str, good: str, bad: str) -> None:
    """The compiled validator checks ``format``; the error must say which field failed."""
    registry = _registry(("gadgets", GADGET))
    registry.validate("gadget", {field: good})
    with pytest.raises(FieldError) as err:
        registry.validate("gadget", {field: bad})
    assert _problem_fields(err.value) == {field}


# -- coercion of command-line text ------------------------------------------------


def test_coerce_typed_values(api: Crm) -> None:
    assert api.coerce_fields("member", {"name": "Li", "visits": "12", "vip": "yes"}) == {
        "name": "Li",
        "visits": 12,
        "vip": True,
    }
    assert api.coerce_fields("member", {"vip": "OFF"}) == {"vip": False}
    assert api.coerce_fields("lead", {"budget": "300000.5", "referrer_id": "7"}) == {
        "budget": 300000.5,
        "referrer_id": 7,
    }
    # a string stays text, even when it looks like a number
    assert api.coerce_fields("lead", {"phone": "13800000000"}) == {"phone": "13800000000"}


@pytest.mark.parametrize("word", ["true", "Yes", "y", "1", "on"])
def test_coerce_true_words(api: Crm, word: str) -> None:
    assert api.coerce_fields("member", {"vip": word}) == {"vip": True}


@pytest.mark.parametrize("word", ["false", "NO", "n", "0", "off"])
def test_coerce_false_words(api: Crm, word: str) -> None:
    assert api.coerce_fields("member", {"vip": word}) == {"vip": False}


@pytest.mark.parametrize(
    ("kind", "field", "text"),
    [
        ("member", "visits", "twelve"),
        ("member", "visits", "1.5"),
        ("member", "vip", "maybe"),
        ("lead", "budget", "a lot"),
    ],
)
def test_coerce_refuses_bad_text_naming_the_field(
    api: Crm, kind: str, field: str, text: str
) -> None:
    with pytest.raises(FieldError) as err:
        api.coerce_fields(kind, {field: text, "name": "Li"})
    assert _problem_fields(err.value) == {field}
    assert err.value.exit_code == 2


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity"])
def test_coerce_refuses_non_finite_numbers(text: str) -> None:
    """NaN and infinities are not JSON numbers: they must be refused as bad input."""
    registry = _registry(("gadgets", GADGET))
    with pytest.raises(FieldError) as err:
        registry.coerce("gadget", {"weight": text})
    assert _problem_fields(err.value) == {"weight"}


def test_a_non_finite_number_is_refused_as_a_field_error(crm: Crm) -> None:
    """Not a database error (SQLite: "malformed JSON", PostgreSQL: a raw DataError)."""
    fields = {"name": "Wang", "phone": "13800000000", "budget": float("nan")}
    with pytest.raises(FieldError) as err:
        crm.add_record("admin", "lead", fields)
    assert _problem_fields(err.value) == {"budget"}
    assert crm.count_records("admin") == 0


def test_coerce_refuses_an_unknown_field(api: Crm) -> None:
    with pytest.raises(FieldError) as err:
        api.coerce_fields("member", {"name": "Li", "colour": "red"})
    assert _problem_fields(err.value) == {"colour"}


def test_coerce_empty_text_clears(api: Crm) -> None:
    assert api.coerce_fields("member", {"visits": "", "vip": "", "email": ""}) == {
        "visits": None,
        "vip": None,
        "email": None,
    }


def test_coerced_empty_text_clears_the_field_on_update(people: Crm) -> None:
    crm = people
    rec = crm.add_record("alice", "member", {"name": "Li", "visits": 4, "vip": True}).record
    values = crm.coerce_fields("member", {"visits": "", "vip": "no"})
    after = crm.update_record("alice", rec.id, values)
    assert after.fields == {"name": "Li", "plan": "monthly", "vip": False}
    assert crm.get_record("alice", rec.id).fields == after.fields


def test_coerce_arrays() -> None:
    registry = _registry(("gadgets", GADGET))
    assert registry.coerce("gadget", {"tags": "red, green,,blue "}) == {
        "tags": ["red", "green", "blue"]
    }
    assert registry.coerce("gadget", {"tags": '["a, b", "c"]'}) == {"tags": ["a, b", "c"]}
    assert registry.coerce("gadget", {"tags": "solo"}) == {"tags": ["solo"]}
    assert registry.coerce("gadget", {"tags": ""}) == {"tags": None}
    with pytest.raises(FieldError) as err:
        registry.coerce("gadget", {"tags": "[not json"})
    assert _problem_fields(err.value) == {"tags"}
    registry.validate("gadget", registry.coerce("gadget", {"tags": "x,y", "count": "2"}))


def test_coerce_unknown_kind(api: Crm) -> None:
    with pytest.raises(NotFound):
        api.coerce_fields("gym", {"name": "Li"})


# -- registration errors ----------------------------------------------------------


def _bad_kinds(*kinds: tuple[str, dict[str, Any]]) -> SimpleNamespace:
    @hookimpl
    def crm_register_kinds(register: Callable[..., None]) -> None:
        for name, fields in kinds:
            register(name, fields=fields)

    return SimpleNamespace(crm_register_kinds=crm_register_kinds)


@pytest.mark.parametrize(
    ("plugin", "reason"),
    [
        (_bad_kinds(("thing", {}), ("thing", {})), "kind 'thing' is already registered"),
        (_bad_kinds(("thing", {"x": {"type": "string", "colour": "red"}})), "unknown key"),
        (_bad_kinds(("thing", {"x": {"type": "text"}})), "type must be one of"),
        (_bad_kinds(("thing", {"x": {"minLength": 1}})), "type must be one of"),
        (_bad_kinds(("thing", {"x": {"type": "string", "dedupe": "soundex"}})), "soundex"),
        (_bad_kinds(("thing", {"x": {"type": "integer", "default": "one"}})), "default"),
        (_bad_kinds(("thing", {"x": {"type": "integer", "minimum": 5, "default": 1}})), "default"),
        (_bad_kinds(("thing", {"x": {"type": "string", "minLength": "one"}})), "invalid schema"),
        (_bad_kinds(("thing", {"Bad-Name": {"type": "string"}})), "field name"),
        (_bad_kinds(("Thing", {})), "bad kind name"),
        (_bad_kinds(("thing", {"x": "string"})), "must be a dict"),
    ],
    ids=[
        "duplicate-kind",
        "unknown-key",
        "bad-type",
        "missing-type",
        "unknown-normaliser",
        "default-wrong-type",
        "default-below-minimum",
        "invalid-schema",
        "bad-field-name",
        "bad-kind-name",
        "spec-not-a-dict",
    ],
)
def test_bad_registrations_are_refused_naming_the_plugin(
    plugin: SimpleNamespace, reason: str
) -> None:
    with pytest.raises(CrmError) as err:
        _registry(("bad", plugin))
    message = str(err.value)
    assert "plugin 'bad'" in message
    assert reason in message


def test_a_kind_registered_by_two_plugins_is_refused() -> None:
    first = _bad_kinds(("thing", {}))
    second = _bad_kinds(("thing", {"x": {"type": "string"}}))
    with pytest.raises(CrmError, match="kind 'thing' is already registered") as err:
        _registry(("first", first), ("bad", second))
    assert "'bad'" in str(err.value)
    assert "'first'" in str(err.value)


def test_a_field_for_a_missing_kind_is_refused() -> None:
    @hookimpl
    def crm_register_fields(register: Callable[..., None]) -> None:
        register("ghost", "x", {"type": "string"})

    plugin = SimpleNamespace(crm_register_fields=crm_register_fields)
    with pytest.raises(CrmError, match="no kind 'ghost'") as err:
        _registry(("bad", plugin))
    assert "plugin 'bad'" in str(err.value)


def test_a_plugin_adds_a_field_to_another_plugins_kind() -> None:
    @hookimpl
    def crm_register_fields(register: Callable[..., None]) -> None:
        register("member", "locker", {"type": "integer", "minimum": 1})

    extra = SimpleNamespace(crm_register_fields=crm_register_fields)
    registry = _registry(("lockers", extra), entry_points=True)
    locker = registry.kind("member").fields["locker"]
    assert locker.plugin == "lockers"
    assert "locker" in registry.kind("member").json_schema()["properties"]
    registry.validate("member", {"name": "Li", "locker": 3})
    with pytest.raises(FieldError) as err:
        registry.validate("member", {"name": "Li", "locker": 0})
    assert _problem_fields(err.value) == {"locker"}


def test_a_field_added_twice_is_refused() -> None:
    @hookimpl
    def crm_register_fields(register: Callable[..., None]) -> None:
        register("member", "phone", {"type": "string"})

    extra = SimpleNamespace(crm_register_fields=crm_register_fields)
    with pytest.raises(CrmError, match="field 'phone': the field already exists") as err:
        _registry(("bad", extra), entry_points=True)
    assert "plugin 'bad'" in str(err.value)


def test_a_plugin_redefining_a_core_normaliser_is_named() -> None:
    """The plugin that registers a taken name is at fault, not the core."""

    @hookimpl
    def crm_register_normalizers(register: Callable[..., None]) -> None:
        register("phone", str.strip)

    plugin = SimpleNamespace(crm_register_normalizers=crm_register_normalizers)
    with pytest.raises(CrmError, match="normaliser 'phone' already exists") as err:
        _registry(("bad", plugin))
    assert "'bad'" in str(err.value)


def test_a_plugin_redefining_a_core_activity_type_is_named() -> None:
    @hookimpl
    def crm_register_activity_types(register: Callable[..., None]) -> None:
        register("call", label="Phone call")

    plugin = SimpleNamespace(crm_register_activity_types=crm_register_activity_types)
    with pytest.raises(CrmError, match="activity type 'call' already exists") as err:
        _registry(("bad", plugin))
    assert "'bad'" in str(err.value)


def test_a_plugin_normaliser_can_be_used_for_dedupe() -> None:
    @hookimpl
    def crm_register_normalizers(register: Callable[..., None]) -> None:
        register("plate", lambda value: value.replace(" ", "").upper())

    kinds = _kind_plugin("car", {"plate": {"type": "string", "dedupe": "plate"}})
    registry = _registry(
        ("plates", SimpleNamespace(crm_register_normalizers=crm_register_normalizers)),
        ("cars", kinds),
    )
    assert registry.kind("car").fields["plate"].dedupe == "plate"
    assert registry.dedupe_keys("car", {"plate": "ab 123"}) == {"plate": "AB123"}
    assert registry.dedupe_keys("car", {"plate": ""}) == {}


def test_dedupe_true_means_exact() -> None:
    registry = _registry(("codes", _kind_plugin("code", {"c": {"type": "string", "dedupe": True}})))
    assert registry.kind("code").fields["c"].dedupe == "exact"
    assert registry.dedupe_keys("code", {"c": "  ＡBc "}) == {"c": "abc"}


# -- title templates -------------------------------------------------------------------------

TITLE_VALUES = st.one_of(
    st.none(), st.sampled_from(["", "Li", " Wang  Wei ", "()", "（ ）", "[x]", "·", "a\tb"]),
    st.integers(-5, 5), st.floats(-2, 2, allow_nan=False), st.booleans(),
)  # fmt: skip
TEMPLATES = st.lists(
    st.sampled_from(
        ["{name}", "{company}", " ", " (", ")", "（", "）", " · ", "[", "]", "{{", "}", "x"]
    ),
    min_size=1,
    max_size=6,
).map("".join)


def _rendered_by_format_map(template: str, values: dict[str, Any]) -> str:
    """The title as ``str.format_map`` fills it, cleaned as render_title documents."""
    names = template_fields(template)
    filled = {n: "" if values.get(n) is None else values[n] for n in names}
    text = EMPTY_BRACKETS.sub("", template.format_map(filled))
    return " ".join(text.split()).strip(DANGLING)


@settings(max_examples=500, deadline=None)
@given(TEMPLATES, st.dictionaries(st.sampled_from(["name", "company"]), TITLE_VALUES))
def test_a_title_is_its_template_filled_and_cleaned(template: str, values: dict[str, Any]) -> None:
    try:
        expected = _rendered_by_format_map(template, values)
    except ValueError:  # an unmatched brace: no kind can have this template
        return
    kind = KindSpec("k", {"en": "K"}, "p", title=template)
    assert kind.render_title(values) == expected
