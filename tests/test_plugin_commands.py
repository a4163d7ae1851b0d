"""Commands plugins add to ``crm`` (``crm_register_commands``), run like the core's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import typer

from crm_core import hookimpl
from crm_core.api import Crm, NotFound
from crm_core.commands import cli, emit_json, table
from crm_core.testing import invoke_cli

ENV: dict[str, str | None] = {
    "CRM_USER": None,
    "CRM_DATABASE_URL": None,
    "CRM_DISABLED_PLUGINS": None,
    "CRM_DEBUG": None,
    "COLUMNS": "200",
}


class Gym:
    """Adds ``crm gym yearly|show|boom`` and ``crm hello``."""

    @hookimpl
    def crm_register_commands(self, register: Callable[..., None]) -> None:
        gym = typer.Typer(help="Gym members.", no_args_is_help=True)

        @gym.command("yearly")
        def yearly(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
            """List the yearly members the acting user sees."""
            state = cli(ctx)
            found = state.crm.list_records(state.actor, kind="member", where={"plan": "yearly"})
            rows = [{"id": r.id, "name": r.fields["name"]} for r in found]
            if as_json:
                emit_json(rows)
            else:
                table(rows, ["id", "name"], "yearly members")

        @gym.command("show")
        def show(ctx: typer.Context, record_id: int) -> None:
            """Print one member's name."""
            state = cli(ctx)
            typer.echo(state.crm.get_record(state.actor, record_id).fields["name"])

        @gym.command("boom")
        def boom() -> None:
            """Fail the way a plugin's bug does."""
            raise RuntimeError("the gym is closed")

        def hello(name: str) -> None:
            """Greet someone."""
            typer.echo(f"hello {name}")

        register("gym", gym)
        register("hello", hello)


def plugin(*names_and_commands: tuple[str, Any]) -> object:
    """A plugin registering exactly these commands."""

    class Plugin:
        @hookimpl
        def crm_register_commands(self, register: Callable[..., None]) -> None:
            for name, command in names_and_commands:
                register(name, command)

    return Plugin()


def run(*args: str, plugins: list[tuple[str, object]], **env: str) -> Any:
    return invoke_cli(args, plugins, env={**ENV, **env}, entry_points=True)


def test_help_lists_the_plugins_commands_next_to_the_cores() -> None:
    out = run("--help", plugins=[("gym", Gym())])
    assert out.exit_code == 0, out.output
    assert "gym" in out.stdout and "Gym members." in out.stdout
    assert "records" in out.stdout
    out = run("gym", "--help", plugins=[("gym", Gym())])
    assert "yearly" in out.stdout and "List the yearly members" in out.stdout


def test_a_plugin_command_calls_the_api_as_the_acting_user(crm: Crm, db_url: str) -> None:
    crm.add_user("admin", "alice", "operator")
    crm.add_record("alice", "member", {"name": "Ann", "plan": "yearly", "email": "a@x.cn"})
    crm.add_record("alice", "member", {"name": "Bo"})
    crm.add_record("admin", "member", {"name": "Cy", "plan": "yearly", "email": "c@x.cn"})
    out = run("--db", db_url, "--as", "alice", "gym", "yearly", "--json", plugins=[("gym", Gym())])
    assert out.exit_code == 0, out.output
    assert [row["name"] for row in json.loads(out.stdout)] == ["Ann"]
    out = run("--db", db_url, "--as", "admin", "gym", "yearly", plugins=[("gym", Gym())])
    assert "Ann" in out.stdout and "Cy" in out.stdout and "Bo" not in out.stdout
    out = run("hello", "world", plugins=[("gym", Gym())])
    assert (out.exit_code, out.stdout) == (0, "hello world\n")


def test_a_crm_error_in_a_plugin_command_keeps_its_exit_code(crm: Crm, db_url: str) -> None:
    out = run("--db", db_url, "--as", "admin", "gym", "show", "999", plugins=[("gym", Gym())])
    assert out.exit_code == NotFound.exit_code
    assert out.stderr.startswith("error: ") and "999" in out.stderr
    assert len(out.stderr.splitlines()) == 1
    out = run("--db", db_url, "gym", "yearly", plugins=[("gym", Gym())])
    assert out.exit_code == 2
    assert out.stderr == "error: no acting user: pass --as USER or set CRM_USER\n"


def test_any_other_exception_is_one_line_naming_the_plugin_and_command_exit_6() -> None:
    out = run("gym", "boom", plugins=[("gym", Gym())])
    assert out.exit_code == 6
    assert out.stderr == (
        "error: plugin 'gym' failed in command 'crm gym': RuntimeError: the gym is closed\n"
    )
    assert "Traceback" not in out.output


@pytest.mark.parametrize("args", [["--help"], ["permissions"]])
def test_a_command_named_like_a_cores_stops_crm_naming_the_plugin(args: list[str]) -> None:
    out = run(*args, plugins=[("sneaky", plugin(("init", lambda: None)))])
    assert out.exit_code == 6
    assert out.stderr == (
        "error: plugin 'sneaky' registers the command 'init', which crm-core has; "
        "disable one of them (CRM_DISABLED_PLUGINS)\n"
    )


def test_two_plugins_with_one_command_name_stop_crm_naming_both() -> None:
    plugins = [("gym", Gym()), ("spa", plugin(("hello", lambda: None)))]
    out = run("--help", plugins=plugins)
    assert out.exit_code == 6
    assert out.stderr == (
        "error: plugins 'gym' and 'spa' both register the command 'hello'; "
        "disable one of them (CRM_DISABLED_PLUGINS)\n"
    )
    out = run("hello", "you", plugins=plugins, CRM_DISABLED_PLUGINS="spa")
    assert (out.exit_code, out.stdout) == (0, "hello you\n")


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        (
            ("Gym!", print),
            "ValueError: command name 'Gym!': use lower case letters, digits and dashes",
        ),
        (("gym", 42), "TypeError: command 'gym' is a int, not a typer.Typer or a function"),
    ],
)
def test_a_bad_command_is_refused_naming_the_plugin(command: tuple[str, Any], problem: str) -> None:
    out = run("--help", plugins=[("bad", plugin(command))])
    assert out.exit_code == 6
    assert out.stderr == f"error: plugin 'bad' failed in crm_register_commands: {problem}\n"


def test_a_disabled_plugins_commands_are_not_there() -> None:
    out = run("gym", "boom", plugins=[("gym", Gym())], CRM_DISABLED_PLUGINS="gym")
    assert out.exit_code == 2
    assert "No such command 'gym'" in out.stderr
