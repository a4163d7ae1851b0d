"""Plugin contract v2: what hooks receive, as an industry plugin (a training school) uses it.

The ``school`` plugin below is written from ``crm_core.hookspecs`` alone: a
``student_lead`` kind with a title template and Chinese import headers, a
rule that depends on the stage, a strategy that routes by the record's
course, and listeners of record changes and logged activities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from crm_core import hookimpl
from crm_core.api import (
    ActivityView,
    Crm,
    FieldError,
    Load,
    Member,
    PluginError,
    RecordChange,
    RecordSnapshot,
    RecordView,
)
from crm_core.clock import ManualClock

ADMIN = "admin"

STAGES = """\
workflow: school
version: {version}
kind: student_lead
stages:
  - id: new
  - id: trial_booked
  - id: enrolled
    outcome: won
"""
ASSIGNMENT = """\
assignment:
  strategy: {strategy}
  members: [alice, bob]
"""


def _apply_workflow(crm: Crm, directory: Path, version: int, strategy: str | None) -> None:
    """Apply version ``version`` of the school's workflow; ``strategy`` None: no assignment."""
    text = STAGES.format(version=version)
    if strategy is not None:
        text += ASSIGNMENT.format(strategy=strategy)
    path = directory / f"school-{version}.yaml"
    path.write_text(text, encoding="utf-8")
    crm.apply_workflow(ADMIN, path)


class FewestOfCourse:
    """Gives a lead to the member with the fewest open leads of the same course."""

    def __init__(self, members: list[Member], state: dict[str, Any]) -> None:
        self.asked: list[str] = []

    def pick(
        self, eligible: Sequence[Member], load: Load, *, record: RecordSnapshot
    ) -> Member | None:
        course = record.fields.get("course")
        self.asked.append(record.title)
        mine = load.count(course=course)
        return min(eligible, key=lambda m: mine.get(m.user_id, 0), default=None)

    def state(self) -> dict[str, Any]:
        return {}


class School:
    """The training school's plugin; remembers what its hooks were given."""

    def __init__(self) -> None:
        self.changes: list[RecordChange] = []
        self.activities: list[tuple[ActivityView, RecordView, str | None]] = []
        self.refuse_activities = False

    @hookimpl
    def crm_register_kinds(self, register: Callable[..., None]) -> None:
        register(
            "student_lead",
            label={"en": "Student lead", "zh": "学员线索"},
            fields={
                "name": {"type": "string", "required": True, "label": {"en": "Name", "zh": "姓名"}},
                "phone": {"type": "string", "dedupe": "phone"},
                "course": {"type": "string"},
                "trial_date": {"type": "string", "format": "date"},
            },
            title="{name} · {course}",
            aliases={"姓名": "name", "手机": "phone", "课程": "course", "试听日期": "trial_date"},
        )

    @hookimpl
    def crm_validate_record(
        self, kind: str, fields: dict[str, Any], stage_after: str | None
    ) -> list[tuple[str, str]] | None:
        booked = kind == "student_lead" and stage_after == "trial_booked"
        if booked and not fields.get("trial_date"):
            return [("trial_date", "is required while the lead is in trial_booked")]
        return None

    @hookimpl
    def crm_register_assignment_strategies(self, register: Callable[..., None]) -> None:
        register("fewest_of_course", FewestOfCourse)

    @hookimpl
    def crm_record_changed(self, change: RecordChange) -> None:
        self.changes.append(change)

    @hookimpl
    def crm_activity_logged(
        self, activity: ActivityView, record: RecordView, actor: str | None
    ) -> None:
        if self.refuse_activities and activity.type == "complaint" and not activity.note:
            raise ValueError("a complaint needs a note")
        self.activities.append((activity, record, actor))


class OldRule:
    """A contract v1 rule: it names the four arguments v1 had, and keeps working."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any], Any, str]] = []

    @hookimpl
    def crm_validate_record(
        self, kind: str, fields: dict[str, Any], before: dict[str, Any] | None, actor: str
    ) -> list[tuple[str, str]] | None:
        self.seen.append((kind, fields, before, actor))
        return [("name", "no Bob here")] if fields.get("name") == "Bob" else None


@pytest.fixture
def school() -> School:
    return School()


@pytest.fixture
def crm_s(
    people: Crm, db_url: str, clock: ManualClock, school: School, tmp_path: Path
) -> Iterator[Crm]:
    """The people of conftest, with the school plugin and its workflow applied."""
    crm = Crm.open(db_url, clock=clock, extra_plugins=[("school", school)])
    _apply_workflow(crm, tmp_path, 1, "round_robin")
    yield crm
    crm.close()


def _lead(crm: Crm, name: str, phone: str, **fields: Any) -> int:
    values = {"name": name, "phone": phone, **fields}
    return crm.add_record(ADMIN, "student_lead", values, owner="alice").record.id


# -- RecordChange: one shape for every action ---------------------------------------------


def test_every_action_sends_whole_snapshots_and_the_changed_keys(
    crm_s: Crm, school: School
) -> None:
    rid = _lead(crm_s, "Li", "13800000001", course="python")
    crm_s.update_record(ADMIN, rid, {"course": "java"})
    crm_s.update_record(ADMIN, rid, owner="bob")
    crm_s.release("bob", rid, "not reachable", pool="east-pool")
    crm_s.claim("alice", rid)
    actions = [c.action for c in school.changes]
    assert actions == ["create", "update", "assign", "release", "claim"]
    create, update, assign, release, claim = school.changes
    assert create.before is None
    assert create.after.fields == {"name": "Li", "phone": "13800000001", "course": "python"}
    assert (create.after.owner, create.after.stage, create.after.title) == (
        "alice",
        "new",
        "Li · python",
    )
    assert update.changed == {"fields.course", "title"}
    assert (update.before.title, update.after.title) == ("Li · python", "Li · java")
    assert (assign.before.owner, assign.after.owner, assign.changed) == ("alice", "bob", {"owner"})
    assert (release.after.owner, release.after.pool) == (None, "east-pool")
    assert release.changed == {"owner", "pool"}
    assert (claim.before.pool, claim.after.owner) == ("east-pool", "alice")
    # every snapshot is whole: fields travel along with an owner change
    assert all(c.after.fields["course"] == "java" for c in (assign, release, claim))


def test_set_based_paths_send_the_same_shape(crm_s: Crm, school: School, tmp_path: Path) -> None:
    """An import (bulk insert) and an assignment pass (bulk update) read the states back."""
    csv = tmp_path / "leads.csv"
    csv.write_text("name,phone,course\nWang,13800000002,python\n", encoding="utf-8")
    report = crm_s.import_records(ADMIN, "student_lead", csv, auto_assign=True)
    assert report.created == 1  # and assigned by the workflow's pass, in the same batch
    create, assign = school.changes
    assert (create.action, create.before, create.after.title) == ("create", None, "Wang · python")
    assert create.after.owner is None and create.after.stage == "new"
    assert (assign.action, assign.before.owner, assign.after.owner) == ("assign", None, "alice")
    assert assign.changed == {"owner"}
    assert assign.before.fields == assign.after.fields == create.after.fields


# -- crm_validate_record with context -----------------------------------------------------


def test_a_rule_can_require_a_field_while_in_a_stage(crm_s: Crm) -> None:
    rid = _lead(crm_s, "Li", "13800000001", course="python")
    with pytest.raises(FieldError) as err:
        crm_s.move_record("alice", rid, "trial_booked")
    assert err.value.problems == [("trial_date", "is required while the lead is in trial_booked")]
    assert crm_s.get_record(ADMIN, rid).stage == "new"
    crm_s.update_record("alice", rid, {"trial_date": "2026-12-10"})
    crm_s.move_record("alice", rid, "trial_booked")
    before = len(crm_s.journal(ADMIN, record_id=rid))
    with pytest.raises(FieldError, match="trial_date"):
        crm_s.update_record("alice", rid, {"trial_date": None})
    assert crm_s.get_record(ADMIN, rid).fields["trial_date"] == "2026-12-10"
    assert len(crm_s.journal(ADMIN, record_id=rid)) == before


def test_an_old_shape_rule_keeps_working(db_url: str, crm: Crm, clock: ManualClock) -> None:
    rule = OldRule()
    old = Crm.open(db_url, clock=clock, extra_plugins=[("old", rule)])
    try:
        rid = old.add_record(ADMIN, "member", {"name": "Li"}).record.id
        with pytest.raises(FieldError, match="no Bob here"):
            old.update_record(ADMIN, rid, {"name": "Bob"})
    finally:
        old.close()
    assert rule.seen[0] == ("member", {"name": "Li", "plan": "monthly"}, None, ADMIN)
    assert rule.seen[1][2] == {"name": "Li", "plan": "monthly"}


# -- crm_activity_logged -------------------------------------------------------------------


def test_logged_activities_reach_plugins_and_a_refusal_rolls_back(
    crm_s: Crm, school: School
) -> None:
    rid = _lead(crm_s, "Li", "13800000001", course="python")
    crm_s.log_activity("alice", rid, "call", note="booked a trial")
    ((activity, record, actor),) = school.activities
    assert (activity.type, activity.note, actor) == ("call", "booked a trial", "alice")
    assert (record.id, record.title, record.last_activity_at) == (
        rid,
        "Li · python",
        activity.occurred_at,
    )
    school.refuse_activities = True
    with pytest.raises(PluginError) as err:
        crm_s.log_activity("alice", rid, "complaint")
    assert (err.value.exit_code, err.value.plugin, err.value.hook) == (
        6,
        "school",
        "crm_activity_logged",
    )
    assert [a.type for a in crm_s.list_activities(ADMIN, rid)] == ["call"]


# -- strategies with the record and a load query -------------------------------------------


def test_a_strategy_routes_by_the_records_content(crm_s: Crm, tmp_path: Path) -> None:
    """Fewest open leads of the same course: each course is balanced on its own."""
    _lead(crm_s, "A", "13800000011", course="python")  # alice: one python lead already
    _apply_workflow(crm_s, tmp_path, 2, None)  # the leads below wait for the pass
    ids = [
        crm_s.add_record(ADMIN, "student_lead", {"name": n, "phone": p, "course": c},
                         auto_assign=True).record.id
        for n, p, c in [("B", "13800000012", "python"), ("C", "13800000013", "java"),
                        ("D", "13800000014", "python"), ("E", "13800000015", "java")]
    ]  # fmt: skip
    _apply_workflow(crm_s, tmp_path, 3, "fewest_of_course")
    (result,) = crm_s.assign(ADMIN)
    owners = {r.id: (r.fields["course"], r.owner) for r in crm_s.list_records(ADMIN)}
    # B (python) -> bob (alice has one); C (java) -> alice (tie, first);
    # D (python) -> counts python alice 1, bob 1 -> alice; E (java) alice 1, bob 0 -> bob
    assert [owners[i] for i in ids] == [
        ("python", "bob"),
        ("java", "alice"),
        ("python", "alice"),
        ("java", "bob"),
    ]
    assert result.assigned == 4


# -- title templates and import aliases ------------------------------------------------------


def test_an_explicit_title_stands_until_a_templated_field_changes(crm_s: Crm) -> None:
    rid = _lead(crm_s, "Li", "13800000001")
    assert crm_s.get_record(ADMIN, rid).title == "Li"  # a missing value, its "·" dropped
    crm_s.update_record(ADMIN, rid, title="VIP Li")
    crm_s.update_record(ADMIN, rid, {"phone": "13800000009"})  # not in the template
    assert crm_s.get_record(ADMIN, rid).title == "VIP Li"
    crm_s.update_record(ADMIN, rid, {"course": "python"})
    assert crm_s.get_record(ADMIN, rid).title == "Li · python"


def test_chinese_headers_import_through_the_kinds_aliases(crm_s: Crm, tmp_path: Path) -> None:
    csv = tmp_path / "学员.csv"
    csv.write_text("姓名,手机,课程\n张三,13800000021,python\n李四,13800000022,\n", encoding="utf-8")
    report = crm_s.import_records(ADMIN, "student_lead", csv, owner="alice")
    assert (report.created, report.rejected) == (2, 0)
    got = {r.title: r.fields for r in crm_s.list_records(ADMIN)}
    assert got["张三 · python"] == {"name": "张三", "phone": "13800000021", "course": "python"}
    assert got["李四"]["phone"] == "13800000022"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"title": "{name} {nickname}"}, "title '{name} {nickname}' names unknown field(s)"),
        ({"title": "{name.__class__}"}, "is not a plain {field} slot"),
        ({"title": "{name:>10}"}, "is not a plain {field} slot"),
        ({"aliases": {"昵称": "nickname"}}, "aliases {'昵称': 'nickname'} name no field"),
    ],
)
def test_bad_templates_and_aliases_stop_the_crm_naming_the_plugin(
    extra: dict[str, Any], message: str
) -> None:
    class Bad:
        @hookimpl
        def crm_register_kinds(self, register: Callable[..., None]) -> None:
            register("pupil", fields={"name": {"type": "string"}}, **extra)

    with pytest.raises(PluginError, match="plugin 'bad' failed in crm_register_kinds") as err:
        Crm.open("sqlite://", extra_plugins=[("bad", Bad())])
    assert message in str(err.value)


def _readme_plugin() -> ModuleType:
    """docs/plugins.md's ``crm_gym/plugin.py``, exactly as printed there, as a module."""
    readme = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text(encoding="utf-8")
    start = readme.index("```python\n# crm_gym/plugin.py\n") + len("```python\n")
    module = ModuleType("crm_gym_plugin")
    exec(compile(readme[start : readme.index("```", start)], "plugins.md", "exec"), vars(module))
    return module


def test_the_readmes_plugin_example_works_as_printed(
    db_url: str, crm: Crm, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    gym = Crm.open(
        db_url,
        clock=clock,
        disabled_plugins=["testplugin"],
        extra_plugins=[("gym", _readme_plugin())],
    )
    try:
        rid = gym.add_record(ADMIN, "member", {"name": "Li", "plan": "yearly"}).record.id
        assert "Li (yearly) now belongs to admin" in capsys.readouterr().out
        assert gym.get_record(ADMIN, rid).title == "Li (yearly)"
        assert gym.kind("member").aliases["姓名"] == "name"
    finally:
        gym.close()


@pytest.mark.parametrize(
    ("kind", "csv", "expected"),
    [
        ("lead", "姓名,手机,公司,地区,预算\n王五,13800000031,华为,east,20000\n",
         {"name": "王五", "phone": "13800000031", "company": "华为", "region": "east",
          "budget": 20000, "source": "other"}),
        ("account", "公司名称,行业,地区,电话\n星海科技,制造,west,13800000032\n",
         {"company": "星海科技", "industry": "制造", "region": "west", "phone": "13800000032",
          "type": "end_customer", "key_account": False}),
        ("buyer", "客户姓名,手机,意向区域,预算上限,居室\n赵六,13800000033,朝阳,5000000,3\n",
         {"name": "赵六", "phone": "13800000033", "district": "朝阳", "budget_max": 5000000,
          "rooms": 3, "member_level": "none", "complaint_open": False}),
    ],
)  # fmt: skip
def test_the_shipped_plugins_read_chinese_headers(
    people: Crm, tmp_path: Path, kind: str, csv: str, expected: dict[str, Any]
) -> None:
    if kind not in {k.name for k in people.kinds()}:
        pytest.skip(f"the plugin of kind {kind} is not installed")
    path = tmp_path / f"{kind}.csv"
    path.write_text(csv, encoding="utf-8")
    report = people.import_records(ADMIN, kind, path, owner="alice")
    assert (report.created, report.rejected) == (1, 0), report.problems
    (record,) = people.list_records(ADMIN, kind=kind)
    assert record.fields == expected


def test_a_qualified_lead_keeps_its_budget(people: Crm) -> None:
    """The leads plugin's rule: what ``qualified`` required cannot be cleared there."""
    people.apply_workflow(ADMIN, Path(__file__).parents[1] / "workflows" / "leads.yaml")
    values = {"name": "Li", "phone": "13800000041", "budget": 20000, "region": "east"}
    rid = people.add_record("alice", "lead", values).record.id
    people.move_record("alice", rid, "contacted")
    people.log_activity("alice", rid, "call")
    people.move_record("alice", rid, "qualified")
    with pytest.raises(FieldError) as err:
        people.update_record("alice", rid, {"budget": None})
    assert err.value.problems == [("budget", "cannot be cleared while the lead is qualified")]
    people.update_record("alice", rid, {"budget": 30000})  # changing it is fine


def test_a_workflow_mapping_is_heard_as_moves(crm_s: Crm, school: School, tmp_path: Path) -> None:
    rid = _lead(crm_s, "Li", "13800000001", course="python", trial_date="2026-12-10")
    crm_s.move_record("alice", rid, "trial_booked")
    school.changes.clear()
    path = tmp_path / "renamed.yaml"
    text = STAGES.format(version=2).replace("trial_booked", "trial")
    path.write_text(text + ASSIGNMENT.format(strategy="round_robin"), encoding="utf-8")
    crm_s.apply_workflow(ADMIN, path, mapping={"trial_booked": "trial"})
    (move,) = school.changes
    assert (move.action, move.record_id, move.changed) == ("move", rid, {"stage"})
    assert (move.before.stage, move.after.stage) == ("trial_booked", "trial")
    assert move.after.fields["trial_date"] == "2026-12-10"


@pytest.mark.parametrize(
    ("module", "kind", "fields", "field", "stage", "other_stage"),
    [
        ("crm_b2b_accounts.plugin", "account", {"company": "X", "margin": 0.3}, "margin",
         "negotiation", "proposal"),
        ("crm_real_estate.plugin", "buyer", {"name": "Li", "phone": "1", "budget_max": 5e6},
         "budget_max", "signed", "intent"),
    ],
)  # fmt: skip
def test_the_shipped_rules_keep_what_a_stage_required(
    module: str, kind: str, fields: dict[str, Any], field: str, stage: str, other_stage: str
) -> None:
    rule = pytest.importorskip(module).crm_validate_record
    cleared = {k: v for k, v in fields.items() if k != field}
    problems = rule(kind=kind, fields=cleared, before=fields, stage_after=stage)
    assert [f for f, _why in problems] == [field]
    assert rule(kind=kind, fields=cleared, before=fields, stage_after=other_stage) == []
    assert rule(kind=kind, fields=fields, before=fields, stage_after=stage) == []
