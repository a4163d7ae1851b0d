"""``crm record show`` through sqlite3 or psycopg gives what the API gives, refusals included."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from crm_core import quickread
from crm_core.api import Crm, CrmError, RecordView
from crm_core.testing import fresh_crm, invoke_cli

ACTORS = ["admin", "mia", "alice", "bob", "carol", "gone", "nobody"]
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


def _fill(crm: Crm) -> dict[str, int]:
    """Every relation a reader can have to a record: own, team, pool, other."""
    crm.add_team("admin", "east")
    crm.add_team("admin", "west")
    for name, role, team in [("alice", "operator", "east"), ("bob", "operator", "east"),
                             ("carol", "operator", "west"), ("mia", "manager", "east"),
                             ("gone", "operator", "east")]:  # fmt: skip
        crm.add_user("admin", name, role, team)
    crm.add_pool("admin", "east-pool", ["alice", "bob"], ["mia"])
    crm.add_pool("admin", "west-pool", ["carol"], [])
    ids = {
        name: crm.add_record(name, "lead", {"name": f"{name}'s", "email": f"{name}@x.org",
                                            "budget": 1054.5}).record.id
        for name in ("alice", "bob", "carol", "mia")
    }  # fmt: skip
    for pool in ("east-pool", "west-pool"):
        added = crm.add_record("admin", "lead", {"name": pool, "company": f"{pool} Ltd"})
        crm.release("admin", added.record.id, reason="test", pool=pool)
        ids[pool] = added.record.id
    crm.archive_record("alice", ids["alice"])
    crm.set_user_active("admin", "gone", False)
    return ids


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[str, dict[str, int]]]:
    """A SQLite CRM filled by :func:`_fill`."""
    with fresh_crm(tmp_path, entry_points=True) as crm:
        yield f"sqlite:///{tmp_path / 'crm.db'}", _fill(crm)


@pytest.fixture(params=BACKENDS)
def any_shop(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, dict[str, int]]]:
    """The shop on SQLite, then on PostgreSQL (read through psycopg there)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("shop")
        return
    url: str = request.getfixturevalue("pg_database")
    request.getfixturevalue("reset_pg")(url)
    crm = Crm.open(url, entry_points=True)
    try:
        yield url, _fill(crm)
    finally:
        crm.close()


def _outcome(read: Callable[[], RecordView | None]) -> tuple[str, object]:
    try:
        view = read()
    except CrmError as error:
        return type(error).__name__, str(error)
    assert isinstance(view, RecordView)
    return "view", view


def test_every_reader_gets_what_the_api_gives(any_shop: tuple[str, dict[str, int]]) -> None:
    url, ids = any_shop
    crm = Crm.open(url)
    try:
        outcomes = set()
        for actor in ACTORS:
            for record_id in [*ids.values(), 999]:
                api = _outcome(partial(crm.get_record, actor, record_id))
                quick = _outcome(partial(quickread.get_record, url, actor, record_id))
                assert quick == api, (actor, record_id)
                outcomes.add(api[0])
    finally:
        crm.close()
    # The matrix reached every answer: a view, a missing record or user, a refusal.
    assert outcomes == {"view", "NotFound", "PermissionDenied"}


def test_it_leaves_to_the_api_what_it_cannot_answer(
    shop: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    url, ids = shop
    record_id = ids["bob"]
    assert quickread.get_record(url, "admin", record_id) is not None
    assert quickread.get_record(f"sqlite:///{tmp_path / 'none.db'}", "admin", record_id) is None
    assert quickread.get_record("sqlite://", "admin", record_id) is None
    assert quickread.get_record(f"{url}?timeout=5", "admin", record_id) is None
    assert quickread.get_record("postgresql://x@127.0.0.1/none", "admin", record_id) is None
    assert quickread.get_record("postgresql://x@127.0.0.1:1/crm", "admin", record_id) is None
    assert quickread.get_record("mysql://x@127.0.0.1/crm", "admin", record_id) is None
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE alembic_version SET version_num = '0001' WHERE version_num GLOB '[0-9]*'"
        )
    assert quickread.get_record(url, "admin", record_id) is None


def test_a_plugin_branch_behind_its_head_is_left_to_the_api(
    shop: tuple[str, dict[str, int]],
) -> None:
    url, ids = shop
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM alembic_version WHERE version_num LIKE 'b2b_accounts%'")
    assert quickread.get_record(url, "admin", ids["bob"]) is None
    result = invoke_cli(["--db", url, "--as", "admin", "record", "show", str(ids["bob"])],
                        entry_points=True)  # fmt: skip
    assert result.exit_code == 2
    assert "crm db upgrade" in result.stderr


def test_crm_record_show_prints_the_same_through_either_path(
    any_shop: tuple[str, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ids = any_shop
    args = ["--db", url, "--as", "mia", "record", "show", str(ids["bob"])]
    for extra in ([], ["--json"]):
        quick = invoke_cli([*args, *extra], entry_points=True)
        with monkeypatch.context() as patch:
            patch.setattr(quickread, "get_record", lambda *_args, **_kw: None)
            slow = invoke_cli([*args, *extra], entry_points=True)
        assert quick.exit_code == slow.exit_code == 0
        assert quick.stdout == slow.stdout
        assert "1054.5" in quick.stdout
