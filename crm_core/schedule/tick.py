"""One scheduler tick: for every applied workflow, sweep, then assign; one runner at a time."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TypeVar

from sqlalchemy import text
from sqlmodel import col, select

from crm_core.assign import run as assign_run
from crm_core.assign.run import AssignResult
from crm_core.models import WorkflowDef
from crm_core.records import WriteContext
from crm_core.schedule import sweep
from crm_core.schedule.contain import Containment, Failure
from crm_core.schedule.sweep import SweepResult
from crm_core.views import View

R = TypeVar("R")

# The advisory lock every worker asks for; derived from a name so it is stable.
LOCK_KEY = zlib.crc32(b"crm-core:scheduler")


@dataclass
class TickResult(View):
    """What one tick did; ``ran`` is False when another worker held the lock."""

    at: datetime
    ran: bool = True
    sweeps: list[SweepResult] = field(default_factory=list)
    assignments: list[AssignResult] = field(default_factory=list)

    def failures(self) -> list[Failure]:
        """Every record (or workflow) the sweeps and assignment passes had to skip."""
        swept = [f for r in self.sweeps for f in r.failures]
        return swept + [f for r in self.assignments for f in r.failures]


def take_lock(ctx: WriteContext, *, wait: bool = False) -> bool:
    """Become the one scheduler runner for this transaction; False if busy and not ``wait``.

    Every writer of scheduler state takes it: the worker's ticks (which skip
    a busy tick), ``crm sweep``, ``crm assign`` and rule-based assignment of a
    new record (which wait). PostgreSQL: a transaction-scoped advisory lock,
    released at commit. SQLite writes already run one at a time (``BEGIN
    IMMEDIATE``), so there the write lock is the lock.
    """
    if ctx.session.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        ctx.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        return True
    got = ctx.session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    return bool(got.scalar())


def workflows(ctx: WriteContext) -> list[WorkflowDef]:
    """The applied workflows, in name order."""
    return list(ctx.session.exec(select(WorkflowDef).order_by(col(WorkflowDef.name))).all())


def tick(ctx: WriteContext, *, do_sweep: bool = True, do_assign: bool = True) -> TickResult:
    """Sweep then assign every applied workflow at ``ctx.now``, if this runner holds the lock.

    A record that fails is skipped (see :mod:`crm_core.schedule.contain`); a
    sweep or pass that fails as a whole (a workflow naming a strategy no
    plugin provides) is undone alone and reported; the others go on.
    """
    result = TickResult(ctx.now)
    if not take_lock(ctx):
        result.ran = False
        return result
    for wf in workflows(ctx):
        if do_sweep:
            swept, failed = _alone(ctx, wf, "sweep", partial(sweep.run, ctx, wf))
            result.sweeps.append(swept or SweepResult(wf.name, failures=failed))
        if do_assign:
            work = partial(assign_run.run, ctx, wf, contained=True)
            assigned, failed = _alone(ctx, wf, "assign", work)
            result.assignments.append(assigned or AssignResult(wf.name, failures=failed))
    return result


def _alone(
    ctx: WriteContext, wf: WorkflowDef, what: str, work: Callable[[], R]
) -> tuple[R | None, list[Failure]]:
    """``work()`` in a savepoint; if it raised, None and the failure (journaled)."""
    contain = Containment(ctx, wf.name)
    done, exc = contain.attempt(work)
    if exc is None:
        return done[0], []
    contain.fail(exc, None, f"{what}:{wf.name}")
    return None, contain.failures
