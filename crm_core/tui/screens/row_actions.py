"""Record actions on a list row: log a call (``a``) or add a task (``t``) without opening it.

A list screen mixes :class:`RowActions` in and says which record its cursor
is on (:meth:`RowActions.row_record`); the dialogs are the record screen's,
so the keys and the words are the same on a list and on a record.
"""

from __future__ import annotations

from typing import Any

from crm_core.tui.base import ApiMixin
from crm_core.tui.widgets.forms import AddTaskDialog, LogActivityDialog


class RowActions(ApiMixin):
    """``a`` and ``t`` on the highlighted row of a list of records."""

    def row_record(self) -> int | None:
        """The id of the record under the cursor, if any."""
        raise NotImplementedError

    def after_row_action(self) -> None:
        """Read the list again once a dialog changed something (a call moves "last activity")."""

    def action_log_activity(self) -> None:
        """Log a call (or another activity) on the highlighted record."""
        record_id = self.row_record()
        if record_id is None:
            return
        dialog = LogActivityDialog(record_id, self.crm.activity_types())
        done = self.tr("Activity logged on #{id}", id=record_id)
        self.crm_app.open_dialog(dialog, lambda result: self._row_done(result, done))

    def action_add_task(self) -> None:
        """Add a reminder about the highlighted record."""
        record_id = self.row_record()
        if record_id is None:
            return
        dialog = AddTaskDialog(record_id, self.crm.clock(), self.crm_app.tz)
        done = self.tr("Task added on #{id}", id=record_id)
        self.crm_app.open_dialog(dialog, lambda result: self._row_done(result, done))

    def _row_done(self, result: Any, text: str) -> None:
        if result is not None:
            self.notify(text)  # type: ignore[attr-defined]
            self.after_row_action()
