"""Plugin settings: a schema the plugin declares, [plugins.NAME] in crm.toml, CRM_PLUGIN_*."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer

from crm_core import hookimpl
from crm_core.api import Crm, InvalidInput, NotFound, PluginError, PluginSettings
from crm_core.commands import cli
from crm_core.testing import invoke_cli

SCHEMA = {
    "type": "object",
    "properties": {
        "max_trials": {"type": "integer", "minimum": 1, "default": 2,
                       "description": "Free trial lessons per student"},
        "courses": {"type": "array", "items": {"type": "string"}, "default": ["piano"]},
        "strict": {"type": "boolean", "default": False},
        "api_token": {"type": "string"},
        "webhook": {"type": "string", "writeOnly": True},
    },
}  # fmt: skip
ENV: dict[str, str | None] = {
    "CRM_USER": None,
    "CRM_DATABASE_URL": None,
    "CRM_DISABLED_PLUGINS": None,
    "COLUMNS": "200",
}


class School:
    """Declares SCHEMA and a command printing what it reads from its settings."""

    def __init__(self, schema: Any = SCHEMA) -> None:
        self.schema = schema

    @hookimpl
    def crm_register_settings(self, register: Callable[..., None]) -> None:
        register(self.schema)

    @hookimpl
    def crm_register_commands(self, register: Callable[..., None]) -> None:
        def trials(ctx: typer.Context) -> None:
            """Print the free trials allowed."""
            typer.echo(cli(ctx).crm.settings("school")["max_trials"])

        register("trials", trials)


class Plain:
    """A plugin without settings."""

    @hookimpl
    def crm_register_activity_types(self, register: Callable[..., None]) -> None:
        register("lesson", label={"en": "Lesson", "zh": "课"})


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder (crm.toml is read from there) and no CRM_PLUGIN_* variables."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CRM_PLUGIN_"):
            monkeypatch.delenv(name)
    return tmp_path


def open_school(schema: Any = SCHEMA, **options: Any) -> Crm:
    plugins = [("school", School(schema)), ("plain", Plain())]
    return Crm.open("sqlite://", extra_plugins=plugins, entry_points=False, **options)


def test_defaults_fill_in_what_nobody_set(folder: Path) -> None:
    crm = open_school()
    assert crm.settings("school") == {"max_trials": 2, "courses": ["piano"], "strict": False}
    assert crm.settings("plain") == {}
    with pytest.raises(NotFound, match="no plugin named nope"):
        crm.settings("nope")


def test_crm_toml_and_the_environment_which_wins(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "crm.toml").write_text(
        '[plugins.school]\nmax_trials = 3\napi_token = "s3cret"\nstrict = true\n'
    )
    assert open_school().settings("school")["max_trials"] == 3
    monkeypatch.setenv("CRM_PLUGIN_SCHOOL_MAX_TRIALS", "5")
    monkeypatch.setenv("CRM_PLUGIN_SCHOOL_STRICT", "no")
    monkeypatch.setenv("CRM_PLUGIN_SCHOOL_COURSES", "piano, violin")
    monkeypatch.setenv("CRM_PLUGIN_OTHER_THING", "not ours, so not read")
    assert open_school().settings("school") == {
        "max_trials": 5,
        "courses": ["piano", "violin"],
        "strict": False,
        "api_token": "s3cret",
    }


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("max_trials = 0", {},
         "crm.toml [plugins.school] max_trials: 0 is less than the minimum of 1"),
        ('max_trials = "three"', {},
         "crm.toml [plugins.school] max_trials: 'three' is not of type 'integer'"),
        ("colour = 1", {},
         "crm.toml [plugins.school] colour: unknown key "
         "(known: api_token, courses, max_trials, strict, webhook)"),
        ("", {"CRM_PLUGIN_SCHOOL_MAX_TRIALS": "lots"},
         "CRM_PLUGIN_SCHOOL_MAX_TRIALS ([plugins.school] max_trials): 'lots' is not an integer"),
        ("", {"CRM_PLUGIN_SCHOOL_MAX_TRIALS": "-4"},
         "CRM_PLUGIN_SCHOOL_MAX_TRIALS ([plugins.school] max_trials): "
         "-4 is less than the minimum of 1"),
        ("", {"CRM_PLUGIN_SCHOOL_STRICT": "maybe"},
         "CRM_PLUGIN_SCHOOL_STRICT ([plugins.school] strict): 'maybe' is not true or false"),
        ("", {"CRM_PLUGIN_SCHOOL_COLOUR": "red"},
         "CRM_PLUGIN_SCHOOL_COLOUR: [plugins.school] has no key colour "
         "(known: api_token, courses, max_trials, strict, webhook)"),
    ],
)  # fmt: skip
def test_invalid_settings_stop_the_crm_naming_table_and_key(
    folder: Path, monkeypatch: pytest.MonkeyPatch, toml: str, env: dict[str, str], message: str
) -> None:
    (folder / "crm.toml").write_text(f"[plugins.school]\n{toml}\n")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InvalidInput) as caught:
        open_school()
    assert str(caught.value) == message
    assert caught.value.exit_code == 2


def test_a_required_key_nobody_set_is_named_with_its_variable(folder: Path) -> None:
    schema = {**SCHEMA, "required": ["api_token"]}
    with pytest.raises(InvalidInput) as caught:
        open_school(schema)
    assert str(caught.value) == (
        "crm.toml [plugins.school] api_token: required; "
        "set it there or in CRM_PLUGIN_SCHOOL_API_TOKEN"
    )
    assert (
        open_school(schema, plugin_settings={"school": {"api_token": "t"}}).settings("school")[
            "api_token"
        ]
        == "t"
    )


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[plugins.scool]\nx = 1", "crm.toml [plugins.scool]: no plugin named scool is installed"),
        ("[plugins.plain]\nx = 1", "crm.toml [plugins.plain]: plugin plain has no settings"),
        ("plugins = 3", "crm.toml: [plugins] must hold one table per plugin, [plugins.NAME]"),
    ],
)
def test_a_table_for_no_plugin_or_a_plugin_without_settings_is_refused(
    folder: Path, toml: str, message: str
) -> None:
    (folder / "crm.toml").write_text(toml + "\n")
    with pytest.raises(InvalidInput) as caught:
        open_school()
    assert str(caught.value) == message


def test_a_disabled_plugins_table_is_not_read(folder: Path) -> None:
    (folder / "crm.toml").write_text("[plugins.school]\nmax_trials = 0\n")
    assert open_school(disabled_plugins=["school"]).plugin("school").disabled


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"properties": {}}, "must be an object schema"),
        ({"type": "object"}, "needs 'properties': a schema for each key"),
        ({"type": "object", "properties": {"n": {}}}, "n needs a type"),
        ({"type": "object", "properties": {"n": {"type": "integer", "minimum": "x"}}},
         "'x' is not of type 'number'"),
    ],
)  # fmt: skip
def test_a_bad_schema_names_the_plugin(folder: Path, schema: Any, problem: str) -> None:
    with pytest.raises(PluginError) as caught:
        open_school(schema)
    assert str(caught.value).startswith(
        "plugin 'school' failed in crm_register_settings: "
        "RegistrationError: plugin 'school': settings schema"
    )
    assert problem in str(caught.value)


def test_secrets_are_masked_for_display() -> None:
    values = {"api_token": "t", "password": "p", "smtp_key": "k", "webhook": "w", "host": "h",
              "keyboard": "not a secret", "max_trials": 2}  # fmt: skip
    schema = {"properties": {"webhook": {"writeOnly": True}}}
    assert PluginSettings("x", schema, values).masked() == {
        "api_token": "********", "password": "********", "smtp_key": "********",
        "webhook": "********", "host": "h", "keyboard": "not a secret", "max_trials": 2,
    }  # fmt: skip
    schema = {"properties": {"api_token": {"type": "string", "default": "dev-token"},
                             "host": {"type": "string", "default": "localhost"}}}  # fmt: skip
    rows = PluginSettings("x", schema, {"api_token": "t", "host": "h"}).rows()
    assert [(r["key"], r["value"], r["default"]) for r in rows] == [
        ("api_token", "********", "********"), ("host", "h", "localhost"),
    ]  # fmt: skip


def test_crm_plugins_show_gives_commands_schema_and_masked_values(folder: Path) -> None:
    (folder / "crm.toml").write_text('[plugins.school]\napi_token = "s3cret"\n')
    plugins = [("school", School())]
    env = {**ENV, "CRM_PLUGIN_SCHOOL_MAX_TRIALS": "4"}
    out = invoke_cli(["plugins", "show", "school", "--json"], plugins, env=env)
    assert out.exit_code == 0, out.output
    shown = json.loads(out.stdout)
    assert shown["commands"] == ["trials"]
    assert shown["hooks"] == ["crm_register_commands", "crm_register_settings"]
    assert shown["settings"]["schema"] == SCHEMA
    assert shown["settings"]["values"] == {
        "max_trials": 4, "courses": ["piano"], "strict": False, "api_token": "********",
    }  # fmt: skip
    assert "s3cret" not in out.stdout
    out = invoke_cli(["plugins", "show", "school"], plugins, env=env)
    assert out.exit_code == 0, out.output
    assert "crm trials" in out.stdout and "Free trial lessons per student" in out.stdout
    assert "********" in out.stdout and "s3cret" not in out.stdout
    out = invoke_cli(["trials"], plugins, env=env)
    assert (out.exit_code, out.stdout) == (0, "4\n")
    out = invoke_cli(["plugins", "show", "nope"], plugins, env=env)
    assert (out.exit_code, out.stderr) == (
        4,
        "error: no plugin named nope (see crm plugins list)\n",
    )


def test_the_cli_stops_on_invalid_settings_with_exit_2(folder: Path) -> None:
    (folder / "crm.toml").write_text("[plugins.school]\nmax_trials = 0\n")
    out = invoke_cli(["trials"], [("school", School())], env=ENV)
    assert out.exit_code == 2
    assert out.stderr == (
        "error: crm.toml [plugins.school] max_trials: 0 is less than the minimum of 1\n"
    )


@pytest.mark.parametrize("args", [["--help"], ["trials"]])
def test_a_crm_toml_that_is_not_toml_is_one_line_exit_2(folder: Path, args: list[str]) -> None:
    (folder / "crm.toml").write_text("[plugins.school\n")
    out = invoke_cli(args, [("school", School())], env=ENV)
    assert out.exit_code == 2
    assert out.stderr == (
        "error: crm.toml: Expected ']' at the end of a table declaration (at line 1, column 16)\n"
    )
