"""Plugins' condition operators and workflow actions: validated, compiled, run and contained."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import ColumnElement

from crm_core import hookimpl
from crm_core.api import ActionContext, Crm, Facts, InvalidInput, PluginError, field_text
from crm_core.clock import ManualClock

PLAN_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["plans"],
    "properties": {"plans": {"type": "array", "minItems": 1, "items": {"type": "string"}}},
}


def plan_python(facts: Facts, arg: dict[str, Any], now: datetime) -> bool:
    return facts.fields.get("plan") in arg["plans"]


def plan_sql(arg: dict[str, Any], dialect: str, now: datetime) -> ColumnElement[bool]:
    return field_text(dialect, "plan").in_(arg["plans"])


def book_trial(ctx: ActionContext, arg: dict[str, Any]) -> None:
    ctx.set_fields({"vip": True})
    ctx.add_task(f"trial for {ctx.record.title} ({ctx.actor})", due_in_days=arg["in_days"])
    ctx.journal("wfx_trial", ctx.record.id, "create", None, {"vip": ctx.record.fields["vip"]})
    ctx.notify("a trial is booked", to="owner")


def explode(ctx: ActionContext, arg: Any) -> None:
    ctx.set_fields({"visits": 99})
    raise RuntimeError("the booking service is down")


def flaky_sql(arg: Any, dialect: str, now: datetime) -> ColumnElement[bool]:
    raise RuntimeError("the SQL form is broken")


class Extensions:
    """A plugin with a condition operator in both forms, one in Python only, and two actions."""

    @hookimpl
    def crm_register_conditions(self, register: Callable[..., None]) -> None:
        register("plan_is", python=plan_python, sql=plan_sql, schema=PLAN_SCHEMA)
        register(
            "visits_are",
            python=lambda facts, arg, now: facts.fields.get("visits") == arg,
            schema={"type": "integer", "minimum": 0},
        )

        register("flaky", python=lambda facts, arg, now: arg, sql=flaky_sql, schema={})

    @hookimpl
    def crm_register_actions(self, register: Callable[..., None]) -> None:
        register(
            "book_trial",
            book_trial,
            schema={"type": "object", "required": ["in_days"],
                    "properties": {"in_days": {"type": "integer", "minimum": 0}}},
        )  # fmt: skip
        register("explode", explode, schema={"type": "object"})


GYM = """\
workflow: gym
version: 1
kind: member
stages:
  - id: new
  - id: trial
  - id: joined
    outcome: won
  - id: gone
    outcome: lost
    lost_reasons: [price]
transitions:
  - from: new
    to: trial
    when: {any: [{plan_is: {plans: [yearly]}}, {visits_are: 3}]}
    on_enter:
      - book_trial: {in_days: 2}
  - from: trial
    to: joined
    on_enter:
      - explode: {}
  - {from: "*", to: gone}
pools:
  - id: lapsed
    members: [alice, bob]
    return:
      - id: idle
        when: {all: [{plan_is: {plans: [monthly]}}, {days_since: last_activity, gt: 3}]}
"""


@pytest.fixture
def gym(db_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[Crm]:
    """A CRM with the Extensions plugin, the people and the gym workflow applied."""
    crm = Crm.open(db_url, clock=clock, extra_plugins=[("wfx", Extensions())])
    for name in ("alice", "bob"):
        crm.add_user("admin", name, "operator")
    path = tmp_path / "gym.yaml"
    path.write_text(GYM, encoding="utf-8")
    crm.apply_workflow("admin", path)
    yield crm
    try:
        check = crm.verify_journal("admin")
        assert check.ok, check.differences
    finally:
        crm.close()


def _member(crm: Crm, n: int, **fields: Any) -> int:
    values = {"name": f"M{n}", "phone": f"1390000{n:04d}", "email": f"m{n}@gym.test", **fields}
    return crm.add_record("admin", "member", values, owner="alice").record.id


def _problems(crm: Crm, tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "wf.yaml"
    path.write_text(text, encoding="utf-8")
    return [str(p) for p in crm.check_workflow(path).problems]


def test_a_guard_uses_the_plugins_operator(gym: Crm) -> None:
    monthly = _member(gym, 1, plan="monthly")
    with pytest.raises(InvalidInput, match=r"guard of new → trial is not met.*plan_is"):
        gym.move_record("alice", monthly, "trial")
    assert gym.move_record("alice", _member(gym, 2, visits=3), "trial").stage == "trial"


def test_the_plugins_action_writes_through_the_core(gym: Crm) -> None:
    rid = _member(gym, 1, plan="yearly")
    moved = gym.move_record("alice", rid, "trial")
    assert moved.fields["vip"] is True
    tasks = gym.list_tasks("alice")  # by due time: the notice now, the trial in two days
    assert [t.note for t in tasks] == ["a trial is booked", "trial for M1 (alice)"]
    assert {t.cause for t in tasks} == {"workflow:gym:new->trial"}
    entries = {(e.entity, e.action, e.cause) for e in gym.journal("admin", record_id=rid)}
    assert ("wfx_trial", "create", "workflow:gym:new->trial") in entries
    assert ("record", "update", "workflow:gym:new->trial") in entries


def test_a_failing_action_rolls_the_move_back_naming_the_plugin(gym: Crm) -> None:
    rid = _member(gym, 1, plan="yearly")
    gym.move_record("alice", rid, "trial")
    before = gym.get_record("alice", rid)
    with pytest.raises(PluginError, match="plugin 'wfx' failed in workflow action explode") as err:
        gym.move_record("alice", rid, "joined")
    assert err.value.exit_code == 6
    after = gym.get_record("alice", rid)
    assert (after.stage, after.fields, after.version) == (
        before.stage,
        before.fields,
        before.version,
    )


def test_the_sweep_compiles_the_operator_to_sql(gym: Crm, clock: ManualClock) -> None:
    monthly = _member(gym, 1, plan="monthly")
    yearly = _member(gym, 2, plan="yearly")
    clock.advance(timedelta(days=4))
    (result,) = gym.sweep("admin")
    assert result.returned == 1
    assert gym.get_record("admin", monthly).pool == "lapsed"
    assert gym.get_record("admin", yearly).owner == "alice"
    assert gym.why("admin", yearly).upcoming == []


def test_a_failing_sql_form_skips_its_rule_and_the_sweep_goes_on(
    gym: Crm, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "gym2.yaml"
    flaky_rule = "      - id: flaky\n        when: {flaky: true}\n"
    text = GYM.replace("version: 1", "version: 2").replace(
        "    return:\n", "    return:\n" + flaky_rule
    )
    path.write_text(text, encoding="utf-8")
    gym.apply_workflow("admin", path)
    monthly = _member(gym, 1, plan="monthly")
    clock.advance(timedelta(days=4))
    (result,) = gym.sweep("admin")
    assert result.returned == 1 and gym.get_record("admin", monthly).pool == "lapsed"
    (failure,) = result.failures
    assert (failure.plugin, failure.rule) == ("wfx", "pool:lapsed:flaky")
    assert failure.message == "RuntimeError: the SQL form is broken"


def test_validate_locates_a_bad_argument_of_an_operator(gym: Crm, tmp_path: Path) -> None:
    bad = GYM.replace("{plan_is: {plans: [yearly]}}", "{plan_is: {plans: []}}")
    assert _problems(gym, tmp_path, bad) == [
        f"{tmp_path / 'wf.yaml'}:15:36: transitions[0].when.any[0].plan_is.plans: "
        "[] should be non-empty"
    ]


def test_validate_locates_a_bad_argument_of_an_action(gym: Crm, tmp_path: Path) -> None:
    bad = GYM.replace("book_trial: {in_days: 2}", "book_trial: {in_days: -1}")
    (problem,) = _problems(gym, tmp_path, bad)
    assert problem == (
        f"{tmp_path / 'wf.yaml'}:17:31: transitions[0].on_enter[0].book_trial.in_days: "
        "-1 is less than the minimum of 0"
    )


def test_validate_refuses_a_python_only_operator_in_a_sweep(gym: Crm, tmp_path: Path) -> None:
    bad = GYM.replace("{plan_is: {plans: [monthly]}}", "{not: {visits_are: 2}}")
    (problem,) = _problems(gym, tmp_path, bad)
    assert ":28:41: pools[0].return[0].when.all[0].not.visits_are:" in problem
    assert "'visits_are' of plugin 'wfx' has no SQL form" in problem


def test_without_the_plugin_its_names_are_unknown(crm: Crm, tmp_path: Path) -> None:
    problems = " | ".join(_problems(crm, tmp_path, GYM))
    assert "unknown condition ['plan_is']" in problems
    assert "book_trial" in problems and "unknown key" in problems
    condition = crm.workflow_schema()["$defs"]["condition"]
    assert not any("plan_is" in c.get("properties", {}) for c in condition["oneOf"])


def test_the_schema_lists_the_plugins_operators_and_actions(gym: Crm) -> None:
    defs = gym.workflow_schema()["$defs"]
    assert defs["action"]["properties"]["book_trial"]["required"] == ["in_days"]
    plan = next(c for c in defs["condition"]["oneOf"] if c.get("required") == ["plan_is"])
    assert plan["properties"]["plan_is"] == PLAN_SCHEMA


def test_a_workflow_whose_plugin_is_gone_refuses_clearly(gym: Crm, db_url: str) -> None:
    rid = _member(gym, 1, plan="yearly")
    bare = Crm.open(db_url)
    try:
        with pytest.raises(InvalidInput, match="operator 'plan_is' is not registered"):
            bare.move_record("alice", rid, "trial")
    finally:
        bare.close()


class _Bad:
    def __init__(self, hook: str, *args: Any, **kwargs: Any) -> None:
        def register_one(register: Callable[..., None]) -> None:
            register(*args, **kwargs)

        setattr(self, hook, hookimpl(register_one))


@pytest.mark.parametrize(
    ("hook", "args", "kwargs", "words"),
    [
        ("crm_register_conditions", ("field",), {"python": bool, "schema": {}}, "reserved"),
        ("crm_register_conditions", ("odd",), {"python": bool, "schema": {"type": 3}},
         "invalid schema"),
        ("crm_register_actions", ("set", bool), {"schema": {}}, "reserved"),
        ("crm_register_actions", ("ping", "no"), {"schema": {}}, "needs a run"),
    ],
)  # fmt: skip
def test_bad_registrations_name_the_plugin(
    db_url: str, hook: str, args: tuple[Any, ...], kwargs: dict[str, Any], words: str
) -> None:
    with pytest.raises(PluginError, match=f"plugin 'bad'.*{words}"):
        Crm.open(db_url, extra_plugins=[("bad", _Bad(hook, *args, **kwargs))])


LIMITS = """\
workflow: gym
version: 1
kind: member
stages:
  - id: new
    max_days: {days: 3, action: {book_trial: {in_days: 1}}}
  - id: joined
    outcome: won
assignment:
  sla: {contact_within_hours: 24, then: {explode: {}}}
"""


def test_stage_limits_and_the_sla_run_plugin_actions_once_contained(
    db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    crm = Crm.open(db_url, clock=clock, extra_plugins=[("wfx", Extensions())])
    try:
        crm.add_user("admin", "alice", "operator")
        path = tmp_path / "limits.yaml"
        path.write_text(LIMITS, encoding="utf-8")
        crm.apply_workflow("admin", path)
        values = {"name": "M1", "phone": "13900000001"}
        rid = crm.add_record("admin", "member", values, auto_assign=True).record.id
        crm.update_record("admin", rid, owner="alice")  # handed over: the SLA's clock starts
        clock.advance(timedelta(days=4))
        (first,) = crm.sweep("admin")
        assert first.by_rule == {"stage:gym:new:book_trial": 1}
        assert [(f.record_id, f.plugin, f.rule) for f in first.failures] == [
            (rid, "wfx", "sla:gym:explode")
        ]
        record = crm.get_record("alice", rid)
        assert (record.fields.get("vip"), record.fields.get("visits")) == (True, None)
        assert [t.note for t in crm.list_tasks("alice")][-1] == "trial for M1 (admin)"
        marks = [e for e in crm.journal("admin", record_id=rid) if e.entity == "workflow_action"]
        assert [(m.action, m.cause) for m in marks] == [("book_trial", "stage:gym:new:book_trial")]
        (second,) = crm.sweep("admin")
        assert second.by_rule == {} and len(second.failures) == 1
        assert "runs" in " ".join(f.event for f in crm.why("admin", rid).upcoming)
        assert crm.verify_journal("admin").ok
    finally:
        crm.close()


def test_validate_locates_a_bad_plugin_action_in_a_stage_limit(gym: Crm, tmp_path: Path) -> None:
    bad = LIMITS.replace("{in_days: 1}", "{in_days: -1}").replace("{explode: {}}", "{nope: {}}")
    assert _problems(gym, tmp_path, bad) == [
        f"{tmp_path / 'wf.yaml'}:6:56: stages[0].max_days.action.book_trial.in_days: "
        "-1 is less than the minimum of 0",
        f"{tmp_path / 'wf.yaml'}:10:42: assignment.sla.then.nope: "
        "unknown key (expected one of: book_trial, explode)",
    ]
