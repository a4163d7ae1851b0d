"""``crm plugins new NAME``: a new plugin package that passes its own tests as generated.

The files come from ``templates/`` (package data), filled in with
:class:`string.Template`: ``$name`` (the plugin, its entry point and its
kind), ``$package`` (``crm_NAME``), ``$dist`` (``crm-NAME``) and ``$title``.
"""

from __future__ import annotations

import keyword
import re
from importlib import resources
from pathlib import Path
from string import Template

from crm_core.errors import InvalidInput
from crm_core.i18n import _

NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
RESERVED = {"core", "crm"}
# Template file -> where it goes in the new package.
FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "package_init.py.tmpl": "$package/__init__.py",
    "plugin.py.tmpl": "$package/plugin.py",
    "workflow.yaml.tmpl": "workflows/$name.yaml",
    "test_plugin.py.tmpl": "tests/test_plugin.py",
}


def check_name(name: str) -> None:
    """Refuse a name that cannot be a plugin, a package and a kind at once (exit 2)."""
    if not NAME.match(name) or keyword.iskeyword(name) or name in RESERVED:
        raise InvalidInput(
            _(
                "plugin name {name!r}: use 1 to 31 lower case letters, digits and underscores, "
                "starting with a letter (not core or crm)",
                name=name,
            )
        )


def default_folder(name: str) -> Path:
    """Where ``crm plugins new NAME`` writes when given no folder: ``./crm-NAME``."""
    return Path(f"crm-{name.replace('_', '-')}")


def new_plugin(name: str, folder: Path) -> list[Path]:
    """Write a new plugin called ``name`` into ``folder``, which must not exist yet.

    Returns the files written. A bad name or an existing folder is refused
    (:class:`InvalidInput`) and nothing is written.
    """
    check_name(name)
    if folder.exists():
        raise InvalidInput(
            _("{folder} already exists: choose another folder or remove it", folder=folder)
        )
    values = {
        "name": name,
        "package": f"crm_{name}",
        "dist": f"crm-{name.replace('_', '-')}",
        "title": name.replace("_", " ").capitalize(),
    }
    templates = resources.files(__package__) / "templates"
    written = []
    for source, target in FILES.items():
        path = folder / Template(target).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = Template((templates / source).read_text(encoding="utf-8")).substitute(values)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
