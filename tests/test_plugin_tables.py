"""Plugin-owned tables: each plugin's alembic branch, upgraded, reported and checked on open."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from crm_core import hookimpl, schema, testing
from crm_core.api import Crm, InvalidInput
from crm_core.cli.main import app
from crm_core.db import make_engine

VERSIONS = Path(__file__).parent / "plugin_tables"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


class Tables:
    """A plugin that owns the table ``tabletest_visit`` through two revisions."""

    def __init__(self, folder: Path = VERSIONS) -> None:
        self.folder = folder

    @hookimpl
    def crm_register_migrations(self, register: Callable[..., None]) -> None:
        register(self.folder)


@pytest.fixture(params=BACKENDS)
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, of its own (migrations are what is tested)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.db'}"
        return
    with testing.pg_database("crm_tables") as url:
        yield url


def _open(url: str, folder: Path = VERSIONS) -> Crm:
    return Crm.open(url, extra_plugins=[("tabletest", Tables(folder))])


def _columns(crm: Crm) -> list[str]:
    return [c["name"] for c in inspect(crm.engine).get_columns("tabletest_visit")]


# The branches these tests are about; the installed plugins' own (b2b_accounts…) are left out.
WATCHED = ("core", "tabletest")


def _status(crm: Crm) -> list[tuple[str, str | None, str | None, bool]]:
    return [
        (b.branch, b.current, b.head, b.upgrade_needed)
        for b in crm.schema_status()
        if b.branch in WATCHED
    ]


def test_init_creates_the_plugins_table_and_status_shows_its_branch(blank_url: str) -> None:
    crm = _open(blank_url)
    try:
        crm.init("admin")
        assert _columns(crm) == ["id", "record_id", "room", "minutes"]
        assert _status(crm) == [
            ("core", "0010", "0010", False),
            ("tabletest", "tabletest_0002", "tabletest_0002", False),
        ]
        assert schema.current_revision(crm.engine) == schema.head_revision()
        assert crm.list_users("admin")[0].name == "admin"
    finally:
        crm.close()


def test_a_branch_behind_refuses_until_crm_db_upgrade(blank_url: str) -> None:
    # the plugin's first version was installed: the core's and installed plugins' heads,
    # then tabletest_0001
    bare = Crm.open(blank_url)
    bare.upgrade()
    installed = dict(bare.registry.migrations)
    bare.close()
    engine = make_engine(blank_url)
    schema.upgrade(engine, "tabletest_0001", {**installed, "tabletest": VERSIONS})
    engine.dispose()
    crm = _open(blank_url)
    try:
        assert _status(crm)[1] == ("tabletest", "tabletest_0001", "tabletest_0002", True)
        with pytest.raises(InvalidInput, match=r"plugin 'tabletest' are at tabletest_0001.*"
                           r"needs tabletest_0002: run `crm db upgrade`"):  # fmt: skip
            crm.list_users("admin")
        crm.init("admin")
        assert _columns(crm) == ["id", "record_id", "room", "minutes"]
        assert not any(b.upgrade_needed for b in crm.schema_status())
    finally:
        crm.close()


def test_a_crm_database_without_the_plugins_branch_needs_an_upgrade(blank_url: str) -> None:
    bare = Crm.open(blank_url)
    bare.init("admin")
    bare.close()
    crm = _open(blank_url)
    try:
        assert _status(crm)[1] == ("tabletest", None, "tabletest_0002", True)
        with pytest.raises(InvalidInput, match="at nothing, this crm needs tabletest_0002"):
            crm.list_users("admin")
        crm.upgrade()
        assert crm.list_users("admin")[0].name == "admin"
    finally:
        crm.close()


def test_a_removed_plugins_revisions_block_only_the_upgrade(blank_url: str) -> None:
    crm = _open(blank_url)
    crm.init("admin")
    crm.close()
    bare = Crm.open(blank_url)
    try:
        assert _status(bare) == [("core", "0010", "0010", False)]
        assert bare.list_users("admin")[0].name == "admin"
        with pytest.raises(InvalidInput, match=r"revisions no installed plugin knows"):
            bare.upgrade()
    finally:
        bare.close()


def test_a_revision_off_the_plugins_branch_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "versions"
    folder.mkdir()
    first = (VERSIONS / "tabletest_0001_visits.py").read_text(encoding="utf-8")
    (folder / "r1.py").write_text(first.replace('("tabletest",)', "None"), encoding="utf-8")
    crm = _open(f"sqlite:///{tmp_path / 'crm.db'}", folder)
    try:
        with pytest.raises(InvalidInput, match=r"revision tabletest_0001 .* branch_labels"):
            crm.init("admin")
    finally:
        crm.close()


def test_a_table_without_the_plugins_prefix_undoes_the_upgrade(
    blank_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "versions"
    folder.mkdir()
    first = (VERSIONS / "tabletest_0001_visits.py").read_text(encoding="utf-8")
    (folder / "r1.py").write_text(first.replace('"tabletest_visit"', '"visit"'), encoding="utf-8")
    crm = _open(blank_url, folder)
    try:
        with pytest.raises(InvalidInput, match="tables not named tabletest_…: visit"):
            crm.init("admin")
        assert inspect(crm.engine).get_table_names() == []
    finally:
        crm.close()


@pytest.mark.postgresql
def test_empty_pg_empties_the_plugins_tables_too() -> None:
    with testing.pg_database("crm_tables") as url:
        crm = _open(url)
        try:
            crm.init("admin")
            rid = crm.add_record("admin", "member", {"name": "Li"}).record.id
            with crm.engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO tabletest_visit (record_id, room) VALUES (:r, 'gym')"),
                    {"r": rid},
                )
            testing.empty_pg(url)
            with crm.engine.connect() as conn:
                counts = [
                    conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                    for t in ("tabletest_visit", "record", "crm_user")
                ]
            assert counts == [0, 0, 0]
        finally:
            crm.close()


def test_crm_db_status_lists_the_core_branch(db_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--db", db_url, "db", "status", "--json"])
    assert result.exit_code == 0, result.output
    branches = [b for b in json.loads(result.output) if b["branch"] in WATCHED]
    assert branches == [
        {"branch": "core", "current": "0010", "head": "0010", "upgrade_needed": False}
    ]
    table = runner.invoke(app, ["--db", db_url, "db", "status"])
    assert "core" in table.output and "0010" in table.output and "no" in table.output
