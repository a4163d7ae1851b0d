"""The real_estate plugin: the buyer kind, its validation, the shipped workflow, a buyer's
walk from prospect to member, and every report's numbers on a small hand-made data set.

Each test runs on SQLite and, with ``CRM_TEST_PG_URL`` set, on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crm_core.api import Crm, Duplicate, FieldError, InvalidInput
from crm_core.cli.main import app
from crm_core.clock import ManualClock

WORKFLOW = Path(__file__).resolve().parents[3] / "workflows" / "real_estate.yaml"
PIPELINE = ["prospect", "intent", "qualified", "signed", "future_owner", "owner", "member"]
CLEAN_ENV: dict[str, str | None] = {
    "CRM_USER": None, "CRM_DATABASE_URL": None, "CRM_DISABLED_PLUGINS": None,
    "CRM_DEBUG": None, "COLUMNS": "200",
}  # fmt: skip


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def buyer(crm: Crm, name: str, phone: str, actor: str = "wang", **fields: Any) -> int:
    result = crm.add_record(actor, "buyer", {"name": name, "phone": phone, **fields})
    return result.record.id


def stage(crm: Crm, record_id: int) -> str | None:
    return crm.get_record("admin", record_id).stage


def walk(crm: Crm, record_id: int, upto: str, actor: str = "wang", viewings: int = 1) -> None:
    """Log what each guard asks for and move the buyer on, stage by stage, up to ``upto``."""
    needs: dict[str, list[str]] = {
        "intent": ["call"],
        "qualified": ["viewing"] * viewings,
        "signed": ["subscription"],
        "future_owner": ["signing"],
        "owner": ["handover"],
    }
    for target in PIPELINE[PIPELINE.index(stage(crm, record_id) or "prospect") + 1 :]:
        for activity in needs.get(target, []):
            crm.log_activity(actor, record_id, activity)
        if target == "member":
            crm.update_record(actor, record_id, {"member_level": "gold", "member_points": 100})
        crm.move_record(actor, record_id, target)
        if target == upto:
            return


@pytest.fixture
def estate(people: Crm) -> Crm:
    """The users, and the shipped workflow applied."""
    people.apply_workflow("admin", WORKFLOW)
    return people


# -- the kind and its validation -------------------------------------------------------


def test_the_plugin_registers_the_buyer_kind_activity_types_and_reports(crm: Crm) -> None:
    kind = crm.kind("buyer")
    assert kind.plugin == "real_estate"
    assert kind.label == {"en": "Buyer", "zh": "购房客户"}
    assert set(kind.fields) == {
        "name", "phone", "email", "budget_min", "budget_max", "district", "rooms", "purpose",
        "property_interest", "member_level", "member_points", "complaint_open",
    }  # fmt: skip
    assert kind.fields["phone"].dedupe == "phone" and kind.fields["email"].dedupe == "email"
    assert kind.fields["district"].indexed and kind.fields["name"].required
    types = {a.name: a for a in crm.activity_types()}
    for name in ["viewing", "subscription", "signing", "handover", "member_event",
                 "complaint_resolved"]:  # fmt: skip
        assert types[name].plugin == "real_estate"
    assert types["viewing"].label == {"en": "Viewing", "zh": "带看"}
    assert types["complaint"].plugin == "core"  # the core's own, not registered twice
    reports = {r.name: r for r in crm.reports()}
    for name in ["re_funnel", "re_viewing_to_signing", "re_complaints", "re_member_growth"]:
        assert reports[name].plugin == "real_estate"
        assert not reports[name].needs_kind
        assert reports[name].description and reports[name].label["zh"]
    assert {p.name: p for p in crm.plugins()}["real_estate"].kinds == ["buyer"]


def test_buyer_values_are_validated(people: Crm) -> None:
    crm = people
    record = crm.add_record("wang", "buyer", {"name": "张伟", "phone": "138 1234 5678"}).record
    assert record.fields["member_level"] == "none"
    assert record.fields["complaint_open"] is False
    with pytest.raises(FieldError, match="budget_min") as err:
        buyer(crm, "李娜", "13900000001", budget_min=2_000_000, budget_max=1_500_000)
    assert "above budget_max" in str(err.value)
    with pytest.raises(FieldError, match="phone"):
        crm.add_record("wang", "buyer", {"name": "无联系方式"})
    email_only = crm.add_record("wang", "buyer", {"name": "Ann", "email": "Ann@Example.com"})
    assert email_only.record.fields["email"] == "Ann@Example.com"
    for bad in [{"rooms": 11}, {"rooms": 0}, {"purpose": "flipping"}, {"budget_max": -1},
                {"member_level": "diamond"}, {"member_points": -5}]:  # fmt: skip
        with pytest.raises(FieldError):
            buyer(crm, "王芳", "13900000002", **bad)
    ok = buyer(crm, "王芳", "13900000002", budget_min=1_000_000, budget_max=1_000_000,
               rooms=3, purpose="school_district", district="金水区")  # fmt: skip
    with pytest.raises(FieldError, match="budget_min"):  # an update is checked as a whole
        crm.update_record("wang", ok, {"budget_max": 900_000})
    with pytest.raises(Duplicate):  # the same phone written another way: 防撞单
        buyer(crm, "王芳2", "+86 139-0000-0002")
    with pytest.raises(Duplicate):
        crm.add_record("wang", "buyer", {"name": "Ann B", "email": "ann@example.com"})


# -- the workflow -------------------------------------------------------------------


def test_the_shipped_workflow_validates_and_applies(people: Crm) -> None:
    result = people.check_workflow(WORKFLOW)
    assert result.problems == []
    assert result.workflow is not None and result.workflow.stage_ids == [*PIPELINE, "lost"]
    view = people.apply_workflow("admin", WORKFLOW)
    assert (view.kind, view.stages[0]) == ("buyer", "prospect")
    pools = {p.name: p for p in people.list_pools("admin")}
    assert "buyer-pool" in pools
    new = buyer(people, "赵敏", "13700000000")
    assert stage(people, new) == "prospect"


def test_a_buyer_walks_from_prospect_to_member_and_guards_refuse(estate: Crm) -> None:
    crm = estate
    b = buyer(crm, "陈静", "13600000000")
    with pytest.raises(FieldError, match="district"):
        crm.move_record("wang", b, "intent")  # intent needs the district wanted
    crm.update_record("wang", b, {"district": "郑东新区", "rooms": 3, "budget_max": 2_500_000})
    with pytest.raises(InvalidInput, match="guard of prospect → intent"):
        crm.move_record("wang", b, "intent")  # nobody has talked to them yet
    crm.log_activity("wang", b, "call", note="想看郑东新区三居")
    crm.move_record("wang", b, "intent")
    with pytest.raises(InvalidInput, match="guard of intent → qualified") as err:
        crm.move_record("wang", b, "qualified")  # a budget, but no viewing (带看) yet
    assert '"type": "viewing"' in str(err.value)
    crm.log_activity("wang", b, "viewing", note="带看 3号楼")
    crm.move_record("wang", b, "qualified")
    with pytest.raises(InvalidInput, match="guard of qualified → signed"):
        crm.move_record("wang", b, "signed")  # 认购 first
    with pytest.raises(InvalidInput, match="cannot move from qualified to owner"):
        crm.move_record("wang", b, "owner")
    walk(crm, b, "owner")
    assert stage(crm, b) == "owner"
    with pytest.raises(InvalidInput, match="guard of owner → member"):
        crm.move_record("wang", b, "member")  # member_level is still "none"
    walk(crm, b, "member")
    assert stage(crm, b) == "member"
    tasks = [t.note for t in crm.list_tasks("admin", include_done=True)]
    assert any("准业主" in n for n in tasks) and any("交房回访" in n for n in tasks)
    # a lost buyer needs a reason, and may start over
    c = buyer(crm, "刘洋", "13600000001")
    with pytest.raises(InvalidInput, match="needs --reason"):
        crm.move_record("wang", c, "lost")
    crm.move_record("wang", c, "lost", reason="unreachable")
    crm.move_record("wang", c, "prospect")
    assert stage(crm, c) == "prospect"


# -- the reports on a hand-made data set ------------------------------------------------


@pytest.fixture
def sample(estate: Crm, clock: ManualClock) -> dict[str, int]:
    """Seven buyers and one parcel:

    - b1 金水区: 2 viewings, member in April 2026; a complaint resolved in 5 hours;
    - b2: still a prospect;
    - b3 金水区: intent, then lost (bought_elsewhere);
    - b4 郑东新区: 1 viewing, signed, then lost (contract_cancelled);
    - b5 中原区: 2 viewings, qualified; two complaints, both resolved by one resolution
      (25 and 24 hours);
    - b6 中原区: 1 viewing, still intent; a complaint logged after an earlier resolution
      (so it is open);
    - b7 二七区: 1 viewing, member in May 2026;
    - a parcel (another kind) with a complaint and a viewing, which no report counts.
    """
    crm = estate
    budget = {"budget_min": 1_000_000, "budget_max": 2_000_000}
    ids = {
        "b1": buyer(crm, "张伟", "13800000001", district="金水区", **budget),
        "b2": buyer(crm, "李娜", "13800000002"),
        "b3": buyer(crm, "王芳", "13800000003", district="金水区", **budget),
        "b4": buyer(crm, "刘洋", "13800000004", actor="li", district="郑东新区", **budget),
        "b5": buyer(crm, "陈静", "13800000005", actor="zhang", district="中原区", **budget),
        "b6": buyer(crm, "杨磊", "13800000006", actor="zhao", district="中原区"),
        "b7": buyer(crm, "Emma Zhao", "13800000007", district="二七区", **budget),
    }
    parcel = crm.add_record("admin", "parcel", {"name": "box"}).record.id
    clock.now = at(3, 10)
    walk(crm, ids["b3"], "intent")
    crm.move_record("wang", ids["b3"], "lost", reason="bought_elsewhere")
    walk(crm, ids["b4"], "signed", actor="li")
    crm.move_record("li", ids["b4"], "lost", reason="contract_cancelled")
    walk(crm, ids["b5"], "qualified", actor="zhang", viewings=2)
    walk(crm, ids["b6"], "intent", actor="zhao")
    crm.log_activity("zhao", ids["b6"], "viewing")
    crm.log_activity("admin", parcel, "viewing")
    clock.now = at(4, 15)
    walk(crm, ids["b1"], "member", viewings=2)
    clock.now = at(5, 20)
    walk(crm, ids["b7"], "member")
    clock.now = at(6, 1)
    complaints = [
        ("b1", "complaint", at(3, 12, 10)),
        ("b1", "complaint_resolved", at(3, 12, 15)),
        ("b5", "complaint", at(4, 1, 8)),
        ("b5", "complaint", at(4, 1, 9)),
        ("b5", "complaint_resolved", at(4, 2, 9)),
        ("b6", "complaint_resolved", at(4, 5)),
        ("b6", "complaint", at(4, 10)),
    ]
    for key, kind, when in complaints:
        crm.log_activity("admin", ids[key], kind, at=when)
    crm.log_activity("admin", parcel, "complaint", at=at(4, 3))
    return ids


def rows(crm: Crm, name: str, **options: Any) -> list[list[Any]]:
    return crm.run_report("admin", name, **options).rows


def test_re_funnel_counts_each_stage_and_where_lost_buyers_got_to(
    sample: dict[str, int], estate: Crm
) -> None:
    result = estate.run_report("admin", "re_funnel")
    assert result.columns == ["stage", "records", "lost_here", "reached", "conversion"]
    assert result.rows == [
        ["prospect", 1, 0, 7, None],
        ["intent", 1, 1, 6, 0.8571],
        ["qualified", 1, 0, 4, 0.6667],
        ["signed", 0, 1, 3, 0.75],
        ["future_owner", 0, 0, 2, 0.6667],
        ["owner", 0, 0, 2, 1.0],
        ["member", 2, 0, 2, 1.0],
        ["lost", 2, None, None, None],
    ]
    assert result.notes == ["prospect → member: 2 of 7 (0.2857)"]
    # --kind buyer gives the same; another kind is refused; an operator sees their own
    assert rows(estate, "re_funnel", kind="buyer") == result.rows
    with pytest.raises(InvalidInput, match="reports on buyers"):
        estate.run_report("admin", "re_funnel", kind="parcel")
    mine = {r[0]: r[3] for r in rows(estate, "re_funnel") if r[0] in PIPELINE}
    assert mine["prospect"] == 7
    zhang = {r[0]: r[3] for r in estate.run_report("zhang", "re_funnel").rows if r[3]}
    assert zhang == {"prospect": 1, "intent": 1, "qualified": 1}


def test_re_viewing_to_signing(sample: dict[str, int], estate: Crm) -> None:
    result = estate.run_report("admin", "re_viewing_to_signing")
    assert result.columns == ["group", "buyers", "viewed", "signed", "conversion",
                              "viewings_per_signing"]  # fmt: skip
    assert result.rows == [["all", 7, 5, 3, 0.6, 1.33]]
    by_district = {r[0]: r[1:] for r in rows(estate, "re_viewing_to_signing", by="district")}
    assert by_district == {
        "金水区": [2, 1, 1, 1.0, 2.0],
        "郑东新区": [1, 1, 1, 1.0, 1.0],
        "中原区": [2, 2, 0, 0.0, None],
        "二七区": [1, 1, 1, 1.0, 1.0],
        None: [1, 0, 0, None, None],
    }


def test_re_complaints(sample: dict[str, int], estate: Crm) -> None:
    result = estate.run_report("admin", "re_complaints")
    assert result.columns == ["month", "complaints", "resolved", "open", "resolution_rate",
                              "average_hours", "longest_hours"]  # fmt: skip
    assert result.rows == [
        ["2026-03", 1, 1, 0, 1.0, 5.0, 5.0],
        ["2026-04", 3, 2, 1, 0.6667, 24.5, 25.0],
        ["all", 4, 3, 1, 0.75, 18.0, 25.0],
    ]


def test_re_member_growth(sample: dict[str, int], estate: Crm) -> None:
    result = estate.run_report("admin", "re_member_growth")
    assert result.columns == ["month", "new_members", "members"]
    assert result.rows == [["2026-04", 1, 1], ["2026-05", 1, 2]]


def test_reports_on_an_empty_database_without_the_workflow(people: Crm) -> None:
    funnel = people.run_report("admin", "re_funnel")
    assert [r[0] for r in funnel.rows] == [*PIPELINE, "lost"]
    assert all(r[3] == 0 for r in funnel.rows[: len(PIPELINE)])
    assert rows(people, "re_viewing_to_signing") == [["all", 0, 0, 0, None, None]]
    assert rows(people, "re_complaints") == [["all", 0, 0, 0, None, None, None]]
    assert rows(people, "re_member_growth") == []


def test_re_funnel_through_the_cli(sample: dict[str, int], db_url: str) -> None:
    runner = CliRunner()
    argv = ["--db", db_url, "--as", "admin", "report", "re_funnel", "--format", "json"]
    result = runner.invoke(app, argv, env=CLEAN_ENV)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    data = json.loads(result.stdout)
    assert data["name"] == "re_funnel"
    assert data["rows"][0] == ["prospect", 1, 0, 7, None]
    assert data["notes"] == ["prospect → member: 2 of 7 (0.2857)"]
    table = runner.invoke(app, ["--db", db_url, "--as", "admin", "report", "list"], env=CLEAN_ENV)
    assert table.exit_code == 0 and "re_member_growth" in table.stdout
    assert "会员增长" in table.stdout
