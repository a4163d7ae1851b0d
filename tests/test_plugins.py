"""Plugins: how they are listed, disabled, and how their failures are reported."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

import crm_core
from crm_core import hookimpl
from crm_core.api import (
    Crm,
    FieldError,
    InvalidInput,
    NotFound,
    PluginError,
    PluginInfo,
    RecordChange,
    RecordSnapshot,
)
from crm_core.plugins import PluginHost


@pytest.fixture
def open_crm(db_url: str) -> Iterator[Callable[..., Crm]]:
    """Open more CRMs on the test database, with other plugins; closed at the end."""
    opened: list[Crm] = []

    def make(**kwargs: Any) -> Crm:
        crm = Crm.open(db_url, **kwargs)
        opened.append(crm)
        return crm

    yield make
    for crm in opened:
        crm.close()


def _by_name(infos: list[PluginInfo]) -> dict[str, PluginInfo]:
    return {p.name: p for p in infos}


def test_plugins_lists_core_and_installed_plugins() -> None:
    crm = Crm.open("sqlite://")  # listing plugins never touches the database
    infos = _by_name(crm.plugins())
    assert {"core", "leads", "testplugin"} <= set(infos)
    core, leads, test = infos["core"], infos["leads"], infos["testplugin"]
    assert core.version == crm_core.__version__
    assert leads.version == importlib.metadata.version("crm-leads")
    assert test.version == importlib.metadata.version("crm-testplugin") == "0.0.1"
    assert core.kinds == []
    assert leads.kinds == ["lead"]
    assert test.kinds == ["member"]
    assert core.hooks == [
        "crm_register_activity_types",
        "crm_register_assignment_strategies",
        "crm_register_channels",
        "crm_register_normalizers",
        "crm_register_reports",
    ]
    assert leads.hooks == [
        "crm_register_dashboard_cards", "crm_register_detail_panels", "crm_register_kinds",
        "crm_register_list_columns", "crm_register_messages", "crm_register_reports",
        "crm_register_talking_points", "crm_validate_record",
    ]  # fmt: skip
    assert test.hooks == [
        "crm_record_changed",
        "crm_register_activity_types",
        "crm_register_kinds",
        "crm_validate_record",
    ]
    assert not any(p.disabled for p in infos.values())
    assert test.to_dict() == {
        "name": "testplugin",
        "version": "0.0.1",
        "hooks": test.hooks,
        "kinds": ["member"],
        "disabled": False,
    }


def test_a_disabled_plugin_is_not_loaded(crm: Crm, open_crm: Callable[..., Crm]) -> None:
    without = open_crm(disabled_plugins=["testplugin"])
    infos = _by_name(without.plugins())
    assert infos["testplugin"] == PluginInfo("testplugin", "", [], [], disabled=True)
    assert infos["leads"].kinds == ["lead"]
    assert "lead" in [k.name for k in without.kinds()]
    assert "member" not in [k.name for k in without.kinds()]
    with pytest.raises(NotFound, match="no kind 'member'") as err:
        without.kind("member")
    assert err.value.exit_code == 4
    assert "tour" not in {a.name for a in without.activity_types()}
    with pytest.raises(NotFound):
        without.add_record("admin", "member", {"name": "Li"})
    with pytest.raises(InvalidInput, match="no activity type 'tour'"):
        without.log_activity("admin", 1, "tour")
    # the plugin's change hook does not run either: an EXPLODE title is fine
    lead = without.add_record(
        "admin", "lead", {"name": "Li", "phone": "13800000000"}, title="EXPLODE"
    )
    assert crm.get_record("admin", lead.record.id).title == "EXPLODE"
    # and the CRM with every plugin still has it
    assert crm.kind("member").plugin == "testplugin"


def test_disabling_every_plugin_leaves_the_core() -> None:
    installed = {ep.name for ep in importlib.metadata.entry_points(group="crm.plugins")}
    assert {"leads", "testplugin"} <= installed
    bare = Crm.open("sqlite://", disabled_plugins=installed)
    assert bare.kinds() == []
    assert [p.name for p in bare.plugins() if not p.disabled] == ["core"]
    assert {p.name for p in bare.plugins() if p.disabled} == installed
    with pytest.raises(NotFound, match="none: install a plugin"):
        bare.kind("lead")


def _plugin(**hooks: Callable[..., Any]) -> SimpleNamespace:
    return SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def test_a_validate_hook_that_raises_is_reported_naming_the_plugin(
    crm: Crm, open_crm: Callable[..., Crm]
) -> None:
    def crm_validate_record(kind: str, fields: dict[str, Any], before: Any, actor: str) -> None:
        raise KeyError("region")

    broken = open_crm(extra_plugins=[("broken", _plugin(crm_validate_record=crm_validate_record))])
    assert "broken" in _by_name(broken.plugins())
    journal_before = crm.journal("admin", limit=10_000)
    with pytest.raises(PluginError) as err:
        broken.add_record("admin", "member", {"name": "Li"})
    assert err.value.exit_code == 6
    assert (err.value.plugin, err.value.hook) == ("broken", "crm_validate_record")
    assert str(err.value) == "plugin 'broken' failed in crm_validate_record: KeyError: 'region'"
    assert isinstance(err.value.error, KeyError)
    assert crm.count_records("admin") == 0
    assert crm.journal("admin", limit=10_000) == journal_before


def test_a_validate_hook_failure_on_update_changes_nothing(
    crm: Crm, open_crm: Callable[..., Crm]
) -> None:
    rec = crm.add_record("admin", "member", {"name": "Li", "visits": 1}).record

    def crm_validate_record(kind: str, fields: dict[str, Any], before: Any, actor: str) -> None:
        if before is not None:
            raise RuntimeError("no updates today")

    broken = open_crm(extra_plugins=[("broken", _plugin(crm_validate_record=crm_validate_record))])
    states = crm.record_states("admin")
    with pytest.raises(PluginError, match="plugin 'broken' failed in crm_validate_record"):
        broken.update_record("admin", rec.id, {"visits": 2})
    assert crm.record_states("admin") == states
    assert crm.get_record("admin", rec.id).version == 1


def test_problems_from_every_plugin_are_reported_together(open_crm: Callable[..., Crm]) -> None:
    seen: list[tuple[str, dict[str, Any], Any, str]] = []

    def crm_validate_record(
        kind: str, fields: dict[str, Any], before: Any, actor: str
    ) -> list[tuple[str, str]]:
        seen.append((kind, fields, before, actor))
        return [("visits", "members must have visited")] if kind == "member" else []

    strict = open_crm(extra_plugins=[("strict", _plugin(crm_validate_record=crm_validate_record))])
    with pytest.raises(FieldError) as err:
        strict.add_record("admin", "member", {"name": "Li", "plan": "yearly"})
    assert sorted(err.value.problems) == [
        ("email", "a yearly plan needs an e-mail for the invoice"),
        ("visits", "members must have visited"),
    ]
    assert seen == [("member", {"name": "Li", "plan": "yearly"}, None, "admin")]


def test_change_hooks_see_every_change(open_crm: Callable[..., Crm]) -> None:
    changes: list[RecordChange] = []

    def crm_record_changed(change: RecordChange) -> None:
        changes.append(change)

    watched = open_crm(extra_plugins=[("watch", _plugin(crm_record_changed=crm_record_changed))])
    rid = watched.add_record("admin", "member", {"name": "Li"}).record.id
    watched.update_record("admin", rid, {"visits": 4})
    watched.archive_record("admin", rid)
    assert [(c.record_id, c.kind, c.action) for c in changes] == [
        (rid, "member", "create"),
        (rid, "member", "update"),
        (rid, "member", "archive"),
    ]
    assert {(c.actor, c.cause) for c in changes} == {("admin", "user:admin")}
    create, update, archive = changes
    assert create.before is None
    assert create.after == RecordSnapshot(
        rid, "member", "Li", None, "admin", None, False, {"name": "Li", "plan": "monthly"}
    )
    assert create.changed == {"title", "owner", "fields.name", "fields.plan"}
    assert update.before == create.after
    assert update.after.fields == {"name": "Li", "plan": "monthly", "visits": 4}
    assert update.changed == {"fields.visits"}
    assert (archive.before.archived, archive.after.archived, archive.changed) == (
        False,
        True,
        {"archived"},
    )
    assert update.to_dict()["changed"] == ["fields.visits"]


def test_v1_change_access_fails_saying_what_changed(open_crm: Callable[..., Crm]) -> None:
    """A plugin reading contract v1's diff dicts gets a TypeError naming the new shape."""
    seen: list[RecordChange] = []

    def crm_record_changed(change: RecordChange) -> None:
        seen.append(change)

    watched = open_crm(extra_plugins=[("watch", _plugin(crm_record_changed=crm_record_changed))])
    watched.add_record("admin", "member", {"name": "Li"})
    with pytest.raises(TypeError, match=r"read change\.after\.fields and test"):
        seen[0].after["fields"]
    with pytest.raises(TypeError, match=r"read change\.after\.title"):
        seen[0].after.get("title", "")


def test_a_disabled_extra_plugin_is_not_registered(open_crm: Callable[..., Crm]) -> None:
    def crm_validate_record(kind: str, fields: dict[str, Any], before: Any, actor: str) -> None:
        raise RuntimeError("should not run")

    plugin = _plugin(crm_validate_record=crm_validate_record)
    crm = open_crm(extra_plugins=[("broken", plugin)], disabled_plugins=["broken"])
    assert _by_name(crm.plugins())["broken"].disabled
    assert crm.add_record("admin", "member", {"name": "Li"}).record.fields["name"] == "Li"


def test_a_caller_calls_every_plugin_as_call_each_does() -> None:
    def strict(kind: str, fields: dict[str, Any], before: Any, actor: str) -> list[Any]:
        return [("name", f"{actor} may not add {kind} {fields['name']}")]

    def broken(kind: str, fields: dict[str, Any], before: Any, actor: str) -> None:
        raise KeyError("region")

    args = {"kind": "member", "fields": {"name": "Li"}, "before": None, "actor": "mia"}
    host = PluginHost(extra=[("strict", _plugin(crm_validate_record=strict))], entry_points=False)
    once = host.caller("crm_validate_record")
    assert once(args) == host.call_each("crm_validate_record", args)
    assert once(args) == [("strict", [("name", "mia may not add member Li")])]
    host = PluginHost(
        extra=[("strict", _plugin(crm_validate_record=strict)),
               ("broken", _plugin(crm_validate_record=broken))],
        entry_points=False,
    )  # fmt: skip
    with pytest.raises(PluginError) as err:
        host.caller("crm_validate_record")(args)
    assert (err.value.plugin, err.value.hook) == ("broken", "crm_validate_record")
    assert str(err.value) == "plugin 'broken' failed in crm_validate_record: KeyError: 'region'"
