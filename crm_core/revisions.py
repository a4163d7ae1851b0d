"""Where the schema's revisions stand, read without alembic or SQLAlchemy.

The core's revisions live in ``crm_core/migrations/versions``; a plugin that
owns tables registers a folder of its own (``crm_register_migrations``). A
command that only reads asks :func:`heads_current` whether the database is at
every head, from the revision files' ``revision`` and ``down_revision`` lines
and the rows of ``alembic_version``; :mod:`crm_core.schema` asks alembic
whenever the answer is not a plain yes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from crm_core.errors import RegistrationError
from crm_core.plugins import PluginHost

CORE_VERSIONS = Path(__file__).parent / "migrations" / "versions"

# A revision file's own id and its parent, as alembic's template writes them.
REVISION = re.compile(r"""^revision\b[^=\n]*=\s*["']([^"'\n]+)["']\s*$""", re.M)
DOWN_REVISION = re.compile(r"""^down_revision\b[^=\n]*=\s*(?:["']([^"'\n]+)["']|None)\s*$""", re.M)


def plugin_migrations(host: PluginHost) -> dict[str, Path]:
    """Each plugin's folder of revisions, as its ``crm_register_migrations`` gives it."""
    folders: dict[str, Path] = {}

    def for_plugin(plugin: str) -> dict[str, Callable[..., None]]:
        def register(versions: str | Path) -> None:
            folder = Path(versions)
            if plugin in folders:
                raise RegistrationError(f"plugin '{plugin}' registered migrations twice")
            if not folder.is_dir():
                raise RegistrationError(f"plugin '{plugin}': no migrations folder {folder}")
            folders[plugin] = folder.resolve()

        return {"register": register}

    host.call_each("crm_register_migrations", for_plugin)
    return folders


def heads_current(stored: Collection[str], branches: Mapping[str, Path]) -> bool:
    """True when the ``stored`` revisions are the heads of the core's and every branch's.

    False means "not known to be current": a revision file this reading does
    not understand, a branch with two heads, a missing or an old revision. A
    stored revision of no installed branch is ignored (a removed plugin's).
    """
    known: set[str] = set()
    heads: set[str] = set()
    for folder in [CORE_VERSIONS, *branches.values()]:
        graph = _revision_graph(Path(folder))
        if graph is None:
            return False
        tips = set(graph) - {parent for parent in graph.values() if parent}
        if len(tips) != 1:
            return False
        known |= set(graph)
        heads |= tips
    stored = set(stored)
    return heads <= stored and not (stored - heads) & known


def _revision_graph(folder: Path) -> dict[str, str | None] | None:
    """``{revision: down_revision}`` of a folder's files; None when a file is not that simple."""
    graph: dict[str, str | None] = {}
    for path in folder.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = REVISION.findall(source), DOWN_REVISION.findall(source)
        if path.name == "__init__.py" and not revision:
            continue
        if len(revision) != 1 or len(down) != 1:
            return None
        graph[revision[0]] = down[0] or None
    return graph
