"""``crm export --all DIR``: the whole CRM as CSV files and the bundle.yaml that imports them.

A small CRM is built through the API on the ``people`` fixture (teams east
and west; operators alice, bob (east), carol (west); manager mia; pool
east-pool), moving the test clock between steps so every time is known. The
keys and fields the API cannot set (a source system's ``external_id``, a
team's region) are set in SQL, as an import will set them; the journal does not track them.
"""

from __future__ import annotations

import csv
import io
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from crm_core import testing
from crm_core.api import Crm
from crm_core.cli.main import app
from crm_core.clock import ManualClock
from crm_core.errors import InvalidInput, PermissionDenied
from crm_core.testing import CLEAN_ENV
from crm_core.transfer.cells import cell, money

ADMIN = "admin"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the clock fixture's start
LEADS_FLOW = {
    "workflow": "leads",
    "version": 1,
    "kind": "lead",
    "stages": [
        {"id": "new"},
        {"id": "contacted"},
        {"id": "won", "outcome": "won"},
        {"id": "lost", "outcome": "lost", "lost_reasons": ["no_budget"]},
    ],
}


def iso(moment: datetime) -> str:
    """How the export writes a time."""
    return moment.isoformat()


def rows_of(path: Path) -> list[list[str]]:
    """A CSV file's rows, header first."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


class Built:
    """The CRM the tests export, with the ids and times they check against."""

    def __init__(self, crm: Crm, clock: ManualClock, tmp_path: Path) -> None:
        self.crm = crm
        flow = tmp_path / "leads.yaml"
        flow.write_text(yaml.safe_dump(LEADS_FLOW, sort_keys=False), encoding="utf-8")
        crm.apply_workflow(ADMIN, flow)
        add = crm.add_record
        self.won = add(ADMIN, "lead", {"name": "Li", "phone": "13800000001", "budget": 1054.0},
                       owner="alice").record.id  # fmt: skip
        self.lost = add(ADMIN, "lead", {"name": "Wu", "phone": "13800000002", "budget": 1054.5},
                        owner="bob").record.id  # fmt: skip
        self.gone = add(ADMIN, "lead", {"name": "Old", "phone": "13800000003"}).record.id
        self.pooled = add(ADMIN, "lead", {"name": "Ma", "phone": "13800000004"},
                          owner="alice").record.id  # fmt: skip
        self.account = add(ADMIN, "account", {"company": "Acme", "key_account": True},
                           owner="carol").record.id  # fmt: skip
        self.t1 = clock.advance(timedelta(days=1))
        crm.move_record(ADMIN, self.won, "contacted")
        crm.move_record(ADMIN, self.lost, "lost", reason="no_budget")
        crm.release("alice", self.pooled, "not interested", pool="east-pool")
        self.t2 = clock.advance(timedelta(days=1, hours=3, minutes=7))
        crm.move_record(ADMIN, self.won, "won")
        self.contact = crm.add_contact(ADMIN, self.account, "Bob", email="bob@acme.example").id
        crm.add_contact(ADMIN, self.gone, "Gone")  # archived with its record below
        self.deal_won = crm.add_deal(ADMIN, self.account, "Big", amount="1054", owner="bob").id
        self.deal_lost = crm.add_deal(ADMIN, self.account, "Half", amount="1054.50").id
        self.deal_open = crm.add_deal(
            ADMIN, self.account, "Open", expected_close=date(2026, 6, 30)
        ).id
        self.deal_lead = crm.add_deal(ADMIN, self.won, "Lead deal", amount="7", currency="usd").id
        self.call_at = self.t2 - timedelta(hours=2)
        crm.log_activity(ADMIN, self.won, "call", note="first, call", at=self.call_at)
        crm.add_task(ADMIN, self.won, self.t2 + timedelta(days=2), "call back", assignee="alice")
        self.free_task = crm.add_task(
            ADMIN, None, self.t2 + timedelta(days=5), "plan", assignee="bob"
        ).id
        self.t3 = clock.advance(timedelta(hours=1))
        crm.move_deal(ADMIN, self.deal_won, "won")
        crm.move_deal(ADMIN, self.deal_lost, "lost")
        crm.complete_task(ADMIN, self.free_task)
        crm.archive_record(ADMIN, self.gone)
        # What an import of the source system's keys and dates sets (the API cannot yet).
        with crm.engine.begin() as conn:
            conn.execute(
                text("UPDATE team SET external_id = 'T-E', region = 'East' WHERE name = 'east'")
            )
            conn.execute(text("UPDATE crm_user SET external_id = 'U-1' WHERE name = 'alice'"))
            conn.execute(
                text("UPDATE record SET external_id = 'ACC-1' WHERE id = :i"), {"i": self.account}
            )
            conn.execute(
                text("UPDATE deal SET external_id = 'OPP-1' WHERE id = :i"), {"i": self.deal_won}
            )


@pytest.fixture
def built(people: Crm, clock: ManualClock, tmp_path: Path) -> Built:
    """The CRM every test here exports."""
    return Built(people, clock, tmp_path)


def test_every_file_holds_its_rows_with_keys_and_exact_values(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    result = built.crm.export_all(ADMIN, out)
    b = built
    # fmt: off
    expected: dict[str, list[list[str]]] = {
        "teams.csv": [
            ["external_id", "name", "region"],
            ["T-E", "east", "East"],
            ["crm:2", "west", ""],
        ],
        "users.csv": [
            ["external_id", "name", "role", "team", "email", "phone", "active"],
            ["crm:1", "admin", "admin", "", "", "", "true"],
            ["U-1", "alice", "operator", "T-E", "", "", "true"],
            ["crm:3", "bob", "operator", "T-E", "", "", "true"],
            ["crm:4", "carol", "operator", "crm:2", "", "", "true"],
            ["crm:5", "mia", "manager", "T-E", "", "", "true"],
        ],
        "records-account.csv": [
            ["external_id", "title", "company", "industry", "size", "region", "type", "margin",
             "phone", "email", "key_account", "parent_account_id", "cross_sell_deals",
             "up_sell_deals", "stage", "owner", "pool", "created_at", "stage_entered_at",
             "last_activity_at"],
            ["ACC-1", "Acme", "Acme", "", "", "", "end_customer", "", "", "", "true", "", "", "",
             "", "carol", "", iso(T0), iso(T0), ""],
        ],
        "records-lead.csv": [
            ["external_id", "title", "name", "company", "phone", "email", "source", "referrer_id",
             "region", "budget", "converted_to", "stage", "owner", "pool", "created_at",
             "stage_entered_at", "last_activity_at"],
            [f"crm:{b.won}", "Li", "Li", "", "13800000001", "", "other", "", "", "1054", "",
             "won", "alice", "", iso(T0), iso(b.t2), iso(b.call_at)],
            [f"crm:{b.lost}", "Wu", "Wu", "", "13800000002", "", "other", "", "", "1054.5", "",
             "lost", "bob", "", iso(T0), iso(b.t1), ""],
            [f"crm:{b.pooled}", "Ma", "Ma", "", "13800000004", "", "other", "", "", "", "",
             "new", "", "east-pool", iso(T0), iso(T0), ""],
        ],
        "contacts.csv": [
            ["external_id", "record", "name", "phone", "email", "position"],
            [f"crm:{b.contact}", "ACC-1", "Bob", "", "bob@acme.example", ""],
        ],
        "deals-account.csv": [
            ["external_id", "record", "title", "owner", "stage", "amount", "currency",
             "created_at", "stage_entered_at", "closed_at", "expected_close"],
            ["OPP-1", "ACC-1", "Big", "bob", "won", "1054.00", "CNY", iso(b.t2), iso(b.t3),
             iso(b.t3), ""],
            [f"crm:{b.deal_lost}", "ACC-1", "Half", "carol", "lost", "1054.50", "CNY", iso(b.t2),
             iso(b.t3), iso(b.t3), ""],
            [f"crm:{b.deal_open}", "ACC-1", "Open", "carol", "open", "0.00", "CNY", iso(b.t2),
             iso(b.t2), "", "2026-06-30"],
        ],
        "deals-lead.csv": [
            ["external_id", "record", "title", "owner", "stage", "amount", "currency",
             "created_at", "stage_entered_at", "closed_at", "expected_close"],
            [f"crm:{b.deal_lead}", f"crm:{b.won}", "Lead deal", "alice", "open", "7.00", "USD",
             iso(b.t2), iso(b.t2), "", ""],
        ],
        "activities.csv": [
            ["external_id", "record", "type", "note", "actor", "occurred_at"],
            ["crm:1", f"crm:{b.won}", "call", "first, call", "admin", iso(b.call_at)],
        ],
        "tasks.csv": [  # the one on no record goes with the others
            ["external_id", "record", "assignee", "due_at", "note", "done_at"],
            [f"crm:{b.free_task - 1}", f"crm:{b.won}", "alice", iso(b.t2 + timedelta(days=2)),
             "call back", ""],
            [f"crm:{b.free_task}", "", "bob", iso(b.t2 + timedelta(days=5)), "plan", iso(b.t3)],
        ],
        "stage_history-lead.csv": [  # record by record, each in time order
            ["entity", "kind", "of", "stage", "at"],
            ["record", "lead", f"crm:{b.won}", "new", iso(T0)],
            ["record", "lead", f"crm:{b.won}", "contacted", iso(b.t1)],
            ["record", "lead", f"crm:{b.won}", "won", iso(b.t2)],
            ["record", "lead", f"crm:{b.lost}", "new", iso(T0)],
            ["record", "lead", f"crm:{b.lost}", "lost", iso(b.t1)],
            ["record", "lead", f"crm:{b.pooled}", "new", iso(T0)],
        ],
        "stage_history-deals.csv": [
            ["entity", "kind", "of", "stage", "at"],
            ["deal", "", "OPP-1", "open", iso(b.t2)],
            ["deal", "", "OPP-1", "won", iso(b.t3)],
            ["deal", "", f"crm:{b.deal_lost}", "open", iso(b.t2)],
            ["deal", "", f"crm:{b.deal_lost}", "lost", iso(b.t3)],
            ["deal", "", f"crm:{b.deal_open}", "open", iso(b.t2)],
            ["deal", "", f"crm:{b.deal_lead}", "open", iso(b.t2)],
        ],
    }
    # fmt: on
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted([*expected, "bundle.yaml"])
    for name, rows in expected.items():
        assert rows_of(out / name) == rows, name
    assert [(f.path, f.rows) for f in result.files] == [
        ("teams.csv", 2), ("users.csv", 5), ("records-account.csv", 1), ("records-lead.csv", 3),
        ("contacts.csv", 1), ("deals-account.csv", 3), ("deals-lead.csv", 1),
        ("activities.csv", 1), ("tasks.csv", 2), ("stage_history-lead.csv", 6),
        ("stage_history-deals.csv", 6),
    ]  # fmt: skip
    assert result.spec == str(out / "bundle.yaml")


def test_the_bundle_spec_names_every_file_in_import_order_with_identity_maps(
    built: Built, tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    result = built.crm.export_all(ADMIN, out)
    spec = yaml.safe_load((out / "bundle.yaml").read_text("utf-8"))
    assert spec["version"] == 1
    assert spec["defaults"] == {
        "encoding": "utf-8", "delimiter": ",", "timezone": "UTC", "owners": "name",
    }  # fmt: skip
    files = spec["files"]
    assert [f["path"] for f in files] == [f.path for f in result.files]
    assert [(f["entity"], f.get("kind")) for f in files] == [
        ("team", None), ("user", None), ("record", "account"), ("record", "lead"),
        ("contact", None), ("deal", None), ("deal", None), ("activity", None), ("task", None),
        ("stage_history", None), ("stage_history", None),
    ]  # fmt: skip
    for entry in files:
        header = rows_of(out / entry["path"])[0]
        if entry["entity"] == "stage_history":  # its kind is its link's
            header.remove("kind")
        assert entry["columns"] == {c: c for c in header}, entry["path"]
        assert list(entry["columns"]) == header
    keys = {f["path"]: f.get("key") for f in files}
    assert keys.pop("users.csv") == "name"  # the new database's admin has no external_id
    assert keys.pop("stage_history-lead.csv") is keys.pop("stage_history-deals.csv") is None
    assert set(keys.values()) == {"external_id"}
    links = {f["path"]: f.get("links") for f in files}
    by_key = {"by": "external_id"}
    assert links == {
        "teams.csv": None,
        "users.csv": {"team": by_key},
        "records-account.csv": None,
        "records-lead.csv": None,
        "contacts.csv": {"record": {"kind": "account", **by_key}},
        "deals-account.csv": {"record": {"kind": "account", **by_key}},
        "deals-lead.csv": {"record": {"kind": "lead", **by_key}},
        "activities.csv": {"record": {"kind": "lead", **by_key}},
        "tasks.csv": {"record": {"kind": "lead", **by_key}},
        "stage_history-lead.csv": {"of": {"kind": "lead", **by_key}},
        "stage_history-deals.csv": {"of": by_key},
    }
    defaults = {f["path"]: f["defaults"] for f in files if "defaults" in f}
    assert defaults == {
        "stage_history-lead.csv": {"entity": "record"},
        "stage_history-deals.csv": {"entity": "deal"},
    }


def test_two_exports_of_the_same_data_are_byte_identical(built: Built, tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    built.crm.export_all(ADMIN, first)
    built.crm.export_all(ADMIN, second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_an_empty_crm_gives_its_teams_and_users_only(crm: Crm, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "bundle"
    result = crm.export_all(ADMIN, out)
    assert [(f.path, f.rows) for f in result.files] == [("teams.csv", 0), ("users.csv", 1)]
    assert sorted(p.name for p in out.iterdir()) == ["bundle.yaml", "teams.csv", "users.csv"]
    assert rows_of(out / "teams.csv") == [["external_id", "name", "region"]]


def test_tasks_on_no_record_link_to_the_first_kind(
    crm: Crm, clock: ManualClock, tmp_path: Path
) -> None:
    crm.add_record(ADMIN, "member", {"name": "Ann", "phone": "13800000001"})
    crm.add_record(ADMIN, "lead", {"name": "Li", "phone": "13800000002"})
    task = crm.add_task(ADMIN, None, clock() + timedelta(days=1), "plan").id
    crm.export_all(ADMIN, tmp_path / "out")
    spec = yaml.safe_load((tmp_path / "out" / "bundle.yaml").read_text("utf-8"))
    tasks = [f for f in spec["files"] if f["entity"] == "task"]
    assert tasks == [{"path": "tasks.csv", "entity": "task", "key": "external_id",
                      "columns": {c: c for c in rows_of(tmp_path / "out" / "tasks.csv")[0]},
                      "links": {"record": {"kind": "lead", "by": "external_id"}}}]  # fmt: skip
    assert rows_of(tmp_path / "out" / "tasks.csv")[1][:3] == [f"crm:{task}", "", "admin"]


def test_only_admins_export_everything(built: Built, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied, match="only an admin may export the whole CRM"):
        built.crm.export_all("mia", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_folder_with_files_is_refused_unless_forced(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InvalidInput, match="is not empty: choose an empty folder or add --force"):
        built.crm.export_all(ADMIN, out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    built.crm.export_all(ADMIN, out, force=True)
    assert (out / "notes.txt").read_text("utf-8") == "mine"
    assert (out / "bundle.yaml").exists() and not list(out.glob("*.part"))
    with pytest.raises(InvalidInput, match="is a file"):
        built.crm.export_all(ADMIN, out / "notes.txt")


def test_a_failed_export_leaves_no_files(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_core.transfer import export_all

    def full_disk(*_: Any) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_all, "bundle_yaml", full_disk)
    out = tmp_path / "out"
    with pytest.raises(InvalidInput, match=r"^cannot write .*bundle\.yaml: No space left"):
        built.crm.export_all(ADMIN, out)
    assert not out.exists()
    out.mkdir()
    with pytest.raises(InvalidInput, match="No space left"):
        built.crm.export_all(ADMIN, out)
    assert list(out.iterdir()) == []


# -- the shared cell formatter -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1054.0, "1054"),
        (1054.5, "1054.5"),
        (-3.0, "-3"),
        (1e20, "100000000000000000000"),
        (7, "7"),
        (True, "true"),
        (None, ""),
        (["a", "b"], '["a", "b"]'),
        (datetime(2026, 3, 2, 17, 0, tzinfo=UTC), "2026-03-02T17:00:00+00:00"),
        (date(2026, 6, 30), "2026-06-30"),
    ],
)
def test_a_cell_reads_back_as_its_value(value: Any, text: str) -> None:
    assert cell(value) == text


@pytest.mark.parametrize(
    ("minor", "text"),
    [(105400, "1054.00"), (105450, "1054.50"), (5, "0.05"), (-199, "-1.99"), (0, "0.00")],
)
def test_money_has_exactly_two_decimals(minor: int, text: str) -> None:
    assert money(minor) == text


def test_crm_export_kind_writes_whole_numbers_without_dot_zero(crm: Crm) -> None:
    crm.add_record(ADMIN, "lead", {"name": "Li", "phone": "13800000001", "budget": 1054.0})
    out = io.StringIO()
    crm.export_records(ADMIN, "lead", out, "csv")
    header, row = list(csv.reader(io.StringIO(out.getvalue())))
    assert row[header.index("budget")] == "1054"


# -- the command line ----------------------------------------------------------------


def invoke(db_url: str, *args: str, user: str = ADMIN) -> Any:
    """Run ``crm --db URL --as USER …``."""
    return CliRunner().invoke(app, ["--db", db_url, "--as", user, *args], env=CLEAN_ENV)


def test_cli_export_all(built: Built, db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    result = invoke(db_url, "export", "--all", str(out))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "teams.csv: 2 team row(s)"
    assert "records-lead.csv: 3 record row(s)" in lines
    assert lines[-1] == f"exported to {out}; import with `crm import {out / 'bundle.yaml'}`"
    assert rows_of(out / "teams.csv")[1] == ["T-E", "east", "East"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["export", "--all", "OUT"], 3, "only an admin may export the whole CRM"),
        (["export", "--all", "FULL"], 2, "is not empty: choose an empty folder or add --force"),
        (["export", "lead", "--all", "OUT"], 2, "--all exports every kind to its folder"),
        (["export", "--all", "OUT", "--out", "x.csv"], 2, "--all exports every kind"),
        (["export"], 2, "give the KIND to export, or --all DIR for everything"),
        (["export", "lead", "--force"], 2, "--force goes with --all DIR"),
    ],
)
def test_cli_bad_export_all_is_one_line_and_writes_nothing(
    built: Built, db_url: str, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("", encoding="utf-8")
    paths = {"OUT": str(tmp_path / "out"), "FULL": str(full)}
    user = "mia" if code == 3 else ADMIN
    result = invoke(db_url, *(paths.get(a, a) for a in args), user=user)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not (tmp_path / "out").exists() and sorted(p.name for p in full.iterdir()) == ["x"]


# -- the round trip through `crm import bundle.yaml` ----------------------------------

REPORTS = ["funnel", "time_in_stage", "win_rate_by_owner", "customer_growth"]


def figures(crm: Crm) -> list[Any]:
    """What the round trip must keep: the lead reports' rows."""
    return [crm.run_report(ADMIN, name, kind="lead").rows for name in REPORTS]


def test_the_bundle_imports_into_an_empty_crm_with_the_same_reports_and_export(
    built: Built, clock: ManualClock, tmp_path: Path
) -> None:
    b = built
    add_catalogue(b.crm, tmp_path / "catalogue")
    one, two = tmp_path / "one", tmp_path / "two"
    b.crm.export_all(ADMIN, one)
    assert (one / "deal_lines.csv").exists()
    with ExitStack() as stack:
        if b.crm.engine.dialect.name == "sqlite":
            url = f"sqlite:///{tmp_path / 'empty.db'}"
        else:
            url = stack.enter_context(testing.pg_database("crm_round_trip"))
        target = Crm.open(url, clock=clock)
        stack.callback(target.close)
        target.init(ADMIN)
        target.apply_workflow(ADMIN, tmp_path / "leads.yaml")
        target.add_pool(ADMIN, "east-pool")
        report = target.import_bundle(ADMIN, one / "bundle.yaml")
        assert [f.rejected for f in report.files] == [0] * len(report.files)
        target.export_all(ADMIN, two)
        names = sorted(p.name for p in one.iterdir())
        assert names == sorted(p.name for p in two.iterdir())
        for name in names:
            assert (two / name).read_text("utf-8") == (one / name).read_text("utf-8"), name
        assert figures(target) == figures(b.crm)
        assert target.verify_journal(ADMIN).ok


def add_catalogue(crm: Crm, folder: Path) -> None:
    """Import a product and a line of deal OPP-1 (b2b_accounts' entities; no API adds them)."""
    folder.mkdir()
    (folder / "products.csv").write_text(
        "external_id,name,code,list_price,currency\nP-1,GTX Pro,GTX,527,USD\n", encoding="utf-8"
    )
    (folder / "lines.csv").write_text(
        "deal,product,quantity,unit_price\nOPP-1,GTX Pro,2,527.00\n", encoding="utf-8"
    )
    (folder / "bundle.yaml").write_text(
        "version: 1\nfiles:\n  - {path: products.csv, entity: product}\n"
        "  - {path: lines.csv, entity: deal_line}\n",
        encoding="utf-8",
    )
    report = crm.import_bundle(ADMIN, folder / "bundle.yaml")
    assert [f.created for f in report.files] == [1, 1]


def test_plugin_entities_get_their_files_after_the_cores(built: Built, tmp_path: Path) -> None:
    add_catalogue(built.crm, tmp_path / "catalogue")
    out = tmp_path / "out"
    result = built.crm.export_all(ADMIN, out)
    assert [f.path for f in result.files][-2:] == ["products.csv", "deal_lines.csv"]
    header, *rows = rows_of(out / "products.csv")
    assert dict(zip(header, rows[0], strict=True)) == {
        "external_id": "P-1", "name": "GTX Pro", "code": "GTX", "series": "",
        "list_price": "527.00", "currency": "USD", "active": "true",
    }  # fmt: skip
    assert rows_of(out / "deal_lines.csv") == [
        ["deal", "product", "quantity", "unit_price", "amount"],
        ["OPP-1", "GTX Pro", "2", "527.00", "1054.00"],
    ]
    spec = yaml.safe_load((out / "bundle.yaml").read_text("utf-8"))
    assert spec["files"][-2:] == [
        {"path": "products.csv", "entity": "product", "key": "external_id",
         "columns": {c: c for c in header}},
        {"path": "deal_lines.csv", "entity": "deal_line",
         "columns": {c: c for c in ["deal", "product", "quantity", "unit_price", "amount"]}},
    ]  # fmt: skip
