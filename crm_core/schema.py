"""Creating and upgrading the database schema through alembic: the core's and the plugins'.

The core's revisions live in ``crm_core/migrations/versions``. A plugin that
owns tables registers a folder of its own revisions
(``crm_register_migrations``); they form a version branch labelled with the
plugin's name and rooted at nothing (``down_revision = None``). ``branches``
below maps each such plugin to its folder.

An upgrade brings the core to its head first and then each plugin's branch,
so a plugin's revisions may use every core table. Plugin revisions do not
``depends_on`` core revisions: alembic would then keep only the plugin's row
in ``alembic_version``, and with the plugin disabled the core's revision
could no longer be read.

alembic is imported by the functions that use it: a command that only reads
checks the schema with :func:`at_heads`, which needs no alembic at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from crm_core.errors import InvalidInput
from crm_core.i18n import _
from crm_core.revisions import CORE_VERSIONS, heads_current
from crm_core.views import View

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import Script, ScriptDirectory

MIGRATIONS = CORE_VERSIONS.parent
CORE_BRANCH = "core"
NO_BRANCHES: Mapping[str, Path] = {}


@dataclass
class BranchStatus(View):
    """Where one version branch (the core's or a plugin's) stands: ``crm db status``."""

    branch: str
    current: str | None
    head: str | None
    upgrade_needed: bool


def alembic_config(branches: Mapping[str, Path] = NO_BRANCHES) -> Config:
    """Return the alembic configuration of the core's migrations and the plugins' branches."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    folders = [CORE_VERSIONS, *branches.values()]
    config.set_main_option("version_locations", os.pathsep.join(str(f) for f in folders))
    return config


def scripts(branches: Mapping[str, Path] = NO_BRANCHES) -> ScriptDirectory:
    """The revisions of the core and the plugins, each plugin's checked to be its own branch."""
    from alembic.script import ScriptDirectory
    from alembic.util import to_tuple

    script = ScriptDirectory.from_config(alembic_config(branches))
    for plugin, folder in branches.items():
        revisions = [r for r in script.walk_revisions() if _folder(r) == folder]
        if not revisions:
            raise InvalidInput(
                _(
                    "plugin '{plugin}': no alembic revision in {folder}",
                    plugin=plugin,
                    folder=folder,
                )
            )
        for rev in revisions:
            links = to_tuple(rev.down_revision, default=()) + to_tuple(rev.dependencies, default=())
            stray = [d for d in links if _folder(_known(script, d)) != folder]
            if plugin not in rev.branch_labels or stray:
                raise InvalidInput(
                    _(
                        "plugin '{plugin}': revision {revision} ({path}) is not on the plugin's "
                        "own branch: its first revision needs down_revision = None and "
                        "branch_labels = ('{plugin}',), and none may depend on a revision outside "
                        "{folder} (the core is always upgraded first)",
                        plugin=plugin,
                        revision=rev.revision,
                        path=rev.path,
                        folder=folder,
                    )
                )
    return script


def _folder(revision: Script | None) -> Path | None:
    return Path(revision.path).parent.resolve() if revision is not None else None


def _known(script: ScriptDirectory, revision: str) -> Script | None:
    """The revision named ``revision``, or None when no installed code has it."""
    from alembic.util import CommandError

    try:
        return script.get_revision(revision)
    except CommandError:
        return None


def upgrade(
    engine: Engine, revision: str = "heads", branches: Mapping[str, Path] = NO_BRANCHES
) -> None:
    """Bring the schema of ``engine``'s database up to ``revision``.

    The default, ``heads``, is the core's head and then every plugin branch's;
    a plugin's revisions that create a table not named with its prefix undo
    the whole upgrade.
    """
    from alembic import command

    config = alembic_config(branches)
    script = scripts(branches)
    unknown = [h for h in _current_heads(engine) if _known(script, h) is None]
    if unknown:
        raise InvalidInput(
            _(
                "the database has revisions no installed plugin knows ({names}): install or "
                "enable the plugin that made them, then run `crm db upgrade`",
                names=", ".join(unknown),
            )
        )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if revision != "heads":
            command.upgrade(config, revision)
            return
        command.upgrade(config, str(head_revision()))
        for plugin in sorted(branches):
            before = set(inspect(connection).get_table_names())
            command.upgrade(config, f"{plugin}@head")
            made = set(inspect(connection).get_table_names()) - before
            stray = sorted(t for t in made if not t.startswith(f"{plugin}_"))
            if stray:  # raised inside the transaction: the whole upgrade is undone
                raise InvalidInput(
                    _(
                        "plugin '{plugin}': its migrations create tables not named {plugin}_…: "
                        "{names}",
                        plugin=plugin,
                        names=", ".join(stray),
                    )
                )


def _current_heads(engine: Engine) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_heads()


def status(engine: Engine, branches: Mapping[str, Path] = NO_BRANCHES) -> list[BranchStatus]:
    """Each branch's current and head revision: the core's first, then the plugins' by name.

    A revision in the database that no installed plugin knows is left out: the
    tables of a plugin that was removed stay, unused.
    """
    script = scripts(branches)
    folders = {CORE_BRANCH: CORE_VERSIONS.resolve(), **branches}
    current: dict[str, str] = {}
    for stored in _current_heads(engine):
        folder = _folder(_known(script, stored))
        current.update((b, stored) for b, f in folders.items() if f == folder)
    out = []
    heads: dict[str, str | None] = {CORE_BRANCH: head_revision()}
    heads.update((p, _head_of(script, p)) for p in sorted(branches))
    for branch, head in heads.items():
        now = current.get(branch)
        out.append(BranchStatus(branch, now, head, now != head))
    return out


def _head_of(script: ScriptDirectory, plugin: str) -> str | None:
    head = script.get_revision(f"{plugin}@head")
    return head.revision if head is not None else None


def current_revision(engine: Engine) -> str | None:
    """Return the core's schema revision of the database, or None when it has none."""
    from alembic.script import ScriptDirectory

    core = ScriptDirectory.from_config(alembic_config())
    return next((h for h in _current_heads(engine) if _known(core, h) is not None), None)


def head_revision() -> str | None:
    """Return the newest core revision the installed code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def at_heads(engine: Engine, branches: Mapping[str, Path] = NO_BRANCHES) -> bool:
    """True when the database is at the head of the core's and every plugin's branch.

    Without alembic (see :func:`crm_core.revisions.heads_current`). False means
    "not known to be current": the caller then asks alembic, which also says
    what is wrong.
    """
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version"))
            stored = {row[0] for row in rows}
    except DBAPIError:
        return False
    return heads_current(stored, branches)
