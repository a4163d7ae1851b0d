"""``crm workflow simulate``: run the scheduler forward over the data with a moving clock.

The caller runs this inside a transaction it rolls back, so the simulation
sees a copy of the live data (with the candidate workflow in place) and
leaves nothing behind.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import select

from crm_core.models import WorkflowDef
from crm_core.pools import ensure_pools
from crm_core.records import WriteContext
from crm_core.schedule.tick import tick
from crm_core.views import View
from crm_core.workflow.calendar import WorkCalendar


@dataclass
class DayReport(View):
    """What the scheduler did on one simulated day; ``outbox``: what would be sent, per channel.

    ``at`` is the simulated clock of that day's run (day 0 is now, day N is N × 24 h
    later); ``run_at`` is the same moment in the workflow's time zone.
    """

    day: int
    date: date
    at: datetime
    run_at: str
    assigned: int
    warned: int
    returned: int
    rotated: int
    alerted: int
    reassigned: int
    notified: int
    outbox: dict[str, int]


def put_in_place(ctx: WriteContext, definition: dict[str, Any]) -> None:
    """Make ``definition`` the workflow of its kind inside this transaction."""
    row = ctx.session.exec(
        select(WorkflowDef).where(WorkflowDef.kind == definition["kind"])
    ).first()
    if row is None:
        row = WorkflowDef(name=definition["workflow"], kind=definition["kind"], version=0,
                          definition={}, applied_at=ctx.now)  # fmt: skip
    row.name, row.version, row.definition = (
        definition["workflow"],
        definition["version"],
        definition,
    )
    ctx.session.add(row)
    ctx.session.flush()
    ensure_pools(ctx, definition)


def simulate(ctx: WriteContext, definition: dict[str, Any], days: int) -> list[DayReport]:
    """Tick now and then once per day up to ``days`` × 24 h later; report each run.

    Day 0 is the run now; day ``days`` is exactly ``days`` × 24 h ahead, so a rule
    that fires on the last day (``days_since … gt: days - 1``) shows in the report.
    """
    put_in_place(ctx, definition)
    calendar = WorkCalendar.of(definition)
    out = []
    for day in range(days + 1):
        moment = ctx.now + timedelta(days=day)
        day_ctx = WriteContext(ctx.session, ctx.registry, ctx.host, ctx.actor, ctx.cause, moment)
        result = tick(day_ctx)
        sweeps = [s for s in result.sweeps if s.workflow == definition["workflow"]]
        assigned = [a for a in result.assignments if a.workflow == definition["workflow"]]
        outbox: Counter[str] = Counter()
        for s in sweeps:
            outbox.update(s.outbox)
        out.append(
            DayReport(
                day=day,
                date=moment.date(),
                at=moment,
                run_at=calendar.label(moment),
                assigned=sum(a.assigned for a in assigned),
                warned=sum(s.warned for s in sweeps),
                returned=sum(s.returned for s in sweeps),
                rotated=sum(s.rotated for s in sweeps),
                alerted=sum(s.alerted for s in sweeps),
                reassigned=sum(s.reassigned for s in sweeps),
                notified=sum(s.notified for s in sweeps),
                outbox=dict(sorted(outbox.items())),
            )
        )
    return out
