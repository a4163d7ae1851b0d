"""Keeping one bad record or one failing plugin from stopping a sweep or an assignment pass.

Each batch of the scheduler (a rule's returns, a pass's hand-over, the
notices) runs inside a SAVEPOINT, so the happy path stays one set-based
batch. When it fails, the savepoint is rolled back and the batch's records
are tried again in halves, each half in its own savepoint, down to the single
records that fail: those are skipped, recorded and journaled; the others are
done. Halving finds k bad records among n in about 2·k·log2(n) tries, where
retrying one by one would take n.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from sqlalchemy import and_
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from crm_core.errors import CrmError, PluginError
from crm_core.models import Record
from crm_core.records import WriteContext
from crm_core.views import View

T = TypeVar("T")
R = TypeVar("R")

# A plugin's exception arrives as PluginError; a value the database cannot read
# (malformed JSON on SQLite, a failed cast on PostgreSQL) as a DBAPIError.
CONTAINED = (CrmError, DBAPIError)


@dataclass
class Failure(View):
    """One record (or, when ``record_id`` is None, one rule) the scheduler had to skip."""

    record_id: int | None
    workflow: str
    rule: str
    message: str
    plugin: str | None = None
    hook: str | None = None

    @classmethod
    def of(cls, exc: Exception, record_id: int | None, workflow: str, rule: str) -> Failure:
        """Describe ``exc``, raised while ``rule`` of ``workflow`` handled ``record_id``."""
        if isinstance(exc, PluginError):
            message = f"{type(exc.error).__name__}: {exc.error}"
            return cls(record_id, workflow, rule, _one_line(message), exc.plugin, exc.hook)
        if isinstance(exc, DBAPIError):
            return cls(record_id, workflow, rule, _one_line(f"database: {exc.orig}"))
        return cls(record_id, workflow, rule, _one_line(str(exc)))

    def line(self) -> str:
        """``failed: #123 rule pool:east-pool:idle (plugin badplugin: ValueError: …)``."""
        what = f"#{self.record_id}" if self.record_id is not None else f"workflow {self.workflow}"
        why = f"plugin {self.plugin}: {self.message}" if self.plugin else self.message
        return f"failed: {what} rule {self.rule} ({why})"


def _one_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "(no message)"


def exit_code(failures: Sequence[Failure]) -> int:
    """The CLI's exit status after a run with ``failures``: 6 if a plugin failed, else 7, or 0."""
    if not failures:
        return 0
    return PluginError.exit_code if any(f.plugin for f in failures) else SKIPPED_EXIT


SKIPPED_EXIT = 7
"""Exit status of a run that did its work but skipped records it could not read."""


class Containment:
    """Runs one workflow's batches in savepoints and keeps the failures they had."""

    def __init__(self, ctx: WriteContext, workflow: str) -> None:
        self.ctx = ctx
        self.workflow = workflow
        self.failures: list[Failure] = []

    def attempt(self, work: Callable[[], R]) -> tuple[list[R], Exception | None]:
        """Run ``work`` in a savepoint: ``([its result], None)``, or ``([], the exception)``."""
        try:
            with self.ctx.session.begin_nested():
                return [work()], None
        except CONTAINED as exc:
            if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                raise  # the connection is gone: no record is to blame, the whole run fails
            return [], exc

    def fail(self, exc: Exception, record_id: int | None, rule: str, skipped: int = 0) -> None:
        """Record a failure and journal it in the run's transaction (a savepoint was undone).

        ``skipped`` counts the items left untried when a batch gave up.
        """
        failure = Failure.of(exc, record_id, self.workflow, rule)
        if skipped:
            failure.message = f"{skipped} item(s) skipped after {MAX_FAILURES} failed; last: " + (
                failure.message
            )
        self.failures.append(failure)
        self.ctx.journal("scheduler", record_id or 0, record_id, "failure", None, failure.to_dict())

    def batch(
        self,
        rule: str,
        whole: Callable[[], R],
        items: Callable[[], Sequence[T]],
        part: Callable[[Sequence[T]], R],
        culprit: Callable[[T], tuple[int | None, str]],
    ) -> list[R]:
        """Run ``whole``; if it fails, run ``part`` on halves of ``items()`` down to the culprits.

        ``items`` lists what ``whole`` works on, in order (record ids, plan
        rows, notices), and is only asked for after a failure; ``culprit``
        names the record and the rule of one item that fails alone. Returns
        the results of the runs that succeeded, in order. After
        :data:`MAX_FAILURES` failed records the rest of the batch is skipped as
        one failure: a plugin that fails for every record would otherwise cost
        two savepoints per record.
        """
        done, exc = self.attempt(whole)
        if exc is None:
            return done
        listed, list_exc = self.attempt(lambda: list(items()))
        if list_exc is not None or not listed or not listed[0]:
            self.fail(list_exc or exc, None, rule)
            return []
        out: list[R] = []
        failed = 0
        pending = _halves(listed[0])
        while pending:
            chunk = pending.pop()
            result, exc = self.attempt(partial(part, chunk))
            if exc is None:
                out += result
            elif len(chunk) > 1:
                pending += _halves(chunk)
            elif failed < MAX_FAILURES:
                failed += 1
                self.fail(exc, *culprit(chunk[0]))
            else:
                self.fail(exc, None, rule, skipped=sum(len(c) for c in pending) + 1)
                return out
        return out

    def records(
        self,
        rule: str,
        where: ColumnElement[bool],
        coarse: ColumnElement[bool],
        work: Callable[[ColumnElement[bool]], R],
    ) -> list[R]:
        """:meth:`batch` of a set-based ``work`` on the records matching ``where``.

        On a failure the ids of the records matching ``coarse`` (a superset of
        ``where`` that reads no field values, so it cannot fail the same way)
        are split into ranges, and ``work`` runs on ``where`` within each range.
        """

        def ids() -> list[int]:
            query = select(Record.id).where(coarse).order_by(col(Record.id))
            return [i for i in self.ctx.session.exec(query).all() if i is not None]

        def within(chunk: Sequence[int]) -> R:
            return work(and_(where, col(Record.id).between(chunk[0], chunk[-1])))

        return self.batch(rule, lambda: work(where), ids, within, lambda rid: (rid, rule))


MAX_FAILURES = 100
"""Failed records one batch reports one by one before it gives up on the rest."""


def _halves(items: Sequence[T]) -> list[Sequence[T]]:
    """``items`` split in two, the first half last (it is popped, so tried, first)."""
    middle = len(items) // 2
    return [items[middle:], items[:middle]] if middle else [items]
