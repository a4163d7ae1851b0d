"""Tests of the school plugin, each on a fresh SQLite CRM with just the core and the plugin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from crm_school import plugin

from crm_core.api import Crm, Duplicate, FieldError
from crm_core.testing import fresh_crm, invoke_cli

WORKFLOW = Path(__file__).resolve().parent.parent / "workflows" / "school.yaml"
PLUGINS = [("school", plugin)]


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    """The file the school_sms channel writes to."""
    return tmp_path / "sms.tsv"


@pytest.fixture
def crm(tmp_path: Path, spool: Path) -> Iterator[Crm]:
    """A new CRM with the plugin, teachers alice and bob, and the school's workflow."""
    channels = {"school_sms": {"spool": str(spool)}}
    with fresh_crm(tmp_path, plugins=PLUGINS, channels=channels) as crm:
        crm.add_user("admin", "alice", "operator", phone="13800000001")
        crm.add_user("admin", "bob", "operator", phone="13800000002")
        crm.apply_workflow("admin", WORKFLOW)
        yield crm


def lead(crm: Crm, name: str, phone: str, course: str, **fields: str) -> int:
    """Add a student lead; the workflow's strategy picks its owner."""
    values = {"name": name, "phone": phone, "course": course, **fields}
    return crm.add_record("admin", "student_lead", values, auto_assign=True).record.id


def test_the_kind_has_labels_a_title_and_a_dedupe_phone(crm: Crm) -> None:
    kind = crm.kind("student_lead")
    assert kind.label == {"en": "Student lead", "zh": "学员线索"}
    assert kind.fields["course"].label == {"en": "Course", "zh": "课程"}
    rid = lead(crm, "Li Lei", "13900000001", "python")
    assert crm.get_record("admin", rid).title == "Li Lei · python"
    crm.update_record("admin", rid, {"course": "design"})
    assert crm.get_record("admin", rid).title == "Li Lei · design"  # kept in step
    with pytest.raises(Duplicate):
        lead(crm, "Li again", "+86 139 0000 0001", "python")
    with pytest.raises(FieldError, match="course"):
        lead(crm, "Wang", "13900000002", "cooking")


def test_an_import_reads_the_chinese_headers(crm: Crm, tmp_path: Path) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_text("姓名,手机,课程\n韩梅梅,13900000003,english\n", encoding="utf-8")
    assert crm.import_records("admin", "student_lead", csv).created == 1
    (imported,) = crm.list_records("admin", kind="student_lead")
    assert imported.fields == {"name": "韩梅梅", "phone": "13900000003", "course": "english"}


def test_trial_booked_needs_a_trial_date_on_the_move_and_while_there(crm: Crm) -> None:
    rid = lead(crm, "Li Lei", "13900000001", "python")
    with pytest.raises(FieldError, match="trial_date': is required while the lead is in trial"):
        crm.move_record("admin", rid, "trial_booked")
    assert crm.get_record("admin", rid).stage == "new"  # refused, nothing changed
    crm.update_record("admin", rid, {"trial_date": "2026-12-10"})
    assert crm.move_record("admin", rid, "trial_booked").stage == "trial_booked"
    with pytest.raises(FieldError, match="trial_date"):
        crm.update_record("admin", rid, {"trial_date": None})


def test_the_workflow_is_valid_with_the_plugins_strategy_and_action(crm: Crm) -> None:
    assert crm.check_workflow(WORKFLOW).problems == []


def test_leads_are_shared_out_per_course(crm: Crm) -> None:
    first = lead(crm, "A", "13900000011", "python")  # nobody has any: alice, the first
    others = [
        lead(crm, "B", "13900000012", "design"),  # nobody has a design lead: alice again
        lead(crm, "C", "13900000013", "python"),  # alice has a python lead: bob
        lead(crm, "D", "13900000014", "python"),  # one each: alice
    ]
    owners = [crm.get_record("admin", rid).owner for rid in [first, *others]]
    assert owners == ["alice", "alice", "bob", "alice"]


def test_the_report_counts_leads_trials_and_enrolments_per_course(crm: Crm) -> None:
    enrolled = lead(crm, "A", "13900000011", "python", trial_date="2026-12-10")
    lead(crm, "B", "13900000012", "python")
    lead(crm, "C", "13900000013", "design")
    crm.move_record("admin", enrolled, "trial_booked")
    crm.move_record("admin", enrolled, "enrolled")
    result = crm.run_report("admin", "school_courses")
    assert result.columns == ["course", "leads", "trials", "enrolled", "rate"]
    assert result.rows == [["design", 1, 0, 0, 0.0], ["python", 2, 1, 1, 0.5]]


def test_the_screens_show_the_course_the_trial_and_the_enrolment(crm: Crm) -> None:
    rid = lead(crm, "A", "13900000011", "python", trial_date="2026-12-10")
    columns = [c.field for c in crm.screen_parts.columns["student_lead"]]
    assert columns == ["course", "trial_date"]
    (panel,) = crm.screen_parts.panels["student_lead"]
    record = crm.get_record("admin", rid)
    assert panel.render(crm, "admin", record) == "trial lesson on [b]2026-12-10[/b] at Main campus"
    card = next(c for c in crm.screen_parts.cards if c.name == "school_enrolment")
    assert card.render(crm, "admin") == "[b]0[/b] of 1 leads enrolled"


def test_booking_a_trial_writes_the_table_and_texts_the_owner(crm: Crm, spool: Path) -> None:
    rid = lead(crm, "Li Lei", "13900000001", "python", trial_date="2026-12-10")
    crm.move_record("admin", rid, "trial_booked")
    assert crm.deliver_outbox().sent == 1
    assert spool.read_text(encoding="utf-8").split("\t")[1:] == [
        "+8613800000001",
        "trial lesson of Li Lei · python on 2026-12-10\n",
    ]
    journal = crm.journal("admin", record_id=rid)
    assert any(e.entity == "school_trial" and e.action == "create" for e in journal)
    assert crm.verify_journal("admin").ok  # the plugin's rows leave `crm journal verify` clean


def test_a_sweep_reminds_the_owner_by_sms_a_week_after_the_booking(crm: Crm, spool: Path) -> None:
    rid = lead(crm, "Li Lei", "13900000001", "python", trial_date="2026-12-10")
    crm.move_record("admin", rid, "trial_booked")
    crm.deliver_outbox()
    (result,) = crm.sweep(None, now=datetime.now(UTC) + timedelta(days=8))
    assert result.notified == 1
    assert crm.deliver_outbox().sent == 1
    last = spool.read_text(encoding="utf-8").splitlines()[-1].split("\t")
    assert last[1] == "+8613800000001" and "Li Lei · python" in last[2]


def test_a_teacher_without_a_phone_is_skipped_with_the_reason(crm: Crm) -> None:
    crm.update_user("admin", "alice", phone="")
    rid = lead(crm, "Li Lei", "13900000001", "python", trial_date="2026-12-10")
    crm.move_record("admin", rid, "trial_booked")
    assert crm.deliver_outbox().skipped == 1


def test_the_command_lists_the_days_trials_against_the_seats_of_the_settings(
    crm: Crm, tmp_path: Path
) -> None:
    for n, phone in enumerate(["13900000011", "13900000012"]):
        rid = lead(crm, f"S{n}", phone, "python", trial_date="2026-12-10")
        crm.move_record("admin", rid, "trial_booked")
    db = f"sqlite:///{tmp_path / 'crm.db'}"
    env = {"CRM_PLUGIN_SCHOOL_SEATS": "3", "CRM_PLUGIN_SCHOOL_CAMPUS": "East"}
    args = ["--db", db, "--as", "admin", "school", "trials", "2026-12-10", "--json"]
    result = invoke_cli(args, plugins=PLUGINS, env=env)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert (answer["campus"], answer["seats"], answer["booked"]) == ("East", 3, 2)
    assert [t["lead"] for t in answer["trials"]] == ["S0 · python", "S1 · python"]
    # alice sees only her own lead's booking; the count of seats is the day's
    as_alice = invoke_cli([*args[:3], "alice", *args[4:]], plugins=PLUGINS, env=env)
    assert [t["lead"] for t in json.loads(as_alice.stdout)["trials"]] == ["S0 · python"]


def test_the_command_refuses_a_bad_day_and_bad_settings(tmp_path: Path, crm: Crm) -> None:
    db = f"sqlite:///{tmp_path / 'crm.db'}"
    bad_day = invoke_cli(["--db", db, "--as", "admin", "school", "trials", "10/12"], PLUGINS)
    assert bad_day.exit_code == 2
    assert "give it as YYYY-MM-DD" in bad_day.stderr
    args = ["--db", db, "--as", "admin", "school", "trials", "2026-12-10"]
    bad_seats = invoke_cli(args, PLUGINS, env={"CRM_PLUGIN_SCHOOL_SEATS": "0"})
    assert bad_seats.exit_code == 2
    assert "seats" in bad_seats.stderr


def test_crm_db_status_lists_the_plugins_branch(crm: Crm, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'crm.db'}"
    result = invoke_cli(["--db", db, "db", "status"], PLUGINS)
    assert result.exit_code == 0, result.output
    assert "school_0001" in result.stdout
