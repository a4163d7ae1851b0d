"""Plugins' list columns, detail panels and dashboard cards: registration and rendering."""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crm_core import hookimpl
from crm_core.api import Crm
from crm_core.errors import InvalidInput, NotFound, PermissionDenied, PluginError


def _plugin(**hooks: Callable[..., None]) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: hookimpl(f) for name, f in hooks.items()})


def _open(tmp_path: Path, plugin: object) -> Crm:
    crm = Crm.open(f"sqlite:///{tmp_path / 'crm.db'}", extra_plugins=[("gym_screens", plugin)])
    crm.init("admin")
    return crm


def _good_plugin() -> types.SimpleNamespace:
    def columns(register: Callable[..., None]) -> None:
        register("member", "plan", width=8)
        register("member", "visits")

    def panels(register: Callable[..., None]) -> None:
        def visits(crm: Crm, actor: str, record: Any) -> str:
            return f"{record.fields.get('visits', 0)} visits, seen by {actor}"

        def broken(crm: Crm, actor: str, record: Any) -> str:
            raise RuntimeError("the gym's server is down")

        register("member", "visits", visits, label={"en": "Visits", "zh": "到店"})
        register("member", "broken", broken)

    def cards(register: Callable[..., None]) -> None:
        def members(crm: Crm, actor: str) -> str:
            return f"{len(crm.record_page(actor, kind='member').records)} members"

        register("members", members, label="Members")

    return _plugin(crm_register_list_columns=columns, crm_register_detail_panels=panels,
                   crm_register_dashboard_cards=cards)  # fmt: skip


def test_columns_panels_and_cards_render_as_the_actor(tmp_path: Path) -> None:
    crm = _open(tmp_path, _good_plugin())
    crm.add_user("admin", "alice", "operator")
    crm.add_user("admin", "bob", "operator")
    record = crm.add_record("alice", "member", {"name": "Ann", "visits": 4}).record
    assert [(c.field, c.width) for c in crm.list_columns("member")] == [
        ("plan", 8),
        ("visits", None),
    ]
    assert crm.list_columns("member")[0].label["en"] == "plan"  # the field's own label
    assert [p.name for p in crm.detail_panels("member")] == ["visits", "broken"]
    assert crm.render_panel("alice", record.id, "visits") == "4 visits, seen by alice"
    with pytest.raises(PluginError, match=r"gym_screens.*panel broken.*server is down"):
        crm.render_panel("alice", record.id, "broken")
    with pytest.raises(PermissionDenied):
        crm.render_panel("bob", record.id, "visits")
    with pytest.raises(NotFound, match="no panel 'nope'"):
        crm.render_panel("alice", record.id, "nope")
    assert crm.render_card("alice", "members") == "1 members"
    assert crm.render_card("bob", "members") == "0 members"
    with pytest.raises(NotFound, match="no dashboard card 'x'"):
        crm.render_card("alice", "x")
    crm.close()


def test_a_kind_without_chosen_columns_shows_its_required_fields(crm: Crm) -> None:
    assert [c.field for c in crm.list_columns("member")] == ["name"]
    assert crm.detail_panels("member") == []


@pytest.mark.parametrize(
    ("hook", "body", "message"),
    [
        ("crm_register_list_columns", lambda r: r("member", "colour"), "no such field"),
        ("crm_register_list_columns", lambda r: r("ghost", "name"), "no such field"),
        ("crm_register_list_columns", lambda r: r("member", "name", width=500), "width"),
        ("crm_register_list_columns", lambda r: (r("member", "name"), r("member", "name")),
         "already a column"),
        ("crm_register_detail_panels", lambda r: r("ghost", "p", print), "no kind 'ghost'"),
        ("crm_register_detail_panels", lambda r: r("member", "Bad Name", print), "lower case"),
        ("crm_register_detail_panels", lambda r: r("member", "p", "not callable"), "callable"),
        ("crm_register_dashboard_cards", lambda r: (r("c", print), r("c", print)),
         "already registered"),
        ("crm_register_talking_points", lambda r: r("ghost", "new", ["hi"]), "no kind 'ghost'"),
        ("crm_register_talking_points", lambda r: r("member", "", ["hi"]), "a stage is"),
        ("crm_register_talking_points", lambda r: r("member", "new", "hi"), "must be a list"),
        ("crm_register_talking_points", lambda r: r("member", "new", [""]), "needs text"),
        ("crm_register_talking_points", lambda r: r("member", "new", [{"en": 1}]), "label must"),
    ],
)  # fmt: skip
def test_bad_registrations_stop_the_crm_opening_with_the_plugin_named(
    tmp_path: Path, hook: str, body: Callable[..., None], message: str
) -> None:
    def hook_impl(register: Callable[..., None]) -> None:
        body(register)

    with pytest.raises((PluginError, InvalidInput), match=message) as caught:
        _open(tmp_path, _plugin(**{hook: hook_impl}))
    assert "gym_screens" in str(caught.value)
