"""A ``crm`` call imports only what it uses: the core's commands load when they run.

No timing here (``crm bench`` has the figures): these tests check what a
command imports, and that ``crm --help`` from the index is the help of the
real commands.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import typer

from crm_core.cli import index
from crm_core.cli.main import Listed, app
from crm_core.testing import CLEAN_ENV, fresh_crm, invoke_cli

MODULES = sorted({entry.module for entry in index.COMMANDS})
# Imported by a command that needs them, never by `crm --help` or `crm record show`.
HEAVY = ["textual", "alembic", "jsonschema", "phonenumbers", "rich", "yaml"]
# The database layer and the API: `crm --help` opens no database.
DATABASE = ["sqlalchemy", "sqlmodel", "crm_core.api"]


def _group() -> tuple[typer.core.TyperGroup, typer.Context]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return group, group.context_class(group, info_name="crm")


def _registered(module: str) -> dict[str, object]:
    """The commands ``crm_core.cli.MODULE.register`` adds, by name."""
    registered = typer.Typer()
    __import__(f"crm_core.cli.{module}", fromlist=["register"]).register(registered)
    return dict(typer.main.get_group(registered).commands)


def test_the_index_names_each_command_of_each_module_with_its_help() -> None:
    for module in MODULES:
        commands = _registered(module)
        listed = [entry for entry in index.COMMANDS if entry.module == module]
        assert sorted(commands) == sorted(entry.name for entry in listed), module
        for entry in listed:
            command = commands[entry.name]
            first = inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ")  # type: ignore[attr-defined]
            assert (entry.help, entry.hidden) == (first, command.hidden), entry.name  # type: ignore[attr-defined]


def test_help_listed_from_the_index_is_the_help_of_the_loaded_commands() -> None:
    lazy, lazy_ctx = _group()
    loaded, loaded_ctx = _group()
    for name in loaded.list_commands(loaded_ctx):
        assert not isinstance(loaded.get_command(loaded_ctx, name), Listed)
    assert lazy.get_help(lazy_ctx) == loaded.get_help(loaded_ctx)
    assert any(isinstance(lazy.commands[name], Listed) for name in lazy.commands)


def test_a_command_runs_after_its_module_loads() -> None:
    result = invoke_cli(["permissions", "--json"], env=CLEAN_ENV)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)


def test_an_unknown_command_still_gets_a_suggestion() -> None:
    result = invoke_cli(["recrod"], env=CLEAN_ENV)
    assert result.exit_code == 2
    assert "No such command 'recrod'. Did you mean 'record'?" in result.stderr


def _imported(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, set[str]]:
    """Run ``crm ARGS`` in a new interpreter; return its exit code and the modules it imported."""
    script = (
        "import json, sys\n"
        "from crm_core.cli.main import run\n"
        f"sys.argv = ['crm', *{args!r}]\n"
        "try:\n    run()\nexcept SystemExit as exit:\n    code = exit.code or 0\n"
        "print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)\n"
    )
    clean = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, env={**clean, **env},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    code, modules = json.loads(done.stderr.strip().splitlines()[-1])
    return code, {m.split(".")[0] if not m.startswith("crm_core") else m for m in modules}


def test_crm_help_imports_neither_the_database_layer_nor_heavy_libraries(tmp_path: Path) -> None:
    code, modules = _imported(["--help"], tmp_path, {})
    assert code == 0
    # typer prints help with rich, so rich is the one heavy library help may import.
    unused = {*HEAVY, *DATABASE} - {"rich"}
    assert modules.isdisjoint(unused), sorted(modules & unused)


def test_crm_record_show_imports_no_heavy_library(tmp_path: Path) -> None:
    with fresh_crm(tmp_path, entry_points=True) as crm:
        added = crm.add_record("admin", "lead", {"name": "Ann", "email": "ann@example.com"})
    env = {"CRM_DATABASE_URL": f"sqlite:///{tmp_path / 'crm.db'}", "CRM_USER": "admin"}
    code, modules = _imported(["record", "show", str(added.record.id)], tmp_path, env)
    assert code == 0
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))
    # On SQLite it reads through sqlite3 (crm_core.quickread), without the ORM.
    assert modules.isdisjoint(DATABASE), sorted(modules & set(DATABASE))
