"""``crm plugins new NAME``: the package it writes installs and passes its own tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_core.testing import invoke_cli

ENV: dict[str, str | None] = {"CRM_DISABLED_PLUGINS": None, "COLUMNS": "200"}
FILES = [
    "pyproject.toml",
    "README.md",
    "crm_school/__init__.py",
    "crm_school/plugin.py",
    "workflows/school.yaml",
    "tests/test_plugin.py",
]


def test_it_writes_the_package_and_says_what_next(tmp_path: Path) -> None:
    target = tmp_path / "crm-school"
    out = invoke_cli(["plugins", "new", "school", "--dir", str(target)], env=ENV)
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines() == [f"created {target / f}" for f in FILES] + [
        f"next: cd {target} && pip install -e '.[test]' && pytest"
    ]
    pyproject = (target / "pyproject.toml").read_text()
    assert '[project.entry-points."crm.plugins"]\nschool = "crm_school.plugin"' in pyproject
    assert "$" not in "".join((target / f).read_text() for f in FILES)


def test_it_writes_to_crm_name_by_default_and_answers_to_crm_plugin_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = invoke_cli(["plugin", "new", "music_school"], env=ENV)
    assert out.exit_code == 0, out.output
    assert (tmp_path / "crm-music-school" / "crm_music_school" / "plugin.py").is_file()


def test_an_existing_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    out = invoke_cli(["plugins", "new", "school", "--dir", str(target)], env=ENV)
    assert out.exit_code == 2
    assert out.stderr == f"error: {target} already exists: choose another folder or remove it\n"
    assert [p.name for p in target.iterdir()] == ["mine.txt"]


@pytest.mark.parametrize("name", ["School", "1school", "class", "core", "a-b", "x" * 32, "été"])
def test_a_bad_name_is_refused(tmp_path: Path, name: str) -> None:
    out = invoke_cli(["plugins", "new", name, "--dir", str(tmp_path / "p")], env=ENV)
    assert out.exit_code == 2
    assert out.stderr == (
        f"error: plugin name {name!r}: use 1 to 31 lower case letters, digits and underscores, "
        "starting with a letter (not core or crm)\n"
    )
    assert not (tmp_path / "p").exists()


def test_the_generated_plugin_installs_and_passes_its_own_tests(tmp_path: Path) -> None:
    """Generate, pip-install into a folder on PYTHONPATH (entry point included), run its tests."""
    target = tmp_path / "crm-school"
    assert invoke_cli(["plugins", "new", "school", "--dir", str(target)], env=ENV).exit_code == 0
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site)]
    subprocess.run([*pip, str(target)], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env["PYTHONPATH"] = str(site)
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(target)],
        cwd=target, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "5 passed" in tests.stdout
    crm = [sys.executable, "-c", "from crm_core.cli.main import run; run()"]
    workflow = target / "workflows" / "school.yaml"
    checked = subprocess.run(
        [*crm, "workflow", "validate", str(workflow)], env=env, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    shown = subprocess.run([*crm, "plugins", "show", "school", "--json"], env=env,
                           capture_output=True, text=True)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert '"kinds": [\n    "school"\n  ]' in shown.stdout
