"""Running an applied workflow on one record: stage moves with guards and on-enter actions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from crm_core import conditions, notify, records
from crm_core.errors import Conflict, CrmError, FieldError, InvalidInput, NotFound
from crm_core.i18n import _
from crm_core.models import Activity, Pool, Record, User, WorkflowDef
from crm_core.notify import Notice, TaskWriter
from crm_core.records import WriteContext
from crm_core.views import StageMove
from crm_core.workflow import actions
from crm_core.workflow.loader import Workflow


def applied(session: Session, kind: str) -> WorkflowDef | None:
    """The workflow applied to ``kind``, if any."""
    return session.exec(select(WorkflowDef).where(WorkflowDef.kind == kind)).first()


def first_stage(session: Session, kind: str) -> str | None:
    """Where a new record of ``kind`` starts: the applied workflow's first stage."""
    workflow = applied(session, kind)
    return workflow.definition["stages"][0]["id"] if workflow else None


def facts(session: Session, record: Record) -> conditions.Facts:
    """Load what conditions look at for one record."""
    counts = dict(
        session.exec(
            select(Activity.type, func.count())
            .where(Activity.record_id == record.id)
            .group_by(col(Activity.type))
        ).all()
    )
    owner = session.get(User, record.owner_id) if record.owner_id is not None else None
    return conditions.Facts(
        stage=record.stage,
        fields=dict(record.data),
        created_at=record.created_at,
        stage_entered_at=record.stage_entered_at,
        last_activity_at=record.last_activity_at,
        owner_role=owner.role if owner else None,
        activity_counts=counts,
        assigned_at=record.assigned_at,
    )


@dataclass
class Allowed:
    """A move the workflow allows: where from, and the declared transitions whose guard holds."""

    workflow: str
    source: str
    passing: list[dict[str, Any]]


def check_move(
    session: Session,
    operators: conditions.Operators,
    now: datetime,
    record: Record,
    target: str,
    reason: str | None,
    *,
    reason_asked: bool = False,
) -> Allowed:
    """Whether ``record`` may move to ``target`` now; refusals say exactly why.

    The one check of a move, for :func:`move` and for the stage list a screen
    offers (:func:`stage_moves`). ``reason_asked`` skips the lost reason: a
    screen asks for it after the stage is chosen.
    """
    workflow = applied(session, record.kind)
    if workflow is None:
        raise InvalidInput(
            _("no workflow is applied to {kind}: crm workflow apply FILE", kind=record.kind)
        )
    definition = workflow.definition
    flow = Workflow(workflow.name, definition)
    stages = {s["id"]: s for s in definition["stages"]}
    if target not in stages:
        raise InvalidInput(
            _(
                "no stage '{target}' in workflow {workflow} ({names})",
                target=target,
                workflow=workflow.name,
                names=", ".join(stages),
            )
        )
    source = record.stage or definition["stages"][0]["id"]
    if target == source:
        raise Conflict(_("record #{id} is already in {target}", id=record.id, target=target))
    allowed = flow.moves().get(source, set())
    if target not in allowed:
        nexts = ", ".join(sorted(allowed)) or _("nowhere: it is a final stage")
        raise InvalidInput(
            _(
                "cannot move from {source} to {target}; from {source} it can go to {nexts}",
                source=source,
                target=target,
                nexts=nexts,
            )
        )
    stage = stages[target]
    missing = [f for f in stage.get("require", []) if record.data.get(f) in (None, "")]
    if missing:
        raise FieldError(
            record.kind, [(f, _("is required to enter {target}", target=target)) for f in missing]
        )
    if not reason_asked and stage.get("outcome") == "lost" and reason not in stage["lost_reasons"]:
        reasons = ", ".join(stage["lost_reasons"])
        raise InvalidInput(
            _(
                "moving to {target} needs --reason, one of: {reasons}",
                target=target,
                reasons=reasons,
            )
        )
    transitions = flow.transitions(source, target)
    record_facts = facts(session, record)
    passing = [
        t for t in transitions
        if "when" not in t or conditions.to_python(t["when"], now, operators)(record_facts)
    ]  # fmt: skip
    if transitions and not passing:
        failed = json.dumps(transitions[0]["when"], ensure_ascii=False)
        raise InvalidInput(
            _(
                "guard of {source} → {target} is not met: {failed}",
                source=source,
                target=target,
                failed=failed,
            )
        )
    return Allowed(workflow.name, source, passing)


def move(ctx: WriteContext, record: Record, target: str, reason: str | None) -> None:
    """Move ``record`` to ``target`` if the workflow allows it; refusals say exactly why."""
    move_ok = check_move(ctx.session, ctx.registry.operators, ctx.now, record, target, reason)
    source = move_ok.source
    records.change(ctx, record, "move", stage=target, reason=reason)
    for transition in move_ok.passing[:1]:
        for action in transition.get("on_enter", []):
            _act(ctx, record, action, f"workflow:{move_ok.workflow}:{source}->{target}")


def stage_moves(
    session: Session, operators: conditions.Operators, now: datetime, record: Record
) -> list[StageMove]:
    """Every other stage of the record's workflow, whether :func:`move` would take it there now.

    Allowed moves come first, the stages ahead of the record's in pipeline
    order before those behind it (so the next stage leads); a refused one
    carries :func:`check_move`'s words. A lost stage counts as allowed: its
    reason is asked when the move is made. No workflow: no stages.
    """
    workflow = applied(session, record.kind)
    if workflow is None:
        return []
    ids = [s["id"] for s in workflow.definition["stages"]]
    source = record.stage or ids[0]
    here = ids.index(source) if source in ids else -1
    out = []
    for index, stage in enumerate(ids):
        if stage == source:
            continue
        try:
            check_move(session, operators, now, record, stage, None, reason_asked=True)
        except CrmError as exc:
            out.append(StageMove(stage, False, str(exc), index < here, index))
        else:
            out.append(StageMove(stage, True, None, index < here, index))
    out.sort(key=lambda m: (not m.allowed, m.behind, m.order))
    return out


def _act(ctx: WriteContext, record: Record, action: dict[str, Any], rule: str) -> None:
    ((name, spec),) = action.items()
    rule_ctx = WriteContext(ctx.session, ctx.registry, ctx.host, ctx.actor, rule, ctx.now)
    if name == "set":
        records.change(rule_ctx, record, "update", values={spec["field"]: spec["value"]})
    elif name == "task":
        assignee = record.owner_id or (ctx.actor.id if ctx.actor else None)
        if assignee is None:
            return
        due = ctx.now + timedelta(days=spec.get("due_in_days", 0))
        TaskWriter(rule_ctx).add([Notice(assignee, record.id, spec["note"], due, rule)])
    elif name == "notify":
        assert record.id is not None
        to = actions.recipients(ctx, record, spec.get("to", "owner"))
        notify.send(rule_ctx, [Notice(u, record.id, spec["message"], ctx.now, rule) for u in to])
    elif name == "assign":
        user = ctx.session.exec(select(User).where(User.name == spec["user"])).first()
        if user is None:
            raise NotFound(_("{rule}: no user '{user}' to assign to", rule=rule, user=spec["user"]))
        records.change(rule_ctx, record, "assign", owner_id=user.id, pool_id=None)
    elif name == "move_to_pool":
        pool = ctx.session.exec(select(Pool).where(Pool.name == spec)).first()
        if pool is None:
            raise NotFound(
                _(
                    "{rule}: no pool '{spec}' (an admin adds it with: crm pool add {spec})",
                    rule=rule,
                    spec=spec,
                )
            )
        records.change(rule_ctx, record, "return", owner_id=None, pool_id=pool.id)
    elif name in ctx.registry.actions:
        actions.run(rule_ctx, record, ctx.registry.actions[name], spec)
    else:
        raise InvalidInput(
            _(
                "{rule}: workflow action '{name}' is not registered: is its plugin installed and "
                "enabled?",
                rule=rule,
                name=name,
            )
        )
