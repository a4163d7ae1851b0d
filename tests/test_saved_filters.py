"""Each user's saved list filters: saved, replaced, listed, deleted, never another's."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from crm_core.api import Crm, InvalidInput, NotFound
from crm_core.cli.main import app


def test_filters_are_saved_replaced_and_deleted_per_user(people: Crm) -> None:
    people.save_filter(
        "alice", "new east", {"kind": "lead", "stage": "new", "where": "region=east"}
    )
    people.save_filter("alice", "idle", {"kind": "lead", "sort": "idle", "search": ""})
    people.save_filter("bob", "mine", {"kind": "lead", "owner": "bob"})
    mine = people.list_filters("alice")
    assert [(f.name, f.filters) for f in mine] == [
        ("idle", {"kind": "lead", "sort": "idle"}),  # empty settings are not kept
        ("new east", {"kind": "lead", "stage": "new", "where": "region=east"}),
    ]
    again = people.save_filter("alice", " idle ", {"kind": "lead", "sort": "oldest"})
    assert again.id == mine[0].id and again.filters == {"kind": "lead", "sort": "oldest"}
    assert [f.name for f in people.list_filters("bob")] == ["mine"]
    people.delete_filter("alice", "idle")
    assert [f.name for f in people.list_filters("alice")] == ["new east"]
    with pytest.raises(NotFound):
        people.delete_filter("alice", "mine")  # bob's, not hers
    assert [f.name for f in people.list_filters("bob")] == ["mine"]


@pytest.mark.parametrize(
    ("name", "filters", "message"),
    [
        ("", {"kind": "lead"}, "needs a name"),
        ("x" * 61, {"kind": "lead"}, "at most 60"),
        ("a", {"stage": "new"}, "names the kind"),
        ("a", {"kind": "lead", "colour": "red"}, "cannot hold colour"),
        ("a", {"kind": "lead", "stage": 3}, "must be a text"),
    ],
)
def test_bad_filters_are_refused(people: Crm, name: str, filters: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        people.save_filter("alice", name, filters)
    assert people.list_filters("alice") == []


def test_crm_filter_save_list_delete(people: Crm, db_url: str) -> None:
    runner = CliRunner()
    base = ["--db", db_url, "--as", "alice", "filter"]
    saved = runner.invoke(app, [*base, "save", "hot", "--kind", "lead", "--stage", "contacted"])
    assert saved.exit_code == 0, saved.output
    listed = runner.invoke(app, [*base, "list", "--json"])
    assert [(f["name"], f["filters"]) for f in json.loads(listed.output)] == [
        ("hot", {"kind": "lead", "stage": "contacted"})
    ]
    table = runner.invoke(app, [*base, "list"])
    assert "1" in table.output and "kind=lead, stage=contacted" in table.output
    unknown = runner.invoke(app, [*base, "save", "x", "--kind", "nope"])
    assert unknown.exit_code != 0 and "Traceback" not in unknown.output
    gone = runner.invoke(app, [*base, "delete", "hot"])
    assert gone.exit_code == 0, gone.output
    missing = runner.invoke(app, [*base, "delete", "hot"])
    assert missing.exit_code != 0 and "no saved filter 'hot'" in missing.output
