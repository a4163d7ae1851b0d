"""My work, where an operator lands: reminders (overdue on top), then records by next action."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Header, Static

from crm_core.api import Crm
from crm_core.tui.base import CrmScreen
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.screens.row_actions import RowActions
from crm_core.tui.widgets.cells import ago, when
from crm_core.tui.widgets.footer import CrmFooter
from crm_core.tui.widgets.pickers import SnoozeDialog
from crm_core.tui.widgets.table import CrmTable
from crm_core.views import MyWork, TaskView, WorkflowView

# Tasks the pool sweep writes before it takes a record back end with this cause.
POOL_WARNING = ":warn"
# The start-up notice goes by itself soon: the reminders table holds what it counts.
ANNOUNCE_SECONDS = 6

MyWorkRead = tuple[MyWork, list[WorkflowView]]


def read_my_work(crm: Crm, actor: str) -> MyWorkRead:
    """What My work shows: the operator's reminders and queue, and the workflows' stages."""
    return crm.my_work(actor), crm.list_workflows(actor)


class MyWorkScreen(RowActions, CrmScreen):
    """The operator's reminders and records, soonest action first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open", "Open", show=False),  # the footer shows enter, its table's
        Binding("d", "done", "Task done"),
        Binding("z", "snooze", "Snooze"),
        Binding("a", "log_activity", "Log activity"),
        Binding("t", "add_task", "Add task"),
        Binding("f5", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._first_load = True
        self._tasks: list[TaskView] = []

    def compose(self) -> ComposeResult:
        """Two tables: the reminders, then the records queue."""
        yield Header()
        yield Static(self.tr("Reminders"), classes="heading")
        tr = self.tr
        reminders = CrmTable(id="reminders", cursor_type="row")
        reminders.show_enter(tr("Open"))
        reminders.add_fixed_columns((tr("Due"), 24, 18), (tr("Record"), 8), (tr("Task"), 70, 20))
        yield reminders
        yield Static(self.tr("My records by next action"), classes="heading")
        queue = CrmTable(id="queue", cursor_type="row")
        queue.show_enter(tr("Open"))
        queue.add_fixed_columns(("#", 6), (tr("Title"), 20), (tr("Stage"), 14),
                                (tr("Next due"), 14), (tr("Last activity"), 14))  # fmt: skip
        yield queue
        yield CrmFooter()

    def on_mount(self) -> None:
        """Load the day."""
        self.action_refresh()

    def on_screen_resume(self) -> None:
        """Coming back from a record: what changed there shows here."""
        if not self._first_load:
            self.action_refresh()

    def action_refresh(self) -> None:
        """Read the reminders and the queue again (the first time: take the app's early read)."""
        crm, actor = self.crm, self.actor
        first = self.crm_app.take_first_work()
        if first is not None and first.done() and first.exception() is None:
            self._show(first.result())  # in the first paint, not one frame later
            return
        read = first.result if first is not None else lambda: read_my_work(crm, actor)
        self.call_api(read, self._show, group="my-work")

    def _show(self, found: MyWorkRead) -> None:
        work, workflows = found
        self.crm_app.remember_workflows(workflows)
        kinds = Counter(item.record.kind for item in work.records)
        if kinds:
            self.crm_app.usual_kind = kinds.most_common(1)[0][0]
        now = self.crm.clock()
        self._tasks = work.tasks
        reminders = self.query_one("#reminders", DataTable)
        reminders.clear()
        for task in work.tasks:
            due: str | Text = when(task.due_at, now, self.crm_app.tz)
            if task.due_at < now:
                due = Text.assemble((self.tr("Overdue"), "b red"), " ", due)
            record = f"#{task.record_id}" if task.record_id else ""
            reminders.add_row(due, record, self.tr(task.note), key=str(task.id))
        if not work.tasks:
            reminders.add_row("", "", self.tr("No open reminders."))
        queue = self.query_one("#queue", DataTable)
        queue.clear()
        for item in work.records:
            r = item.record
            next_due: str | Text = (
                when(item.next_due, now, self.crm_app.tz) if item.next_due else ""
            )
            if item.next_due and item.next_due < now:
                next_due = Text(str(next_due), style="red")
            stage = self.crm_app.stage_label(r.kind, r.stage)
            queue.add_row(str(r.id), r.title, stage, next_due,
                          ago(r.last_activity_at, now), key=str(r.id))  # fmt: skip
        if self._first_load:
            self._first_load = False
            self._announce(work.tasks, now)
        self.crm_app.mark_tasks_seen(t.id for t in work.tasks)

    def _announce(self, tasks: list[TaskView], now: datetime) -> None:
        """One short notice of what needs attention: overdue reminders, records about to go.

        One, however many there are: the reminders table lists each of them.
        """
        leaving = [t for t in tasks if (t.cause or "").endswith(POOL_WARNING)]
        overdue = sum(1 for t in tasks if t.due_at < now and t not in leaving)
        lines = []
        if overdue:
            lines.append(self.tr("{n} overdue reminder(s)", n=overdue))
        if leaving:
            lines.append(self.tr("{n} record(s) return to the pool soon unless you follow up",
                                 n=len(leaving)))  # fmt: skip
        if lines:
            lines.append(self.tr("They are in your reminders (1)."))
            self.notify("\n".join(lines), severity="warning", timeout=ANNOUNCE_SECONDS,
                        markup=False)  # fmt: skip

    def _highlighted_record(self) -> int | None:
        table = self.focused if isinstance(self.focused, DataTable) else None
        if table is None or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if table.id == "queue":
            return int(key) if key else None
        task = next((t for t in self._tasks if str(t.id) == key), None)
        return task.record_id if task else None

    def action_open(self) -> None:
        """Open the record of the highlighted reminder or queue row.

        ``]`` and ``[`` on the record step through the table it was opened from.
        """
        record_id = self._highlighted_record()
        if record_id is None:
            return
        table = self.focused if isinstance(self.focused, DataTable) else None
        if table is not None and table.id == "reminders":
            ids = [t.record_id for t in self._tasks if t.record_id is not None]
        else:
            queue = self.query_one("#queue", DataTable)
            ids = [int(str(row.key.value)) for row in queue.ordered_rows if row.key.value]
        self.app.push_screen(RecordScreen(record_id, list_ids=list(dict.fromkeys(ids))))

    def row_record(self) -> int | None:
        """The record of the highlighted reminder or queue row."""
        return self._highlighted_record()

    def after_row_action(self) -> None:
        """A new task or call shows in the reminders and the queue."""
        self.action_refresh()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row opens its record."""
        event.stop()
        self.action_open()

    def action_done(self) -> None:
        """Mark the highlighted reminder done."""
        table = self.query_one("#reminders", DataTable)
        if table.row_count == 0 or not self._tasks:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key is None:
            return
        task_id = int(key)
        self.call_api(lambda: self.crm.complete_task(self.actor, task_id), self._task_done)

    def action_snooze(self) -> None:
        """Put the highlighted reminder off: an hour, tomorrow 09:00, or a time typed."""
        table = self.query_one("#reminders", DataTable)
        if table.row_count == 0 or not self._tasks:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        task = next((t for t in self._tasks if str(t.id) == key), None)
        if task is None:
            return
        dialog = SnoozeDialog(task, self.crm.clock(), self.crm_app.tz)
        self.crm_app.open_dialog(dialog, self._snoozed)

    def _snoozed(self, task: TaskView | None) -> None:
        if task is None:
            return
        at = when(task.due_at, self.crm.clock(), self.crm_app.tz)
        self.notify(self.tr("Snoozed until {at}: {note}", at=at, note=task.note))
        self.action_refresh()

    def _task_done(self, task: TaskView) -> None:
        self.notify(self.tr("Task done") + f": {self.tr(task.note)}")
        self.action_refresh()

    def palette_commands(self) -> Iterable[SystemCommand]:
        """This screen's actions for the command palette."""
        yield SystemCommand(self.tr("Open"), "enter, o", self.action_open)
        yield SystemCommand(self.tr("Task done"), "d", self.action_done)
        yield SystemCommand(self.tr("Snooze"), "z", self.action_snooze)
        yield SystemCommand(self.tr("Log activity"), "a", self.action_log_activity)
        yield SystemCommand(self.tr("Add task"), "t", self.action_add_task)
        yield SystemCommand(self.tr("Refresh"), "f5", self.action_refresh)
