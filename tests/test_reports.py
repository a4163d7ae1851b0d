"""Reports and dashboard alerts: every core report on a small exact data set, on both backends.

The data set (``pipeline``) is built through the public API only: a lead
workflow written to ``tmp_path``, seven leads of alice, bob and carol moved
through the stages on a test clock, activities and deals. Each test asserts
the report's rows exactly. Tests with a "Regression:" comment cover bugs these
tests found in ``crm_core/reports/core.py``; they were fixed while this file
was written.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from crm_core import hookimpl
from crm_core.api import Crm, InvalidInput, NotFound, ReportContext, ReportResult
from crm_core.cli.main import app
from crm_core.clock import ManualClock
from crm_core.errors import PluginError
from crm_core.models import Activity

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the test clock's start (conftest)
DAY = timedelta(days=1)

WORKFLOW = """\
workflow: leads
version: 1
kind: lead
timezone: UTC
stages:
  - {id: new, probability: 0.1}
  - {id: contacted, probability: 0.3}
  - {id: qualified, probability: 0.6}
  - {id: won, outcome: won, probability: 1}
  - {id: lost, outcome: lost, probability: 0, lost_reasons: [no_budget]}
pools:
  - id: public
    members: [alice, bob]
    return:
      - id: idle
        when: {days_since: last_activity, gt: 14}
    exempt: {stage: [won, lost]}
"""

# (owner, source) of leads L1..L7, in id order after the admin's user rows.
LEADS = [
    ("alice", "web"),
    ("alice", "web"),
    ("alice", "ad"),
    ("alice", "event"),
    ("bob", "web"),
    ("bob", "ad"),
    ("carol", "event"),
]


@dataclass
class Pipeline:
    """The CRM with the data set, the leads' ids by number (1..7), and the clock."""

    crm: Crm
    ids: dict[int, int]
    clock: ManualClock
    db_url: str

    def run(self, name: str, actor: str = "admin", **options: Any) -> list[list[Any]]:
        """The rows of a report."""
        return self.crm.run_report(actor, name, **options).rows


def add_lead(crm: Crm, n: int, owner: str, source: str) -> int:
    """A lead with a phone of its own (phones are dedupe keys)."""
    fields = {"name": f"Lead {n}", "phone": f"1390000{n:04d}", "source": source}
    return crm.add_record("admin", "lead", fields, owner=owner).record.id


@pytest.fixture
def pipeline(people: Crm, clock: ManualClock, tmp_path: Path, db_url: str) -> Pipeline:
    """Seven leads created at START, then (days after START):

    1: L1 L2 L5 L6 contacted, L3 lost; 2: call on L6; 3: L1 L5 L6 qualified;
    4: L1 won, feedback on L1; 5: call on L2; 6: L5 won, feedback on L5; 10: now.
    Deals: L1 two won, L5 one won, L6 one open.
    """
    crm = people
    path = tmp_path / "leads.yaml"
    path.write_text(WORKFLOW, encoding="utf-8")
    crm.apply_workflow("admin", path)
    ids = {n: add_lead(crm, n, owner, source) for n, (owner, source) in enumerate(LEADS, 1)}
    clock.advance(DAY)
    for n in (1, 2, 5, 6):
        crm.move_record("admin", ids[n], "contacted")
    crm.move_record("admin", ids[3], "lost", reason="no_budget")
    clock.advance(DAY)
    crm.log_activity("bob", ids[6], "call")
    clock.advance(DAY)
    for n in (1, 5, 6):
        crm.move_record("admin", ids[n], "qualified")
    clock.advance(DAY)
    crm.move_record("admin", ids[1], "won")
    crm.log_activity("alice", ids[1], "feedback", note="happy")
    clock.advance(DAY)
    crm.log_activity("alice", ids[2], "call")
    clock.advance(DAY)
    crm.move_record("admin", ids[5], "won")
    crm.log_activity("bob", ids[5], "feedback")
    clock.advance(4 * DAY)
    crm.add_deal("alice", ids[1], "First order", amount=100, stage="won")
    crm.add_deal("alice", ids[1], "Second order", amount=200, stage="won")
    crm.add_deal("bob", ids[5], "Only order", amount=50, stage="won")
    crm.add_deal("bob", ids[6], "Maybe", amount=70)
    return Pipeline(crm, ids, clock, db_url)


# -- pipeline reports -------------------------------------------------------------


def test_funnel_counts_stages_reached_and_conversion(pipeline: Pipeline) -> None:
    # Regression: a lost record counted in no stage's "reached", though every record
    # starts in the first stage; "new" said 6 reached, not 7.
    assert pipeline.run("funnel", kind="lead") == [
        ["new", 2, 7, None, 0.1],
        ["contacted", 1, 4, 0.5714, 0.3],
        ["qualified", 1, 3, 0.75, 0.6],
        ["won", 2, 2, 0.6667, 1],
        ["lost", 1, None, None, 0],
    ]
    # A record lost from "qualified" still reached it.
    pipeline.crm.move_record("admin", pipeline.ids[6], "lost", reason="no_budget")
    assert pipeline.run("funnel", kind="lead") == [
        ["new", 2, 7, None, 0.1],
        ["contacted", 1, 4, 0.5714, 0.3],
        ["qualified", 0, 3, 0.75, 0.6],
        ["won", 2, 2, 0.6667, 1],
        ["lost", 2, None, None, 0],
    ]


def test_time_in_stage_from_the_journal(pipeline: Pipeline) -> None:
    # new: L1 L2 L3 L5 L6 one day each, L4 L7 ten days; contacted: L1 L5 L6 2, L2 9;
    # qualified: L1 1, L5 3, L6 7; won: L1 6, L5 4; lost: L3 9.
    assert pipeline.run("time_in_stage", kind="lead") == [
        ["new", 7, 3.57, 10.0],
        ["contacted", 4, 3.75, 9.0],
        ["qualified", 3, 3.67, 7.0],
        ["won", 2, 5.0, 6.0],
        ["lost", 1, 9.0, 9.0],
    ]


def test_win_rate_by_owner(pipeline: Pipeline) -> None:
    assert pipeline.run("win_rate_by_owner", kind="lead") == [
        ["alice", 4, 1, 1, 0.5],
        ["bob", 2, 1, 0, 1.0],
        ["carol", 1, 0, 0, None],
    ]


def test_reports_per_user_group_by_team(pipeline: Pipeline) -> None:
    team = {"alice": "east", "bob": "east", "carol": "west", "mia": "east"}
    team_param = {"group": "team"}
    for report in ("win_rate_by_owner", "follow_up_compliance"):
        per_owner = pipeline.run(report, kind="lead")
        sums: dict[str, list[int]] = {}
        for name, *counts in per_owner:
            row = sums.setdefault(team[name], [0] * len(counts))
            row[:-1] = [a + (b or 0) for a, b in zip(row[:-1], counts[:-1], strict=True)]
        result = pipeline.crm.run_report("admin", report, kind="lead", params=team_param)
        assert result.columns[0] == "team"
        assert [r[:-1] for r in result.rows] == [[t, *c[:-1]] for t, c in sorted(sums.items())]
    assert pipeline.run("win_rate_by_owner", kind="lead", params=team_param) == [
        ["east", 6, 2, 1, 0.6667],  # alice 4 records (1 won, 1 lost), bob 2 (1 won)
        ["west", 1, 0, 0, None],
    ]
    assert pipeline.run("follow_up_compliance", "mia", kind="lead", params=team_param) == [
        ["east", 3, 2, 0.3333]
    ]
    with pytest.raises(InvalidInput, match="group"):
        pipeline.run("win_rate_by_owner", kind="lead", params={"group": "region"})


def test_conversion_by_field(pipeline: Pipeline) -> None:
    # Regression: ties (ad and event, two records each) came back in any order.
    assert pipeline.run("conversion_by_field", kind="lead", by="source") == [
        ["web", 3, 2, 0.6667],
        ["ad", 2, 0, 0.0],
        ["event", 2, 0, 0.0],
    ]


def test_conversion_by_field_leaves_archived_records_out(pipeline: Pipeline) -> None:
    # L2 (web), L5 (web, won) and L7 (event) archived. An admin's report of an indexed
    # field counts from the field's index and takes the archived records off.
    for n in (2, 5, 7):
        pipeline.crm.archive_record("admin", pipeline.ids[n])
    assert pipeline.run("conversion_by_field", kind="lead", by="source") == [
        ["ad", 2, 0, 0.0],
        ["event", 1, 0, 0.0],
        ["web", 1, 1, 1.0],
    ]
    # Fields without a value (indexed or not) come together under None.
    assert pipeline.run("conversion_by_field", kind="lead", by="region") == [[None, 4, 1, 0.25]]
    assert pipeline.run("conversion_by_field", kind="lead", by="budget") == [[None, 4, 1, 0.25]]


@pytest.mark.parametrize(
    ("name", "options", "from_table"),
    [
        ("funnel", {"kind": "lead"}, {"since": START - DAY}),
        ("conversion_by_field", {"kind": "lead", "by": "source"}, {"since": START - DAY}),
        ("customer_growth", {"kind": "lead"}, {"kind": None}),
    ],
)
def test_an_admins_report_from_indexes_equals_one_from_the_table(
    pipeline: Pipeline, name: str, options: dict[str, Any], from_table: dict[str, Any]
) -> None:
    # An admin's report of one kind reads the core's and the fields' indexes; with a
    # --since before every record (growth: over all kinds, leads only here) it reads
    # the table. Both count the same records.
    crm, ids = pipeline.crm, pipeline.ids
    crm.archive_record("admin", ids[3])
    crm.archive_record("admin", ids[5])
    pipeline.clock.advance(60 * DAY)  # May: April brought nothing
    add_lead(crm, 8, "alice", "ad")
    from_indexes = pipeline.run(name, **options)
    assert from_indexes == pipeline.run(name, **{**options, **from_table})
    assert from_indexes != []


def test_follow_up_compliance(pipeline: Pipeline) -> None:
    # Open at day 10: L2 (call on day 5), L4 (never), L6 (call on day 2), L7 (never).
    assert pipeline.run("follow_up_compliance", kind="lead") == [
        ["alice", 2, 1, 0.5],
        ["bob", 1, 1, 0.0],
        ["carol", 1, 1, 0.0],
    ]
    assert pipeline.run("follow_up_compliance", kind="lead", params={"days": "4"}) == [
        ["alice", 2, 2, 0.0],
        ["bob", 1, 1, 0.0],
        ["carol", 1, 1, 0.0],
    ]
    assert pipeline.run("follow_up_compliance", kind="lead", params={"days": "11"}) == [
        ["alice", 2, 0, 1.0],
        ["bob", 1, 0, 1.0],
        ["carol", 1, 0, 1.0],
    ]
    with pytest.raises(InvalidInput, match="days"):
        pipeline.run("follow_up_compliance", kind="lead", params={"days": "a week"})


def test_follow_up_compliance_counts_from_the_hand_over(pipeline: Pipeline) -> None:
    # Regression: a record claimed a moment ago counted as idle for its new owner,
    # though the workflow's own "days since last activity" restarts at the hand-over.
    crm, ids = pipeline.crm, pipeline.ids
    crm.release("alice", ids[4], "not my region")
    crm.claim("bob", ids[4])
    assert pipeline.run("follow_up_compliance", kind="lead") == [
        ["alice", 1, 0, 1.0],
        ["bob", 2, 1, 0.5],
        ["carol", 1, 1, 0.0],
    ]


# -- pools ------------------------------------------------------------------------


def test_pool_stats_claims_releases_and_returns(pipeline: Pipeline) -> None:
    crm, ids = pipeline.crm, pipeline.ids
    crm.release("alice", ids[4], "not my region")
    crm.claim("bob", ids[4])
    pipeline.clock.advance(10 * DAY)  # day 20: L2, L6, L7 idle past 14 days; L4 claimed on 10
    (swept,) = crm.sweep(None)
    assert swept.returned == 3
    assert pipeline.run("pool_stats", kind="lead") == [
        ["alice", 0, 1, 1, 0],
        ["bob", 1, 0, 1, 0],
        ["carol", 0, 0, 1, 0],
    ]
    # Regression: every operator saw everybody's pool activity; now only their own
    # (managers: their team's).
    assert pipeline.run("pool_stats", "alice", kind="lead") == [["alice", 0, 1, 1, 0]]
    assert pipeline.run("pool_stats", "mia", kind="lead") == [
        ["alice", 0, 1, 1, 0],
        ["bob", 1, 0, 1, 0],
    ]
    assert pipeline.run("pool_stats", "mia", kind="lead", params={"group": "team"}) == [
        ["east", 1, 1, 2, 0],
    ]
    # --since counts journal rows from that moment: the sweep's returns only.
    since = START + 15 * DAY
    assert pipeline.run("pool_stats", kind="lead", since=since) == [
        ["alice", 0, 0, 1, 0],
        ["bob", 0, 0, 1, 0],
        ["carol", 0, 0, 1, 0],
    ]


# -- customers --------------------------------------------------------------------


def test_customer_growth_by_month(pipeline: Pipeline) -> None:
    crm, clock = pipeline.crm, pipeline.clock
    clock.advance(20 * DAY)  # 2026-04-01
    add_lead(crm, 8, "alice", "web")
    clock.advance(31 * DAY)  # 2026-05-02
    add_lead(crm, 9, "bob", "web")
    add_lead(crm, 10, "bob", "web")
    assert pipeline.run("customer_growth", kind="lead") == [
        ["2026-03", 7, 7],
        ["2026-04", 1, 8],
        ["2026-05", 2, 10],
    ]
    since = datetime(2026, 4, 1, tzinfo=UTC)
    assert pipeline.run("customer_growth", kind="lead", since=since) == [
        ["2026-04", 1, 1],
        ["2026-05", 2, 3],
    ]
    assert pipeline.run("customer_growth") == pipeline.run("customer_growth", kind="lead")


def test_customer_growth_leaves_out_empty_months_and_archived_records(
    pipeline: Pipeline,
) -> None:
    crm, clock = pipeline.crm, pipeline.clock
    crm.archive_record("admin", pipeline.ids[1])
    clock.advance(61 * DAY)  # 2026-05-12: April brought nothing
    add_lead(crm, 8, "alice", "web")
    clock.advance(240 * DAY)  # 2027-01-07: into the next year
    add_lead(crm, 9, "bob", "web")
    crm.archive_record("admin", add_lead(crm, 10, "bob", "ad"))
    expected = [["2026-03", 6, 6], ["2026-05", 1, 7], ["2027-01", 1, 8]]
    assert pipeline.run("customer_growth", kind="lead") == expected
    assert pipeline.run("customer_growth") == expected
    assert pipeline.run("customer_growth", "mia", kind="lead") == [
        ["2026-03", 5, 5],
        ["2026-05", 1, 6],
        ["2027-01", 1, 7],
    ]
    since = datetime(2026, 5, 11, tzinfo=UTC)
    assert pipeline.run("customer_growth", kind="lead", since=since) == [
        ["2026-05", 1, 1],
        ["2027-01", 1, 2],
    ]


def test_retention_and_churn_by_month(pipeline: Pipeline) -> None:
    # March: L1 L2 L5 L6 active. April: L1, L4. May: none. June: L4.
    # Regression: a month without any activity was left out, so June was compared
    # with April and L4 counted as retained.
    crm, clock, ids = pipeline.crm, pipeline.clock, pipeline.ids
    clock.advance(20 * DAY)  # 2026-04-01
    crm.log_activity("alice", ids[1], "call")
    crm.log_activity("alice", ids[4], "visit")
    clock.advance(61 * DAY)  # 2026-06-01
    crm.log_activity("alice", ids[4], "call")
    assert pipeline.run("retention", kind="lead") == [
        ["2026-03", 4, None, None, None],
        ["2026-04", 2, 1, 3, 0.25],
        ["2026-05", 0, 0, 2, 0.0],
        ["2026-06", 1, 0, 0, None],
    ]


def test_repeat_purchase(pipeline: Pipeline) -> None:
    assert pipeline.run("repeat_purchase", kind="lead") == [[2, 1, 0.5]]
    assert pipeline.run("repeat_purchase", "bob", kind="lead") == [[1, 0, 0.0]]
    assert pipeline.run("repeat_purchase", "carol", kind="lead") == [[0, 0, None]]


def set_score(crm: Crm, activity_id: int, score: Any) -> None:
    """Give a feedback activity its ``score``.

    ``Crm.log_activity`` takes no structured data yet, so this writes the
    activity's ``data`` column directly (the satisfaction report reads it).
    """
    with crm.engine.begin() as conn:
        conn.execute(update(Activity).where(Activity.id == activity_id).values(data=score))


def test_satisfaction_averages_feedback_scores(pipeline: Pipeline) -> None:
    crm, ids, clock = pipeline.crm, pipeline.ids, pipeline.clock
    feedback = [a for n in (1, 5) for a in crm.list_activities("admin", ids[n])]
    set_score(crm, feedback[0].id, {"score": 4})
    set_score(crm, feedback[1].id, {"score": 5})
    clock.advance(20 * DAY)  # 2026-04-01
    later = crm.log_activity("alice", ids[1], "feedback")
    set_score(crm, later.id, {"score": 2})
    crm.log_activity("alice", ids[2], "feedback")  # no score: counted, not averaged
    crm.log_activity("alice", ids[2], "call")  # not feedback
    assert pipeline.run("satisfaction", kind="lead") == [
        ["2026-03", 2, 4.5],
        ["2026-04", 2, 2.0],
    ]
    assert pipeline.run("satisfaction", "bob", kind="lead") == [["2026-03", 1, 5.0]]


# -- visibility, options and errors ---------------------------------------------------


def test_an_operator_counts_only_records_they_may_see(pipeline: Pipeline) -> None:
    assert pipeline.run("funnel", "alice", kind="lead") == [
        ["new", 1, 4, None, 0.1],
        ["contacted", 1, 2, 0.5, 0.3],
        ["qualified", 0, 1, 0.5, 0.6],
        ["won", 1, 1, 1.0, 1],
        ["lost", 1, None, None, 0],
    ]
    assert pipeline.run("win_rate_by_owner", "carol", kind="lead") == [["carol", 1, 0, 0, None]]
    assert pipeline.run("win_rate_by_owner", "mia", kind="lead") == [
        ["alice", 4, 1, 1, 0.5],
        ["bob", 2, 1, 0, 1.0],
    ]
    assert pipeline.run("follow_up_compliance", "bob", kind="lead") == [["bob", 1, 1, 0.0]]
    assert pipeline.run("customer_growth", "carol") == [["2026-03", 1, 1]]


def test_since_counts_records_created_from_then(pipeline: Pipeline) -> None:
    crm, clock = pipeline.crm, pipeline.clock
    add_lead(crm, 8, "carol", "web")
    since = clock()
    clock.advance(DAY)
    add_lead(crm, 9, "carol", "ad")
    assert pipeline.run("conversion_by_field", kind="lead", by="source", since=since) == [
        ["ad", 1, 0, 0.0],
        ["web", 1, 0, 0.0],
    ]
    assert [r[:2] for r in pipeline.run("funnel", kind="lead", since=since)] == [
        ["new", 2],
        ["contacted", 0],
        ["qualified", 0],
        ["won", 0],
        ["lost", 0],
    ]


def test_refusals(pipeline: Pipeline) -> None:
    with pytest.raises(NotFound, match=r"no report 'nope'.*funnel"):
        pipeline.run("nope", kind="lead")
    with pytest.raises(InvalidInput, match="funnel needs --kind"):
        pipeline.run("funnel")
    with pytest.raises(NotFound):
        pipeline.run("funnel", kind="nokind")
    with pytest.raises(InvalidInput, match="conversion_by_field needs --by"):
        pipeline.run("conversion_by_field", kind="lead")
    with pytest.raises(InvalidInput, match="--by shoe_size: no field 'shoe_size' in lead"):
        pipeline.run("conversion_by_field", kind="lead", by="shoe_size")


def test_a_pipeline_report_needs_a_workflow(people: Crm) -> None:
    add_lead(people, 1, "alice", "web")
    with pytest.raises(InvalidInput, match="no workflow is applied to lead"):
        people.run_report("admin", "funnel", kind="lead")


def test_report_list_names_every_core_report(crm: Crm) -> None:
    core = {r.name: r for r in crm.reports() if r.plugin == "core"}
    assert sorted(core) == [
        "conversion_by_field", "customer_growth", "follow_up_compliance", "funnel",
        "pool_stats", "repeat_purchase", "retention", "satisfaction", "time_in_stage",
        "win_rate_by_owner",
    ]  # fmt: skip
    assert core["funnel"].needs_kind and not core["customer_growth"].needs_kind
    assert core["funnel"].label == {"en": "Funnel", "zh": "销售漏斗"}


class BadReports:
    """A plugin whose report fails, and one that works."""

    @staticmethod
    @hookimpl
    def crm_register_reports(register: Callable[..., None]) -> None:
        def broken(ctx: ReportContext) -> ReportResult:
            raise ZeroDivisionError("division by zero")

        def leads(ctx: ReportContext) -> ReportResult:
            from sqlalchemy import func

            (n,) = ctx.session.execute(ctx.records(func.count())).one()
            return ReportResult("leads", "Leads", ["leads"], [[n]])

        register("broken", broken, label={"en": "Broken", "zh": "坏"})
        register("leads_seen", leads)


def test_a_plugin_report_that_raises_names_the_plugin(db_url: str, clock: ManualClock) -> None:
    crm = Crm.open(db_url, clock=clock, extra_plugins=[("bad", BadReports())])
    try:
        with pytest.raises(PluginError, match="bad") as failure:
            crm.run_report("admin", "broken")
        assert failure.value.exit_code == 6
        assert crm.run_report("admin", "leads_seen").rows == [[0]]
        assert {r.name: r.plugin for r in crm.reports()}["broken"] == "bad"
    finally:
        crm.close()


# -- the CLI ------------------------------------------------------------------------

CLEAN_ENV = {"CRM_USER": None, "CRM_DATABASE_URL": None, "CRM_DEBUG": None, "COLUMNS": "200"}


@dataclass
class Cli:
    """``crm --db URL --as USER …`` through typer's runner."""

    db_url: str
    runner: CliRunner = field(default_factory=CliRunner)

    def run(self, *args: str, user: str = "admin") -> Any:
        return self.runner.invoke(app, ["--db", self.db_url, "--as", user, *args], env=CLEAN_ENV)

    def ok(self, *args: str, user: str = "admin") -> str:
        result = self.run(*args, user=user)
        assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
        assert result.stderr == ""
        return str(result.stdout)

    def fails(self, code: int, *args: str, user: str = "admin") -> str:
        result = self.run(*args, user=user)
        assert result.exit_code == code, (args, result.exit_code, result.stderr, result.stdout)
        assert "Traceback" not in result.output
        assert result.stdout == ""
        return str(result.stderr)


def test_cli_report_list_and_formats(pipeline: Pipeline) -> None:
    cli = Cli(pipeline.db_url)
    listing = cli.ok("report", "list")
    for name in ("funnel", "satisfaction", "pool_stats", "销售漏斗"):
        assert name in listing
    assert json.loads(cli.ok("report", "funnel", "--kind", "lead", "--format", "json")) == {
        "name": "funnel",
        "title": "Funnel of lead",
        "columns": ["stage", "records", "reached", "conversion", "probability"],
        "rows": pipeline.run("funnel", kind="lead"),
        "notes": [],
    }
    text = cli.ok("report", "funnel", "--kind", "lead", "--format", "csv")
    assert list(csv.reader(io.StringIO(text))) == [
        ["stage", "records", "reached", "conversion", "probability"],
        ["new", "2", "7", "", "0.1"],
        ["contacted", "1", "4", "0.5714", "0.3"],
        ["qualified", "1", "3", "0.75", "0.6"],
        ["won", "2", "2", "0.6667", "1"],
        ["lost", "1", "", "", "0"],
    ]
    table = cli.ok("report", "funnel", "--kind", "lead")
    assert "Funnel of lead" in table and "contacted" in table and "0.5714" in table
    seen = cli.ok("report", "win_rate_by_owner", "--kind", "lead", "--format", "csv", user="bob")
    assert seen.splitlines()[1:] == ["bob,2,1,0,1.0"]
    growth = cli.ok("report", "customer_growth", "--since", "2026-03-01", "--format", "csv")
    assert growth.splitlines() == ["month,new,total", "2026-03,7,7"]
    days = cli.ok("report", "follow_up_compliance", "--param", "days=1000", "--format", "csv")
    assert days.splitlines()[1] == "alice,2,0,1.0"


def test_cli_report_refusals(pipeline: Pipeline) -> None:
    cli = Cli(pipeline.db_url)
    assert "--format" in cli.fails(2, "report", "funnel", "--kind", "lead", "--format", "xml")
    assert "needs --kind" in cli.fails(2, "report", "funnel")
    assert "no report 'nope'" in cli.fails(4, "report", "nope")
    assert "no field 'x'" in cli.fails(2, "report", "conversion_by_field", "--kind", "lead",
                                       "--by", "x")  # fmt: skip
    assert "--since" in cli.fails(2, "report", "customer_growth", "--since", "yesterday-ish")


# -- dashboard alerts (超量预警) ------------------------------------------------------

SHIPPED = Path(__file__).parent.parent / "crm_core" / "shipped" / "dashboards" / "dashboard.yaml"

DASHBOARD = """\
dashboard: test
figures:
  - id: idle
    label: {en: Idle leads, zh: 未跟进线索}
    report: follow_up_compliance
    kind: lead
    params: {days: 7}
    value: {column: idle, aggregate: sum}
    alert: {above: 2}
  - id: worst-compliance
    report: follow_up_compliance
    kind: lead
    params: {days: 4}
    value: {column: compliant, aggregate: min}
    alert: {below: 0}
  - id: won
    label: Won leads
    report: funnel
    kind: lead
    value: {column: records, aggregate: first, where: {stage: won}}
    alert: {below: 3}
  - id: owners
    report: win_rate_by_owner
    kind: lead
    value: {aggregate: count}
    alert: {above: 3, below: 1}
  - id: best-win-rate
    report: win_rate_by_owner
    kind: lead
    value: {column: win_rate, aggregate: max}
    alert: {above: 0.99}
  - id: average-win-rate
    report: win_rate_by_owner
    kind: lead
    value: {column: win_rate, aggregate: avg}
    alert: {below: 0.75}
  - id: recent
    report: customer_growth
    since_days: 5
    value: {column: new, aggregate: sum}
    alert: {below: 1}
"""


def write(tmp_path: Path, text: str, name: str = "dashboard.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def values(figures: list[Any]) -> list[tuple[str, Any, bool]]:
    return [(f.id, f.value, f.alert) for f in figures]


def test_alerts_compute_every_figure_and_its_threshold(pipeline: Pipeline, tmp_path: Path) -> None:
    path = write(tmp_path, DASHBOARD)
    figures = pipeline.crm.alerts("admin", path)
    assert values(figures) == [
        ("idle", 3, True),  # L4, L6, L7 idle: above 2
        ("worst-compliance", 0.0, False),  # not below 0
        ("won", 2, True),  # below 3
        ("owners", 3, False),  # neither above 3 nor below 1
        ("best-win-rate", 1.0, True),
        ("average-win-rate", 0.75, False),  # avg of 0.5 and 1.0; carol's None is skipped
        ("recent", 0, True),  # nothing created in the last 5 days
    ]
    assert figures[0].to_dict() == {
        "id": "idle", "label": {"en": "Idle leads", "zh": "未跟进线索"},
        "report": "follow_up_compliance", "kind": "lead", "value": 3, "above": 2,
        "below": None, "alert": True, "rows": 3,
    }  # fmt: skip
    assert figures[2].label == {"en": "Won leads", "zh": "Won leads"}
    # Each report runs as the actor: bob sees his own leads only.
    assert values(pipeline.crm.alerts("bob", path)) == [
        ("idle", 1, False),
        ("worst-compliance", 0.0, False),
        ("won", 1, True),
        ("owners", 1, False),
        ("best-win-rate", 1.0, True),
        ("average-win-rate", 1.0, False),
        ("recent", 0, True),
    ]


def test_thresholds_are_strict_and_an_empty_figure_crosses_none(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    text = """\
figures:
  - {id: at-above, report: funnel, kind: lead, value: {aggregate: count}, alert: {above: 5}}
  - {id: at-below, report: funnel, kind: lead, value: {aggregate: count}, alert: {below: 5}}
  - id: nothing
    report: funnel
    kind: lead
    value: {column: conversion, aggregate: max, where: {stage: nowhere}}
    alert: {below: 1}
"""
    figures = pipeline.crm.alerts("admin", write(tmp_path, text))
    assert values(figures) == [
        ("at-above", 5, False),
        ("at-below", 5, False),
        ("nothing", None, False),
    ]
    assert figures[2].rows == 0


PROBLEMS = [
    ("figures:\n  - id: a\n    report: [funnel\n", "dashboard.yaml:4:1: YAML syntax"),
    ("figures: []\n", "dashboard.yaml:1:10: figures: [] should be non-empty"),
    (
        "figures:\n  - id: a\n    report: funnel\n    kind: lead\n    colour: red\n"
        "    value: {aggregate: count}\n    alert: {above: 1}\n",
        "dashboard.yaml:5:5: figures[0].colour: unknown key",
    ),
    (
        "figures:\n  - id: a\n    report: funnel\n    kind: lead\n"
        "    value: {column: records, aggregate: median}\n    alert: {above: 1}\n",
        "dashboard.yaml:5:41: figures[0].value.aggregate: 'median' is not one of",
    ),
    (
        "figures:\n  - id: a\n    report: funnel\n    kind: lead\n"
        "    value: {aggregate: sum}\n    alert: {above: 1}\n",
        "dashboard.yaml:5:12: figures[0].value: 'column' is a required property",
    ),
    (
        "figures:\n  - id: a\n    report: funnel\n    kind: lead\n"
        "    value: {aggregate: count}\n    alert: {}\n",
        "dashboard.yaml:6:12: figures[0].alert: {} should be non-empty",
    ),
    (
        "figures:\n  - id: a\n    report: funel\n    kind: lead\n"
        "    value: {aggregate: count}\n    alert: {above: 1}\n",
        "dashboard.yaml:3:13: figures[0].report: no report 'funel' (reports: ",
    ),
    (
        "figures:\n  - id: a\n    report: funnel\n"
        "    value: {aggregate: count}\n    alert: {above: 1}\n",
        "dashboard.yaml:2:5: figures[0]: report funnel needs `kind:`",
    ),
    (
        "figures:\n  - id: a\n    report: funnel\n    kind: leed\n"
        "    value: {aggregate: count}\n    alert: {above: 1}\n",
        "dashboard.yaml:4:11: figures[0].kind: no kind 'leed'",
    ),
    (
        "figures:\n  - id: a\n    report: conversion_by_field\n    kind: lead\n    by: colour\n"
        "    value: {aggregate: count}\n    alert: {above: 1}\n",
        "dashboard.yaml:5:9: figures[0].by: no field 'colour' in lead",
    ),
    (
        "figures:\n  - {id: a, report: funnel, kind: lead, value: {aggregate: count}, "
        "alert: {above: 1}}\n  - {id: a, report: funnel, kind: lead, value: {aggregate: count},"
        " alert: {above: 1}}\n",
        "dashboard.yaml:3:10: figures[1].id: figure id 'a' is used twice",
    ),
]


@pytest.mark.parametrize(("text", "problem"), PROBLEMS)
def test_a_bad_dashboard_is_refused_with_located_errors(
    pipeline: Pipeline, tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidInput) as refused:
        pipeline.crm.alerts("admin", path)
    assert str(refused.value).startswith(f"{tmp_path}/{problem}"), str(refused.value)


def test_unknown_columns_and_refused_reports_are_located(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    base = "figures:\n  - id: a\n    report: {report}\n    kind: lead\n    value: {value}\n" \
           "    alert: {{above: 1}}\n"  # fmt: skip
    cases = [
        ("funnel", "{column: recs, aggregate: sum}",
         "5:21: figures[0].value.column: report funnel has no column 'recs' (stage, records,"),
        ("funnel", "{aggregate: count, where: {step: won}}",
         "5:45: figures[0].value.where.step: report funnel has no column 'step'"),
        ("funnel", "{column: stage, aggregate: max}",
         "5:21: figures[0].value.column: column 'stage' holds 'new', not a number"),
        ("conversion_by_field", "{aggregate: count}",
         "3:13: figures[0].report: conversion_by_field needs --by FIELD"),
    ]  # fmt: skip
    for report, value, problem in cases:
        path = write(tmp_path, base.format(report=report, value=value))
        with pytest.raises(InvalidInput) as refused:
            pipeline.crm.alerts("admin", path)
        assert str(refused.value).startswith(f"{path}:{problem}"), str(refused.value)
    with pytest.raises(InvalidInput, match="cannot read"):
        pipeline.crm.alerts("admin", tmp_path / "missing.yaml")


def test_the_shipped_dashboard_is_valid(pipeline: Pipeline) -> None:
    figures = pipeline.crm.alerts("admin", SHIPPED)
    by_id = {f.id: (f.value, f.alert) for f in figures}
    assert by_id["won-leads"] == (2, False)
    assert by_id["qualified-to-won"] == (0.6667, False)
    assert by_id["idle-leads"] == (3, False)


def test_cli_alerts(pipeline: Pipeline, tmp_path: Path) -> None:
    cli = Cli(pipeline.db_url)
    path = str(write(tmp_path, DASHBOARD))
    shown = json.loads(cli.ok("alerts", path, "--json"))
    assert [f["id"] for f in shown] == ["idle", "won", "best-win-rate", "recent"]
    every = json.loads(cli.ok("alerts", path, "--all", "--json"))
    assert [f["id"] for f in every] == [
        "idle", "worst-compliance", "won", "owners", "best-win-rate", "average-win-rate", "recent",
    ]  # fmt: skip
    table = cli.ok("alerts", path)
    assert "alerts (4 of 7 figures)" in table and "ALERT" in table and "> 2" in table
    assert "worst-compliance" not in table
    assert "worst-compliance" in cli.ok("alerts", path, "--all")
    bad = write(tmp_path, "figures:\n  - id: a\n    report: nope\n", name="bad.yaml")
    error = cli.fails(2, "alerts", str(bad))
    assert f"{bad}:2:5: figures[0]: 'value' is a required property" in error
    assert "cannot read" in cli.fails(2, "alerts", str(tmp_path / "missing.yaml"))


def test_cli_alerts_without_a_file_works_from_any_folder(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = Cli(pipeline.db_url)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    # No ./dashboards here: the dashboard shipped inside the package.
    shipped = json.loads(cli.ok("alerts", "--all", "--json"))
    assert [f["id"] for f in shipped] == [f.id for f in pipeline.crm.alerts("admin", SHIPPED)]
    # A folder with its own dashboards/dashboard.yaml: that one.
    (elsewhere / "dashboards").mkdir()
    write(elsewhere / "dashboards", DASHBOARD, name="dashboard.yaml")
    own = json.loads(cli.ok("alerts", "--all", "--json"))
    assert [f["id"] for f in own][:2] == ["idle", "worst-compliance"]
