"""The demo's story: a company's people, its workflows, and two months of daily work."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select

from crm_core import records
from crm_core.api import Crm
from crm_core.clock import ManualClock
from crm_core.demo.values import record_values, value
from crm_core.errors import CrmError
from crm_core.models import Journal, Record
from crm_core.shipped import workflow_dir
from crm_core.workflow import engine
from crm_core.workflow.loader import Workflow

TEAMS = {
    "east": {"operators": ["alice", "bob"], "managers": ["mia"]},
    "sales_east": {"operators": ["wang", "li"], "managers": ["chen"]},
    "sales_west": {"operators": ["zhang", "zhao"], "managers": []},
}
# Touchpoints operators log at random; the plugins' own types (viewings, quotes,
# signings…) join them, so the workflows' guards can be met.
EVERYDAY = ["call", "call", "visit", "message", "email", "meeting"]
NOT_RANDOM = {"complaint", "complaint_resolved", "feedback", "note"}
# The phases of a run, in order, as run() reports them to its ``step``.
SETUP, DAYS, TALLY = "people and workflows", "days of work", "tallies"

Step = Callable[[str, int, int], None]
"""Told ``(phase, done, total)`` as a run gets on: a phase is done when ``done == total``."""


@dataclass
class DemoSummary:
    """What the demo did, for the closing summary."""

    path: str
    workflows: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    created: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    won: Counter[str] = field(default_factory=Counter)


def build(crm: Crm, summary: DemoSummary) -> None:
    """Create the admin, teams, users and apply every workflow whose kind is installed."""
    crm.init(admin="admin")
    for team, people in TEAMS.items():
        crm.add_team("admin", team)
        for name in people["operators"]:
            crm.add_user("admin", name, "operator", team)
        for name in people["managers"]:
            crm.add_user("admin", name, "manager", team)
    for path in sorted(workflow_dir().glob("*.yaml")):
        checked = crm.check_workflow(path)
        if checked.workflow is None:
            summary.skipped.append(f"{path.name}: {checked.problems[0].message}")
            continue
        crm.apply_workflow("admin", path)
        summary.workflows.append(f"{checked.workflow.name} ({checked.workflow.data['kind']})")


def arrive(crm: Crm, kind: str, count: int, rng: random.Random, serial: int) -> int:
    """Add ``count`` new unowned records of ``kind`` in one transaction; return the next serial."""
    spec = crm.kind(kind)
    with crm._write("admin") as ctx:
        stage = engine.first_stage(ctx.session, kind)
        for _ in range(count):
            for _attempt in range(5):
                serial += 1
                try:
                    with ctx.session.begin_nested():
                        values = record_values(spec, rng, serial)
                        records.create(ctx, kind, values, title=None, owner_id=None, stage=stage)
                    break
                except CrmError:
                    continue  # a plugin's rule refused this mix of values: make another
    return serial


def work_a_day(crm: Crm, rng: random.Random, summary: DemoSummary) -> None:
    """Every operator follows up some records, moves a few on, and claims from the pools."""
    operators = [n for t in TEAMS.values() for n in t["operators"]]
    kinds = [a.name for a in crm.activity_types() if a.name not in NOT_RANDOM]
    choices = EVERYDAY + kinds
    for name in operators:
        mine = crm.list_records(name, owner=name, limit=200)
        # The newest first (their contact deadline is nearest), then a few older ones.
        older = mine[8:]
        for record in mine[:8] + rng.sample(older, min(len(older), 4)):
            activity = rng.choice(choices)
            _try(summary, "activity", crm.log_activity, name, record.id, activity, note="demo")
            if rng.random() < 0.35:
                _advance(crm, name, record, rng, summary)
        for pool in crm.list_pools(name):
            if name not in pool.members or rng.random() < 0.5:
                continue
            page = crm.pool_page(name, pool.name, limit=5)
            for entry in page.entries[:2]:
                _try(summary, "claim", crm.claim, name, entry.record_id)


def _advance(crm: Crm, actor: str, record: Any, rng: random.Random, summary: DemoSummary) -> None:
    with crm._read(actor) as (session, _who):
        wf = engine.applied(session, record.kind)
    if wf is None or record.stage is None:
        return
    flow = Workflow(wf.name, wf.definition)
    targets = sorted(flow.moves().get(record.stage, set()))
    if not targets:
        return
    stages = {s["id"]: s for s in wf.definition["stages"]}
    lost = [t for t in targets if stages[t].get("outcome") == "lost"]
    ahead = [t for t in targets if t not in lost]
    target = rng.choice(lost) if lost and (not ahead or rng.random() < 0.2) else rng.choice(ahead)
    reasons = stages[target].get("lost_reasons", [None])
    if target in ahead:
        _prepare(crm, actor, record, flow.transitions(record.stage, target), stages[target], rng)
    _try(summary, "move", crm.move_record, actor, record.id, target, reason=reasons[0])


def _prepare(
    crm: Crm,
    actor: str,
    record: Any,
    transitions: list[dict[str, Any]],
    stage: dict[str, Any],
    rng: random.Random,
) -> None:
    """Do what a diligent operator does before a move: the touchpoints and fields it asks for."""
    for transition in transitions[:1]:
        for need in _activities_needed(transition.get("when", {})):
            for _ in range(need.get("min", 1)):
                _quietly(crm.log_activity, actor, record.id, need.get("type") or "call")
    missing = [f for f in stage.get("require", []) if record.fields.get(f) in (None, "")]
    spec = crm.kind(record.kind)
    values = {f: value(spec.fields[f], rng, record.id) for f in missing if f in spec.fields}
    if values:
        _quietly(crm.update_record, actor, record.id, values)


def _activities_needed(cond: Any) -> list[dict[str, Any]]:
    """The ``activities`` tests of a guard that must hold (not those under ``not``/``any``)."""
    if not isinstance(cond, dict):
        return []
    if "activities" in cond:
        return [cond["activities"]]
    return [need for inner in cond.get("all", []) for need in _activities_needed(inner)]


def _quietly(action: Any, *args: Any) -> None:
    # a refusal here shows up in the move that follows, which says what is missing
    with contextlib.suppress(CrmError):
        action(*args)


def _try(summary: DemoSummary, what: str, action: Any, *args: Any, **kwargs: Any) -> None:
    try:
        action(*args, **kwargs)
        summary.actions[what] += 1
    except CrmError:
        summary.actions[f"{what} refused"] += 1


def run(
    path: Path, *, per_kind: int, days: int, seed: int, step: Step | None = None
) -> tuple[Crm, DemoSummary]:
    """Make the demo database at ``path`` and run ``days`` days of work on it.

    ``step``, if given, is told how far each phase got (:data:`SETUP`, then
    :data:`DAYS` once per simulated day, then :data:`TALLY`), for a progress display.
    """

    def done(phase: str, n: int, total: int) -> None:
        if step is not None:
            step(phase, n, total)

    rng = random.Random(seed)
    start = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    clock = ManualClock(start - timedelta(days=days))
    crm = Crm.open(f"sqlite:///{path}", clock=clock)
    summary = DemoSummary(str(path))
    done(SETUP, 0, 1)
    build(crm, summary)
    done(SETUP, 1, 1)
    kinds = [w.kind for w in crm.list_workflows("admin")]
    serial = 0
    daily = max(1, per_kind // days)
    for day in range(days):
        for kind in kinds:
            arriving = per_kind - daily * (days - 1) if day == days - 1 else daily
            serial = arrive(crm, kind, arriving, rng, serial)
        crm.tick()
        work_a_day(crm, rng, summary)
        clock.advance(timedelta(days=1))
        done(DAYS, day + 1, days)
    done(TALLY, 0, 1)
    crm.tick()
    with crm._read("admin") as (session, _who):
        summary.created.update(
            dict(session.exec(select(Record.kind, func.count()).group_by(col(Record.kind))).all())
        )
        for wf in crm.list_workflows("admin"):
            won = [
                s["id"]
                for s in _definition(session, wf.kind)["stages"]
                if s.get("outcome") == "won"
            ]
            n = session.exec(
                select(func.count()).where(Record.kind == wf.kind, col(Record.stage).in_(won))
            ).one()
            summary.won[wf.kind] = int(n)
        for action, n in session.exec(
            select(Journal.action, func.count())
            .where(col(Journal.action).in_(["assign", "return", "claim", "rotate", "reassign"]))
            .group_by(col(Journal.action))
        ).all():
            summary.actions[action] = int(n)
    done(TALLY, 1, 1)
    return crm, summary


def _definition(session: Any, kind: str) -> dict[str, Any]:
    wf = engine.applied(session, kind)
    assert wf is not None
    return wf.definition
