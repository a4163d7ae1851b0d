"""What ``u`` on the record screen can put back: the field edits and stage moves of this session.

The app keeps one :class:`UndoStep` per change the operator made in this
TUI session. Undoing calls :meth:`crm_core.api.Crm.undo_change` with the
version the change left, so a record someone changed since is refused by
the API, not overwritten; the undo is a journal row of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from crm_core.views import RecordView


@dataclass(frozen=True)
class UndoStep:
    """One change of this session: the record, the version it left, and what was there before."""

    record_id: int
    version: int
    before_version: int
    fields: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    stage: str | None = None

    @property
    def is_move(self) -> bool:
        """True for a stage move (its undo puts the stage back)."""
        return self.stage is not None


def after_edit(before: RecordView, after: RecordView) -> UndoStep | None:
    """The step that undoes an edit from ``before`` to ``after`` (None: nothing changed)."""
    names = set(before.fields) | set(after.fields)
    old = {
        n: before.fields.get(n)
        for n in sorted(names)
        if before.fields.get(n) != after.fields.get(n)
    }
    title = before.title if before.title != after.title and not old else None
    if not old and title is None:
        return None
    return UndoStep(after.id, after.version, before.version, fields=old, title=title)


def after_move(before: RecordView, after: RecordView) -> UndoStep | None:
    """The step that undoes a move from ``before``'s stage (None: the record had no stage)."""
    if before.stage is None or before.stage == after.stage:
        return None
    return UndoStep(after.id, after.version, before.version, stage=before.stage)


def last_for(steps: list[UndoStep], record_id: int) -> UndoStep | None:
    """The latest step of ``record_id`` in ``steps``, if any."""
    return next((s for s in reversed(steps) if s.record_id == record_id), None)


def undone(steps: list[UndoStep], step: UndoStep, version: int) -> list[UndoStep]:
    """``steps`` once ``step`` was undone and its record is at ``version``.

    The record is back as the change before ``step`` left it, so that
    change can be undone next: its step now expects ``version``.
    """
    return [
        replace(s, version=version)
        if s.record_id == step.record_id and s.version == step.before_version
        else s
        for s in steps
        if s is not step
    ]
