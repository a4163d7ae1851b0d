"""Import and export: CSV and JSON Lines in, the same out, on SQLite and PostgreSQL.

Every test runs through the ``crm``/``people`` fixtures of ``conftest.py``
(teams east and west; operators alice, bob (east), carol (west); manager mia
(east); pool east-pool). Files are written to ``tmp_path``; a CSV file's first
data row is line 2 (line 1 is the header).
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from crm_core import records
from crm_core.api import Crm, Duplicate, ImportProgress, ImportReport
from crm_core.cli.main import app
from crm_core.dedupe import normalize_phone
from crm_core.errors import FieldError, InvalidInput, NotFound, PermissionDenied, PluginError
from crm_core.fields import Registry
from crm_core.plugins import PluginHost
from crm_core.transfer import fastkeys, writer

ADMIN = "admin"
HEADER = "name,phone,email,source,region,budget"
CLEAN_ENV: dict[str, str | None] = {
    "CRM_USER": None, "CRM_DATABASE_URL": None, "CRM_DISABLED_PLUGINS": None,
    "CRM_DEBUG": None, "COLUMNS": "200",
}  # fmt: skip


# -- helpers -------------------------------------------------------------------------


def write(path: Path, *lines: str, bom: bool = False) -> Path:
    """Write ``lines`` to ``path`` as UTF-8 (with a byte-order mark if asked)."""
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def jsonl(path: Path, *objects: Any) -> Path:
    """Write one JSON value per line."""
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects), "utf-8")
    return path


def errors_of(path: Path) -> list[dict[str, str]]:
    """The rows of an errors file."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows == [] or list(rows[0]) == ["line", "column", "field", "reason"]
    return rows


def leads(crm: Crm, actor: str = ADMIN) -> dict[str, Any]:
    """Live leads by name: (title, stage, owner, fields)."""
    rows = crm.list_records(actor, kind="lead", limit=1000)
    return {r.fields.get("name"): (r.title, r.stage, r.owner, r.fields) for r in rows}


def assert_replays(crm: Crm) -> None:
    """The journal alone rebuilds every record exactly."""
    assert crm.replay_journal(ADMIN) == crm.record_states(ADMIN)


def counts(report: ImportReport) -> tuple[int, int, int, int, int]:
    """(rows, created, merged, skipped, rejected)."""
    return report.rows, report.created, report.merged, report.skipped, report.rejected


def apply_workflow(crm: Crm, tmp_path: Path, assignment: dict[str, Any] | None = None) -> None:
    """Apply a small lead workflow: new, contacted, won, lost; optional assignment."""
    data: dict[str, Any] = {
        "workflow": "leads", "version": 1, "kind": "lead",
        "stages": [
            {"id": "new"}, {"id": "contacted"}, {"id": "won", "outcome": "won"},
            {"id": "lost", "outcome": "lost", "lost_reasons": ["no_budget"]},
        ],
    }  # fmt: skip
    if assignment:
        data["assignment"] = assignment
    path = tmp_path / "leads.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    crm.apply_workflow(ADMIN, path)


def invoke(db_url: str, *args: str, user: str | None = ADMIN) -> Any:
    """Run ``crm --db URL --as USER …``."""
    argv = ["--db", db_url, *(["--as", user] if user else []), *args]
    return CliRunner().invoke(app, argv, env=CLEAN_ENV)


def fails(db_url: str, code: int, *args: str, user: str = ADMIN) -> str:
    """A command that must fail with ``code``, one line on stderr and no traceback."""
    result = invoke(db_url, *args, user=user)
    assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return str(lines[0])


def snapshot(crm: Crm) -> tuple[Any, ...]:
    """What bad input must leave as it was."""
    return len(crm.journal(ADMIN, limit=10_000)), crm.record_states(ADMIN)


# -- reading, coercion and mapping ---------------------------------------------------


def test_csv_rows_become_typed_records_with_one_create_journal_row_each(
    people: Crm, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "leads.csv",
        HEADER + ",title",
        "张伟,138 1234 5678,ZW@Example.com,web,华东,300000,Zhang at Acme",
        '王芳,13900001111,,event,"华北, 北京",12.5,',
        "Li Na,,li@example.com,,,,",
        bom=True,
    )
    report = people.import_records(ADMIN, "lead", path)
    assert counts(report) == (3, 3, 0, 0, 0) and report.format == "csv" and report.batches == 1
    got = leads(people)
    assert got["张伟"] == ("Zhang at Acme", None, None, {
        "name": "张伟", "phone": "138 1234 5678", "email": "ZW@Example.com", "source": "web",
        "region": "华东", "budget": 300000.0,
    })  # fmt: skip
    assert got["王芳"][0] == "王芳" and got["王芳"][3]["region"] == "华北, 北京"
    assert got["王芳"][3]["budget"] == 12.5 and "email" not in got["王芳"][3]
    assert got["Li Na"][3] == {"name": "Li Na", "email": "li@example.com", "source": "other"}
    rows = [j for j in people.journal(ADMIN, limit=100) if j.entity == "record"]
    assert len(rows) == 3 and {j.action for j in rows} == {"create"}
    assert {(j.actor, j.cause) for j in rows} == {(ADMIN, "import:leads.csv")}
    # The same keys as add_record: the phone in another format is a duplicate.
    with pytest.raises(Duplicate):
        people.add_record(ADMIN, "lead", {"name": "x", "phone": "+86 138-1234-5678"})
    assert_replays(people)
    other = write(tmp_path / "leads.txt", "name,phone", "Z,13800000077")
    assert people.import_records(ADMIN, "lead", other, fmt="csv").created == 1


def test_jsonl_values_are_typed_already(people: Crm, tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "leads.ndjson",
        {"name": "A", "phone": "13800000001", "budget": 5, "referrer_id": None, "stage": None},
        {"name": "B", "phone": "13800000002", "budget": "5"},
        [1, 2],
    )
    path.write_text(path.read_text("utf-8") + "{not json\n\n", "utf-8")
    errors = tmp_path / "errors.csv"
    report = people.import_records(ADMIN, "lead", path, errors_path=errors)
    assert counts(report) == (4, 1, 0, 0, 3) and report.format == "jsonl"
    assert leads(people)["A"][3] == {"name": "A", "phone": "13800000001", "budget": 5,
                                     "source": "other"}  # fmt: skip
    found = [(e["line"], e["field"]) for e in errors_of(errors)]
    assert found == [("2", "budget"), ("3", ""), ("4", "")]
    assert "not JSON" in errors_of(errors)[2]["reason"]


def test_coercion_follows_set_rules_and_names_the_bad_field(people: Crm, tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.csv",
        "name,phone,visits,vip,plan,email",
        "Ann,13800000001,3,yes,yearly,ann@example.com",
        "Bob,13800000002,three,maybe,monthly,",
        "Cy,13800000003,,no,,",
    )
    errors = tmp_path / "e.csv"
    report = people.import_records(ADMIN, "member", path, errors_path=errors)
    assert counts(report) == (3, 2, 0, 0, 1)
    members = {r.fields["name"]: r.fields for r in people.list_records(ADMIN, kind="member")}
    assert members["Ann"] == {"name": "Ann", "phone": "13800000001", "visits": 3, "vip": True,
                              "plan": "yearly", "email": "ann@example.com"}  # fmt: skip
    assert members["Cy"] == {"name": "Cy", "phone": "13800000003", "vip": False, "plan": "monthly"}
    assert [(e["line"], e["column"], e["field"]) for e in errors_of(errors)] == [
        ("3", "visits", "visits"), ("3", "vip", "vip"),
    ]  # fmt: skip
    assert errors_of(errors)[0]["reason"] == "'three' is not a whole number"


def test_map_renames_and_ignores_columns(people: Crm, tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.csv",
        "Name,Tel,Notes,Subject,Who",
        "Zhao,13800000001,call back,Zhao Lei,alice",
    )
    mapping = {"Name": "name", "Tel": "phone", "Notes": "-", "Subject": "title", "Who": "owner"}
    report = people.import_records(ADMIN, "lead", path, mapping=mapping)
    assert report.created == 1
    assert leads(people)["Zhao"] == ("Zhao Lei", None, "alice", {
        "name": "Zhao", "phone": "13800000001", "source": "other"})  # fmt: skip


@pytest.mark.parametrize(
    ("header", "mapping", "message"),
    [
        ("name,phone,fax,notes", {}, "unknown column(s) 'fax', 'notes' for lead"),
        ("name,phone", {"Tel": "phone"}, "--map names column(s) 'Tel'"),
        ("name,Tel", {"Tel": "fone"}, "--map Tel=fone: lead has no such field"),
        ("name,phone,Tel", {"Tel": "phone"}, "two columns fill the same field"),
        ("name,phone,phone", {}, "column(s) 'phone' appear twice"),
    ],
)
def test_bad_columns_are_refused_before_anything_is_imported(
    people: Crm, tmp_path: Path, header: str, mapping: dict[str, str], message: str
) -> None:
    values = ["A", "13800000001", "x", "y"][: header.count(",") + 1]
    path = write(tmp_path / "bad.csv", header, ",".join(values))
    before = snapshot(people)
    with pytest.raises(InvalidInput, match=re.escape(message)):
        people.import_records(ADMIN, "lead", path, mapping=mapping)
    assert snapshot(people) == before


# -- owner and stage columns ------------------------------------------------------------


def test_owner_column_default_owner_and_who_may_be_given_records(
    people: Crm, tmp_path: Path
) -> None:
    people.set_user_active(ADMIN, "bob", False)
    path = write(
        tmp_path / "o.csv",
        "name,phone,owner",
        "A,13800000001,alice",
        "B,13800000002,",
        "C,13800000003,ghost",
        "D,13800000004,bob",
        "E,13800000005,carol",
    )
    errors = tmp_path / "e.csv"
    report = people.import_records("mia", "lead", path, owner="mia", errors_path=errors)
    assert counts(report) == (5, 2, 0, 0, 3)
    assert {n: v[2] for n, v in leads(people).items()} == {"A": "alice", "B": "mia"}
    reasons = [(e["line"], e["field"], e["reason"]) for e in errors_of(errors)]
    assert reasons[0] == ("4", "owner", "no user 'ghost'")
    assert reasons[1] == ("5", "owner", "user 'bob' is inactive and cannot own records")
    assert reasons[2][:2] == ("6", "owner") and "only to their team" in reasons[2][2]
    with pytest.raises(PermissionDenied):
        people.import_records("mia", "lead", path, owner="carol")
    with pytest.raises(NotFound):
        people.import_records(ADMIN, "lead", path, owner="nobody")
    with pytest.raises(InvalidInput, match="not both"):
        people.import_records(ADMIN, "lead", path, owner="alice", auto_assign=True)


def test_stage_column_must_be_a_stage_of_the_applied_workflow(people: Crm, tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.csv",
        "name,phone,stage",
        "A,13800000001,contacted",
        "B,13800000002,",
        "C,13800000003,bogus",
    )
    report = people.import_records(ADMIN, "lead", path)
    assert report.created == 3  # no workflow yet: any stage, or none
    stages = {n: (v[1], v[0]) for n, v in leads(people).items()}
    assert stages == {"A": ("contacted", "A"), "B": (None, "B"), "C": ("bogus", "C")}
    people.archive_record(ADMIN, next(r.id for r in people.list_records(ADMIN) if r.title == "C"))
    apply_workflow(people, tmp_path)
    path = write(
        tmp_path / "s2.csv",
        "name,phone,stage",
        "D,13800000004,won",
        "E,13800000005,",
        "F,13800000006,bogus",
    )
    errors = tmp_path / "e.csv"
    report = people.import_records(ADMIN, "lead", path, errors_path=errors)
    assert counts(report) == (3, 2, 0, 0, 1)
    assert leads(people)["D"][1] == "won" and leads(people)["E"][1] == "new"
    assert errors_of(errors) == [{
        "line": "4", "column": "stage", "field": "stage",
        "reason": "no stage 'bogus' in workflow leads (new, contacted, won, lost)",
    }]  # fmt: skip


# -- validation and the errors file --------------------------------------------------------


def test_rejected_rows_are_listed_with_line_column_field_and_reason(
    people: Crm, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "v.csv",
        "Name,phone,email,source",
        "Ok,13800000001,,web",
        '"Multi',
        'line",13800000002,,web',
        "NoContact,,,web",
        ",13800000003,,web",
        "Bad,notaphone,bad-mail,tv",
        "Short,13800000004",
        "Ok2,13800000005,,web",
    )
    errors = tmp_path / "errors.csv"
    report = people.import_records(
        ADMIN, "lead", path, mapping={"Name": "name"}, errors_path=errors
    )
    assert counts(report) == (7, 3, 0, 0, 4)
    assert sorted(leads(people)) == ["Multi\nline", "Ok", "Ok2"]
    rows = [(e["line"], e["column"], e["field"], e["reason"]) for e in errors_of(errors)]
    assert rows[0] == ("5", "phone", "phone", "give at least one of phone, email or company")
    assert rows[1] == ("6", "Name", "name", "is required")
    bad = [r for r in rows if r[0] == "7"]
    assert {r[2] for r in bad} == {"source"}  # the schema is checked before the dedupe keys
    assert rows[-1] == ("8", "", "", "has 2 values but the header has 4 columns")
    assert report.problems[0].line == 5 and not report.problems[0].skipped


# -- duplicates ---------------------------------------------------------------------------


def test_duplicates_in_the_file_and_in_the_database_are_skipped_by_default(
    people: Crm, tmp_path: Path
) -> None:
    old = people.add_record("alice", "lead", {"name": "Old", "phone": "13800000009"}).record.id
    path = write(
        tmp_path / "d.csv",
        "name,phone,email",
        "A,13800000001,a@example.com",
        "A again,+86 138 0000 0001,",
        "B,139 0000 0000,A@EXAMPLE.COM",
        "Old again,13800000009,",
    )
    errors = tmp_path / "e.csv"
    report = people.import_records(ADMIN, "lead", path, errors_path=errors)
    assert counts(report) == (4, 1, 0, 3, 0)
    assert sorted(leads(people)) == ["A", "Old"]
    reasons = [(e["line"], e["field"], e["reason"]) for e in errors_of(errors)]
    assert reasons == [
        ("3", "phone", "skipped: duplicate of line 2 (same phone: +8613800000001)"),
        ("4", "email", "skipped: duplicate of line 2 (same email: a@example.com)"),
        ("5", "phone", f"skipped: duplicate of #{old} owned by alice (same phone: +8613800000009)"),
    ]


def test_refuse_rejects_duplicates(people: Crm, tmp_path: Path) -> None:
    people.add_record(ADMIN, "lead", {"name": "Old", "phone": "13800000009"})
    path = write(tmp_path / "d.csv", "name,phone", "A,13800000001", "B,13800000001",
                 "C,13800000009")  # fmt: skip
    report = people.import_records(ADMIN, "lead", path, on_duplicate="refuse")
    assert counts(report) == (3, 1, 0, 0, 2) and report.refused == 2
    assert [p.reason for p in report.problems] == [
        "duplicate of line 2 (same phone: +8613800000001)",
        "duplicate of #1 owned by admin (same phone: +8613800000009)",
    ]


def test_merge_fills_empty_fields_like_add_record_merge(people: Crm, tmp_path: Path) -> None:
    old = people.add_record(
        "alice", "lead", {"name": "Old", "phone": "13800000009", "source": "web"}
    ).record.id
    hidden = people.add_record("carol", "lead", {"name": "Carol's", "phone": "13700000000"})
    other = people.add_record("carol", "lead", {"name": "C2", "email": "carol@example.com"})
    path = write(
        tmp_path / "m.csv",
        "name,phone,email,region,source",
        "New,13800000001,,,",
        "New dup,13800000001,new@example.com,华东,",
        "Clash,13800000009,carol@example.com,,",
        "Old dup,13800000009,old@example.com,华南,event",
        "Third,13600000000,new@example.com,,",
        "Other team,13700000000,,华北,",
    )
    errors = tmp_path / "e.csv"
    report = people.import_records("mia", "lead", path, on_duplicate="merge", errors_path=errors)
    assert counts(report) == (6, 1, 3, 0, 2)
    got = leads(people, ADMIN)
    assert got["New"][3] == {"name": "New", "phone": "13800000001", "source": "other",
                             "email": "new@example.com", "region": "华东"}  # fmt: skip
    # The existing record keeps its own values (name, source) and gains the empty ones.
    assert got["Old"][3] == {"name": "Old", "phone": "13800000009", "source": "web",
                             "email": "old@example.com", "region": "华南"}  # fmt: skip
    assert not {"New dup", "Clash", "Old dup", "Third", "Other team"} & set(got)
    assert [(e["line"], e["field"], e["reason"]) for e in errors_of(errors)] == [
        ("4", "email", f"duplicate of #{other.record.id} owned by carol "
                       "(same email: carol@example.com)"),
        ("7", "", f"duplicate of #{hidden.record.id}, which is owned by carol; "
                  "mia may not merge into it"),
    ]  # fmt: skip
    assert [j.action for j in people.journal(ADMIN, record_id=old)] == ["merge", "create"]
    assert all(j.cause == "import:m.csv" for j in people.journal(ADMIN, record_id=old)[:1])
    assert_replays(people)


# -- batches, re-runs and dry runs ---------------------------------------------------------


def test_each_batch_commits_alone_and_a_rerun_creates_nothing_twice(
    people: Crm, tmp_path: Path
) -> None:
    lines = [f"L{i},1380000000{i}" for i in range(1, 7)]
    lines[3] = "L4,not a phone"  # batch 2 holds an invalid row: only that row is rejected
    lines[4] = "EXPLODE,13800000005"  # batch 3: testplugin's crm_record_changed refuses it
    path = write(tmp_path / "b.csv", "name,phone", *lines)
    heard: list[ImportProgress] = []
    with pytest.raises(PluginError, match="EXPLODE"):
        people.import_records(ADMIN, "lead", path, batch_size=2, progress=heard.append)
    # Batches 1 and 2 were committed (L4 rejected alone); batch 3 rolled back as a whole.
    assert sorted(leads(people)) == ["L1", "L2", "L3"]
    assert [(p.rows, p.created, p.rejected) for p in heard] == [(2, 2, 0), (4, 3, 1)]
    assert heard[0].bytes_total == path.stat().st_size
    assert_replays(people)
    write(path, "name,phone", *[ln.replace("EXPLODE", "L5") for ln in lines])
    report = people.import_records(ADMIN, "lead", path, batch_size=2)
    assert counts(report) == (6, 2, 0, 3, 1) and report.batches == 3
    assert sorted(leads(people)) == ["L1", "L2", "L3", "L5", "L6"]
    again = people.import_records(ADMIN, "lead", path, batch_size=2)
    assert counts(again) == (6, 0, 0, 5, 1)
    assert len(leads(people)) == 5
    assert_replays(people)


def test_dry_run_reports_everything_and_changes_nothing(people: Crm, tmp_path: Path) -> None:
    apply_workflow(people, tmp_path, {"strategy": "round_robin", "members": ["alice", "bob"]})
    path = write(tmp_path / "d.csv", "name,phone", "A,13800000001", "B,13800000001",
                 "C,bad", "D,13800000004")  # fmt: skip
    errors = tmp_path / "e.csv"
    before = snapshot(people)
    report = people.import_records(
        ADMIN, "lead", path, dry_run=True, batch_size=2, errors_path=errors, auto_assign=True
    )
    assert counts(report) == (4, 2, 0, 1, 1) and report.dry_run and report.assigned == 2
    assert snapshot(people) == before
    assert [e["line"] for e in errors_of(errors)] == ["3", "4"]


def test_auto_assign_places_new_records_by_the_rules(people: Crm, tmp_path: Path) -> None:
    apply_workflow(people, tmp_path, {
        "strategy": "round_robin", "members": ["carol"],
        "rules": [{"id": "east", "when": {"field": "region", "eq": "east"}, "team": "east"}],
    })  # fmt: skip
    path = write(
        tmp_path / "a.csv",
        "name,phone,region,owner",
        "E1,13800000001,east,",
        "E2,13800000002,east,",
        "W1,13800000003,west,",
        "M1,13800000004,west,mia",
    )
    report = people.import_records(ADMIN, "lead", path, auto_assign=True, batch_size=3)
    assert report.created == 4 and report.assigned == 3
    owners = {n: v[2] for n, v in leads(people).items()}
    assert owners == {"E1": "alice", "E2": "bob", "W1": "carol", "M1": "mia"}
    causes = {j.cause for j in people.journal(ADMIN, limit=100) if j.action == "assign"}
    assert causes == {"assign:leads:east", "assign:leads:default"}
    assert_replays(people)


# -- export -------------------------------------------------------------------------------


def test_export_then_import_into_an_empty_database_gives_the_same_records(
    request: pytest.FixtureRequest, people: Crm, db_url: str, tmp_path: Path
) -> None:
    apply_workflow(people, tmp_path)
    people.add_record(
        ADMIN,
        "lead",
        {
            "name": "张伟",
            "phone": "13800000001",
            "budget": 1.5,
            "region": "华东, 上海",
            "referrer_id": 7,
        },
        owner="alice",
    )
    second = people.add_record(ADMIN, "lead", {"name": 'Quote "q"', "email": "q@example.com"},
                               title="A title, with comma")  # fmt: skip
    people.move_record(ADMIN, second.record.id, "contacted")
    people.add_record(
        ADMIN,
        "member",
        {"name": "Ann", "visits": 0, "vip": False, "plan": "yearly", "email": "ann@example.com"},
    )
    people.add_record(ADMIN, "member", {"name": "Bo", "vip": True})
    archived = people.add_record(ADMIN, "member", {"name": "Gone"}).record.id
    people.archive_record(ADMIN, archived)

    def everything(crm: Crm) -> list[Any]:
        rows = crm.list_records(ADMIN, limit=100)
        return sorted((r.kind, r.title, r.stage, r.owner, r.fields) for r in rows)

    expected = everything(people)
    files = {}
    for kind in ("lead", "member"):
        for fmt in ("csv", "jsonl"):
            out = io.StringIO()
            assert people.export_records(ADMIN, kind, out, fmt) == 2
            files[kind, fmt] = write(tmp_path / f"{kind}.{fmt}", out.getvalue().rstrip("\n"))
    header = files["lead", "csv"].read_text("utf-8").splitlines()[0]
    assert header.startswith("title,stage,owner,name,company,phone,email,source,referrer_id")
    for fmt in ("csv", "jsonl"):
        people.close()
        if request.node.callspec.params["db_url"] == "sqlite":
            for side in ("-wal", "-shm"):
                Path(db_url.removeprefix("sqlite:///") + side).unlink(missing_ok=True)
            shutil.copy(
                request.getfixturevalue("sqlite_template"), db_url.removeprefix("sqlite:///")
            )
        else:
            request.getfixturevalue("reset_pg")(db_url)
        fresh = Crm.open(db_url)
        fresh.add_team(ADMIN, "east")
        fresh.add_user(ADMIN, "alice", "operator", "east")
        apply_workflow(fresh, tmp_path)
        for kind in ("lead", "member"):
            assert fresh.import_records(ADMIN, kind, files[kind, fmt]).created == 2
        assert everything(fresh) == expected, fmt
        assert_replays(fresh)
        people = fresh
    people.close()


def test_export_shows_only_what_the_actor_sees(people: Crm, tmp_path: Path) -> None:
    people.add_record("alice", "lead", {"name": "Alice's", "phone": "13800000001"})
    people.add_record("carol", "lead", {"name": "Carol's", "phone": "13800000002"})
    out = io.StringIO()
    assert people.export_records("alice", "lead", out, "jsonl") == 1
    assert json.loads(out.getvalue())["owner"] == "alice"
    assert people.export_records("mia", "lead", io.StringIO(), "csv") == 1
    assert people.export_records(ADMIN, "lead", io.StringIO(), "csv") == 2
    with pytest.raises(InvalidInput, match="no kind 'nope'"):
        people.export_records(ADMIN, "nope", io.StringIO(), "csv")
    with pytest.raises(InvalidInput, match="--format"):
        people.export_records(ADMIN, "lead", io.StringIO(), "xml")


# -- permissions, the journal and the command line -------------------------------------------


def test_operators_may_not_import(people: Crm, tmp_path: Path, db_url: str) -> None:
    path = write(tmp_path / "p.csv", "name,phone", "A,13800000001")
    with pytest.raises(PermissionDenied, match="only an admin or a manager may import"):
        people.import_records("alice", "lead", path)
    fails(db_url, 3, "import", "lead", str(path), user="alice")
    assert leads(people) == {}


def test_cli_import_and_export(people: Crm, tmp_path: Path, db_url: str) -> None:
    path = write(tmp_path / "c.csv", "Name,phone,Junk", "A,13800000001,x", "B,13800000002,y")
    result = invoke(db_url, "import", "lead", str(path), "--map", "Name=name", "--map", "Junk=-")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.startswith("imported c.csv: 2 rows of lead in 1 batch(es): 2 created")
    assert result.stderr == ""
    result = invoke(db_url, "import", "lead", str(path), "--map", "Name=name", "--map", "Junk=-",
                    "--json", "--on-duplicate", "refuse")  # fmt: skip
    assert result.exit_code == 5, result.stderr
    report = json.loads(result.stdout)
    assert (report["rejected"], report["refused"], report["created"]) == (2, 2, 0)
    assert result.stderr == "error: 2 row(s) rejected (see above)\n"
    bad = write(tmp_path / "bad.csv", "name,phone", "A,13800000003", "B,nope")
    errors = tmp_path / "errors.csv"
    result = invoke(db_url, "import", "lead", str(bad), "--errors", str(errors))
    assert result.exit_code == 2 and "errors file: " in result.stdout
    assert f"1 row(s) rejected (listed in {errors})" in result.stderr
    result = invoke(db_url, "export", "lead")
    assert result.exit_code == 0 and result.stdout.count("\n") == 4
    assert result.stdout.splitlines()[1].startswith("A,,,A,,13800000001")
    out = tmp_path / "out.jsonl"
    result = invoke(db_url, "export", "lead", "--out", str(out))
    assert result.stdout == f"exported 3 lead record(s) to {out}\n"
    assert len(out.read_text("utf-8").splitlines()) == 3 and out.read_text("utf-8")[0] == "{"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "lead", "missing.csv"], "no file missing.csv"),
        (["import", "nope", "FILE"], "no kind 'nope'"),
        (["import", "lead", "FILE", "--map", "name"], "--map expects COLUMN=FIELD"),
        (["import", "lead", "FILE", "--map", "fax=-", "--map", "fax=phone"], "twice"),
        (["import", "lead", "FILE"], "unknown column(s) 'fax'"),
        (["import", "lead", "FILE", "--on-duplicate", "ignore"], "--on-duplicate must be"),
        (["import", "lead", "FILE", "--batch", "0"], "--batch must be at least 1"),
        (["import", "lead", "FILE", "--format", "xml"], "--format must be csv or jsonl"),
        (["import", "lead", "TXT"], "cannot tell the format"),
        (["import", "lead", "FILE", "--errors", "FILE"], "--errors must name another file"),
        (["import", "lead", "FILE", "--errors", "/nonexistent/e.csv"], "cannot write"),
        (["export", "nope"], "no kind 'nope'"),
        (["export", "lead", "--format", "xml"], "--format must be csv or jsonl"),
    ],
)
def test_cli_bad_input_exits_2_and_changes_nothing(
    people: Crm, tmp_path: Path, db_url: str, args: list[str], message: str
) -> None:
    path = write(tmp_path / "f.csv", "name,phone,fax", "A,13800000001,1")
    if "--errors" in args:
        path = write(tmp_path / "f.csv", "name,phone", "A,13800000001")
    txt = write(tmp_path / "f.txt", "name,phone", "A,13800000001")
    before = snapshot(people)
    argv = [str(path) if a == "FILE" else str(txt) if a == "TXT" else a for a in args]
    line = fails(db_url, 2, *argv)
    assert message in line
    assert snapshot(people) == before
    assert not list(tmp_path.glob("*.part"))


def test_cli_progress_bar_and_unreadable_files(people: Crm, tmp_path: Path, db_url: str) -> None:
    path = write(tmp_path / "p.csv", "name,phone", "A,13800000001", "B,13800000002")
    result = invoke(db_url, "import", "lead", str(path), "--progress", "--batch", "1")
    assert result.exit_code == 0 and "importing" in result.stderr and "100%" in result.stderr
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,phone\nJosé,13800000003\n".encode("latin-1"))
    assert "latin.csv line 2: not UTF-8 (invalid continuation byte)" in fails(
        db_url, 2, "import", "lead", str(latin)
    )
    empty = write(tmp_path / "empty.csv", "")
    assert "is empty" in fails(db_url, 2, "import", "lead", str(empty))
    assert len(leads(people)) == 2


def test_a_file_not_in_its_encoding_is_refused_whole_at_its_true_line(
    people: Crm, tmp_path: Path, db_url: str
) -> None:
    lines = ["name,phone"] + [f"Lead {n},1380000{n:04d}" for n in range(2, 8001)]
    lines[7999] = "王芳,13900008000"  # line 8,000, after a batch of 5,000 would be in
    path = tmp_path / "export.csv"
    utf8 = "\n".join(lines[:7999]).encode() + b"\n"
    path.write_bytes(utf8 + (lines[7999] + "\n").encode("gb18030"))
    before = snapshot(people)
    assert fails(db_url, 2, "import", "lead", str(path)) == (
        "error: export.csv line 8000: not UTF-8; it looks like GB18030 (Chinese spreadsheet "
        "export): use --encoding gb18030"
    )
    assert snapshot(people) == before
    assert "--encoding: unknown text encoding 'klingon'" in fails(
        db_url, 2, "import", "lead", str(path), "--encoding", "klingon"
    )
    path.write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    result = invoke(db_url, "import", "lead", str(path), "--encoding", "gb18030")
    assert result.exit_code == 0, result.output
    assert leads(people)["王芳"][3]["phone"] == "13900008000"


def test_rejected_rows_name_their_physical_line(people: Crm, tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text(
        'name,phone,notes\r\nA,13800000001,"two\r\nlines"\r\nB,12345,x\r\n\r\n'
        'C,13800000003,"three\nshort\nlines"\nD,not a phone,y\n',
        encoding="utf-8",
    )
    errors = tmp_path / "e.csv"
    people.import_records(ADMIN, "lead", path, mapping={"notes": "-"}, errors_path=errors)
    assert [(e["line"], e["field"]) for e in errors_of(errors)] == [("4", "phone"), ("9", "phone")]


# -- the fast phone key ------------------------------------------------------------------------


def test_fast_phone_keys_equal_the_core_normaliser() -> None:
    rng = random.Random(7)
    numbers = [f"1{rng.randrange(10**10):010d}" for _ in range(3000)]
    numbers += ["17951234567", "11234567890", "12345678901", "+8613812345678", "013812345678",
                "１３８１２３４５６７８", "138 1234 5678", "8613812345678"]  # fmt: skip
    # The grouped ways of writing them, and near misses the fast path must leave alone.
    for number in numbers[:3000]:
        a, b, c = number[:3], number[3:7], number[7:]
        prefix = rng.choice(["", "+86", "+86 ", "+86-", "86 ", "+852 ", "0", "+86  ", " "])
        gaps = [rng.choice(["", " ", "-", "  ", ".", "--"]) for _ in range(2)]
        numbers.append(f"{prefix}{a}{gaps[0]}{b}{gaps[1]}{c}")
    for number in numbers:
        try:
            expected = normalize_phone(number)
        except ValueError:
            with pytest.raises(ValueError):
                fastkeys.phone_key(number)
            continue
        assert fastkeys.phone_key(number) == expected, number
    assert sum(bool(fastkeys.GROUPED.fullmatch(n)) for n in numbers) > 1000
    assert fastkeys.agrees(normalize_phone)
    assert not fastkeys.agrees(lambda n: "+1" + n)


def test_fast_phones_only_replace_the_core_normaliser() -> None:
    registry = Registry(PluginHost())
    fast = fastkeys.with_fast_phones(registry)
    assert fast is not registry and fast.normalizers["phone"] is fastkeys.phone_key
    assert registry.normalizers["phone"] is normalize_phone and fast.kinds is registry.kinds
    registry.normalizers["phone"] = lambda v: v
    assert fastkeys.with_fast_phones(registry) is registry


def test_rows_get_exactly_what_the_general_checks_give_them(people: Crm, tmp_path: Path) -> None:
    """The import's checking (fast phone keys, the kinds' fields worked out once, the plugins'
    hooks looked up once a batch, the batch's keys found with one statement) gives each row the
    values, keys or problems that coerce, with_defaults and check_values give it one by one."""
    header = ["name", "phone", "email", "source", "region"]
    rows = [
        ["Plain", "13800000001", "", "web", ""],
        ["Spaced", "139 0000 0002", "S@Example.com", "event", "华东"],
        ["Dashed", "+86 137-0000-0003", "", "", ""],
        ["Tight", "+8613600000004", "", "ad", ""],
        ["Mixed", "+86-135 00000005", "", "", ""],
        ["Old prefix", "179 1234 5678", "", "", ""],
        ["Wide", "１３８０００００００６", "", "", ""],
        ["Landline", "010-6552 9988", "", "", ""],
        ["Bad phone", "12345", "", "", ""],
        ["Bad source", "13800000007", "", "tv", ""],
        ["No contact", "", "", "web", ""],
        ["Referral", "13800000008", "", "referral", ""],
        ["", "13800000009", "bad-mail", "web", ""],
        ["x" * 201, "13800000010", "", "", ""],
        ["Bad mail", "", "bad-mail", "", ""],
    ]
    path = tmp_path / "g.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([header, *rows])
    expected: dict[int, Any] = {}
    with people._write(ADMIN, dry_run=True) as ctx:
        for line, row in enumerate(rows, start=2):
            given = people.registry.coerce("lead", dict(zip(header, row, strict=True)))
            given = {k: v for k, v in given.items() if v is not None}
            values = people.registry.with_defaults("lead", given)
            try:
                expected[line] = (values, records.check_values(ctx, "lead", values, None))
            except FieldError as exc:
                expected[line] = exc.problems
    assert fastkeys.with_fast_phones(people.registry).normalizers["phone"] is fastkeys.phone_key
    errors = tmp_path / "e.csv"
    report = people.import_records(ADMIN, "lead", path, batch_size=4, errors_path=errors)
    assert counts(report) == (15, 7, 0, 0, 8)
    problems: dict[int, list[tuple[str, str]]] = {}
    for e in errors_of(errors):
        problems.setdefault(int(e["line"]), []).append((e["field"], e["reason"]))
    stored = {r.id: r.fields for r in people.list_records(ADMIN, kind="lead")}
    with people.engine.connect() as conn:
        keys: dict[int, dict[str, str]] = {i: {} for i in stored}
        for record_id, name, value in conn.execute(
            text("SELECT record_id, field, value FROM dedupe_key")
        ):
            keys[record_id][name] = value
    got: dict[int, Any] = dict(problems)
    by_name = {fields["name"]: (fields, keys[i]) for i, fields in stored.items()}
    for line, row in enumerate(rows, start=2):
        if row[0] in by_name:
            got[line] = by_name[row[0]]
    assert got == expected
    # Refused by the phone key (7: no such number, 10), the schema (11, 14, 15), the leads
    # plugin (12, 13) and the e-mail key (16).
    expected_refusals = [7, 10, 11, 12, 13, 14, 15, 16]
    assert [line for line, e in expected.items() if isinstance(e, list)] == expected_refusals


def test_staged_data_is_json_dumps_character_for_character() -> None:
    """The writer's encoder gives the text ``json.dumps`` gives (the ORM path stores that)."""
    rng = random.Random(3)
    samples: list[dict[str, Any]] = [
        {},
        {"name": "王伟", "phone": "13800000001", "tags": ["a", "é", "\x00"], "n": None},
        {"budget": 1.5, "big": 2**62, "neg": -0.0, "ok": True, "no": False, "inf": float("inf")},
        {"nested": {"b": [1, {"c": "\u2028\ud83d"}]}, "quote": '"\\/\n\t'},
    ]
    for _ in range(500):
        chars = [chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(12))]
        samples.append({"".join(chars[:3]): "".join(chars), "x": rng.random() * 1e6})
    for values in samples:
        assert writer.dump(values) == json.dumps(values)
    with pytest.raises(TypeError):
        writer.dump({"when": object()})
