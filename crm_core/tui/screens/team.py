"""The team screen: a manager's (or admin's) operators, their queues, and reassigning records.

Managers see their team, admins everyone; the API decides what each may see
and to whom a record may go, so a refused reassignment shows the API's words.
``space`` selects records of the chosen operator; ``g`` gives the selected
ones (or the highlighted one) to another user, ``x`` releases them to a
pool, each in one action with a result per record. Admins and managers also
check workflow files here, with located errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.markup import escape
from textual.widgets import DataTable, Header, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from crm_core.api import Crm, LoadResult
from crm_core.shipped import workflow_dir
from crm_core.tui.base import CrmModal, CrmScreen
from crm_core.tui.messages import said
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.widgets.cells import ago, when
from crm_core.tui.widgets.footer import CrmFooter
from crm_core.tui.widgets.table import CrmTable
from crm_core.views import BulkResult, PoolView, RecordPage, RecordView, UserView

IDLE_DAYS = 7
"""A record without an activity for this many days counts as idle (as in the pool rules)."""
PAGE = 50
SELECTED = "✓ "  # before the id of a selected record


@dataclass
class Queue:
    """One operator's load: open records, idle ones, and their open and overdue tasks."""

    name: str
    role: str
    active: bool
    away_until: datetime | None = None
    open: int = 0
    idle: int = 0
    compliant: float | None = None
    tasks: int = 0
    overdue: int = 0


def team_members(me: UserView, users: list[UserView], teams: dict[str, list[str]]) -> list[str]:
    """Whom ``me`` oversees: an admin everyone, a manager the members of their team."""
    if me.role == "admin":
        return [u.name for u in users]
    return list(teams.get(me.team or "", []))


def load_queues(crm: Crm, me: UserView, now: datetime) -> list[Queue]:
    """The queue of every user ``me`` oversees, from the API's follow-up report and tasks.

    Inactive users are listed only while they still hold open records: those
    need a new owner.
    """
    users = {u.name: u for u in crm.list_users(me.name)}
    teams = {t.name: t.members for t in crm.list_teams(me.name)}
    names = team_members(me, list(users.values()), teams)
    queues = {
        n: Queue(n, users[n].role, users[n].active, users[n].away_until)
        for n in names
        if n in users
    }
    report = crm.run_report(me.name, "follow_up_compliance", params={"days": str(IDLE_DAYS)})
    for owner, open_records, idle, compliant in report.rows:
        if owner in queues:
            queues[owner].open, queues[owner].idle = open_records, idle
            queues[owner].compliant = compliant
    for task in crm.list_tasks(me.name):
        if task.assignee in queues:
            queues[task.assignee].tasks += 1
            queues[task.assignee].overdue += task.due_at < now
    return [q for q in queues.values() if q.active or q.open]


class TeamScreen(CrmScreen):
    """The queues of the manager's team; pick an operator to see and hand on their records."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open", "Open record"),
        Binding("g", "reassign", "Reassign"),
        Binding("space", "toggle_select", "Select"),
        Binding("x", "release", "Release"),
        Binding("v", "validate", "Validate workflow"),
        Binding("n,pagedown", "next_page", "Next page"),
        Binding("p,pageup", "previous_page", "Previous page"),
        Binding("f5", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._queues: list[Queue] = []
        self._operator: str | None = None
        self._records: list[RecordView] = []
        self._cursors: list[str | None] = [None]  # the cursor of each page shown so far
        self._next: str | None = None
        self._loaded = False
        self._selected: set[int] = set()  # ids of the chosen operator's records

    def compose(self) -> ComposeResult:
        """The operators' queues above, the chosen operator's records below."""
        yield Header()
        if not self.crm_app.is_manager:
            yield Static(self.tr("Only managers and admins see the team"), id="team-denied")
            yield CrmFooter()
            return
        team = self.crm_app.user.team if self.crm_app.user.role != "admin" else None
        title = self.tr("Team {team}", team=team) if team else self.tr("Everyone")
        yield Static(title, classes="heading")
        tr = self.tr
        queues = CrmTable(id="team-queues", cursor_type="row")
        queues.add_fixed_columns((tr("Operator"), 28), (tr("Role"), 10), (tr("Open records"), 13),
                                 (tr("Idle {n}d+", n=IDLE_DAYS), 10), (tr("Compliant"), 10),
                                 (tr("Open tasks"), 11), (tr("Overdue tasks"), 13))  # fmt: skip
        yield queues
        yield Static(self.tr("Pick an operator to see their records."), id="team-records-title",
                     classes="heading")  # fmt: skip
        records = CrmTable(id="team-records", cursor_type="row")
        records.show_enter(tr("Open record"))
        records.add_fixed_columns(("#", 7), (tr("Title"), 24), (tr("Kind"), 12), (tr("Stage"), 14),
                                  (tr("Last activity"), 14), (tr("Updated"), 8))  # fmt: skip
        yield records
        yield Static("", id="team-status", classes="hint")
        yield CrmFooter()

    def on_mount(self) -> None:
        """Read the team's queues."""
        if self.crm_app.is_manager:
            self.action_refresh()

    def on_screen_resume(self) -> None:
        """Back from a record or a dialog: show what changed."""
        if self._loaded and self.crm_app.is_manager:
            self.action_refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """An operator sees no team actions, in the footer or anywhere."""
        if action in {b.action for b in Binding.make_bindings(self.BINDINGS)}:
            return self.crm_app.is_manager
        return True

    # -- the queues ------------------------------------------------------------

    def action_refresh(self) -> None:
        """Read the queues again (and the chosen operator's records)."""
        me, now = self.crm_app.user, self.crm.clock()
        self.call_api(lambda: load_queues(self.crm, me, now), self._show_queues, group="team")

    def _show_queues(self, queues: list[Queue]) -> None:
        self._loaded = True
        self._queues = queues
        table = self.query_one("#team-queues", DataTable)
        table.clear()
        for q in queues:
            name = q.name if q.active else f"{q.name} ({self.tr('inactive')})"
            if q.away_until is not None and q.away_until > self.crm.clock():
                away = when(q.away_until, self.crm.clock(), self.crm_app.tz)
                name += f" ({self.tr('away until {at}', at=away)})"
            idle = Text(str(q.idle), style="red") if q.idle else "0"
            overdue = Text(str(q.overdue), style="b red") if q.overdue else "0"
            compliant = f"{q.compliant:.0%}" if q.compliant is not None else "—"
            table.add_row(name, self.tr(q.role), str(q.open), idle, compliant, str(q.tasks),
                          overdue, key=q.name)  # fmt: skip
        if self._operator is not None and any(q.name == self._operator for q in queues):
            table.move_cursor(row=table.get_row_index(self._operator))
            self._load_records(self._cursors[-1])
        elif queues:
            self._choose(queues[0].name)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Moving over an operator shows their records."""
        name = event.row_key.value
        if event.data_table.id == "team-queues" and name is not None and name != self._operator:
            self._choose(name)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an operator goes to their records; enter on a record opens it."""
        event.stop()
        if event.data_table.id == "team-queues":
            self.query_one("#team-records", DataTable).focus()
        else:
            self.action_open()

    def _choose(self, name: str) -> None:
        self._operator = name
        self._selected.clear()
        self._cursors = [None]
        self._load_records(None)

    # -- the operator's records ------------------------------------------------

    def _load_records(self, after: str | None) -> None:
        owner = self._operator
        if owner is None:
            return

        def read() -> RecordPage:
            return self.crm.record_page(self.actor, owner=owner, sort="idle", after=after,
                                        limit=PAGE)  # fmt: skip

        self.call_api(read, self._show_records, group="team-records")

    def _show_records(self, page: RecordPage) -> None:
        now = self.crm.clock()
        self._records, self._next = page.records, page.next
        table = self.query_one("#team-records", DataTable)
        row = table.cursor_row
        table.clear()
        self._selected &= {r.id for r in page.records}
        for r in page.records:
            mark = SELECTED if r.id in self._selected else ""
            table.add_row(f"{mark}{r.id}", r.title, r.kind, r.stage or "",
                          ago(r.last_activity_at, now), ago(r.updated_at, now),
                          key=str(r.id))  # fmt: skip
        if page.records:
            table.move_cursor(row=min(row, table.row_count - 1))
        title = self.tr("Records of {name}, longest idle first", name=self._operator)
        if len(self._cursors) > 1 or page.next:
            title += " · " + self.tr("page {n}", n=len(self._cursors))
        self.query_one("#team-records-title", Static).update(title)

    def action_next_page(self) -> None:
        """The chosen operator's next page of records."""
        if self._next is not None:
            self._cursors.append(self._next)
            self._load_records(self._next)

    def action_previous_page(self) -> None:
        """The chosen operator's previous page of records."""
        if len(self._cursors) > 1:
            self._cursors.pop()
            self._load_records(self._cursors[-1])

    def _highlighted_record(self) -> RecordView | None:
        table = self.query_one("#team-records", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self._records if str(r.id) == key), None)

    def action_open(self) -> None:
        """Open the highlighted record."""
        record = self._highlighted_record()
        if record is not None:
            self.app.push_screen(RecordScreen(record.id))

    # -- selecting, reassigning, releasing ---------------------------------------

    def action_toggle_select(self) -> None:
        """Select the highlighted record (or unselect it) and go to the next row."""
        record = self._highlighted_record()
        if record is None:
            return
        self._selected ^= {record.id}
        table = self.query_one("#team-records", DataTable)
        mark = SELECTED if record.id in self._selected else ""
        table.update_cell_at(Coordinate(table.cursor_row, 0), f"{mark}{record.id}")
        table.move_cursor(row=table.cursor_row + 1)
        self._status(escape(self._selection_line()))

    def _selection_line(self) -> str:
        n = len(self._selected)
        if not n:
            return ""
        return self.tr("{n} selected · g: reassign · x: release · space: unselect", n=n)

    def _targets(self) -> list[RecordView]:
        """The selected records, else the highlighted one."""
        chosen = [r for r in self._records if r.id in self._selected]
        if chosen:
            return chosen
        record = self._highlighted_record()
        return [record] if record is not None else []

    def action_reassign(self) -> None:
        """Give the selected records (or the highlighted one) to another user of the team."""
        targets = self._targets()
        if not targets:
            self.notify(self.tr("Pick a record of an operator first."), severity="warning")
            return
        owner = targets[0].owner
        names = [q.name for q in self._queues if q.active and q.name != owner]
        if len(targets) == 1 and not self._selected:
            record = targets[0]
            self.crm_app.open_dialog(
                ReassignDialog(record, names), lambda name: self._reassign(record, name)
            )
            return
        ids = [r.id for r in targets]
        self.crm_app.open_dialog(
            ReassignDialog(targets[0], names, count=len(ids)),
            lambda name: self._reassign_many(ids, name),
        )

    def _reassign_many(self, ids: list[int], name: str | None) -> None:
        if not name:
            return
        crm, actor = self.crm, self.actor
        self.call_api(lambda: crm.reassign_records(actor, ids, name), self._bulk_done,
                      group="team-reassign")  # fmt: skip

    def action_release(self) -> None:
        """Release the selected records (or the highlighted one) to a pool, with one reason."""
        targets = self._targets()
        if not targets:
            self.notify(self.tr("Pick a record of an operator first."), severity="warning")
            return
        ids = [r.id for r in targets]
        crm, actor = self.crm, self.actor

        def ask(pools: list[PoolView]) -> None:
            dialog = BulkReleaseDialog(ids, [p.name for p in pools])
            self.app.push_screen(dialog, self._bulk_done)

        self.call_api(lambda: crm.list_pools(actor, usable=True), ask, group="team-pools")

    def _bulk_done(self, results: list[BulkResult] | None) -> None:
        """Say what became of each record, clear the selection and read the queues again."""
        if not results:
            return
        done = [r for r in results if r.ok]
        lines = []
        if done:
            moved = sum(r.tasks_moved for r in done)
            ids = ", ".join(f"#{r.record_id}" for r in done)
            lines.append(self.tr("Done for {n}: {ids}; {tasks} open task(s) moved",
                                 n=len(done), ids=ids, tasks=moved))  # fmt: skip
        lines += [f"#{r.record_id}: {r.error}" for r in results if not r.ok]
        text = "\n".join(lines)
        self._status(escape(text) if len(done) == len(results) else f"[red]{escape(text)}[/]")
        self.notify(text, severity="information" if len(done) == len(results) else "warning")
        self._selected.clear()
        self.action_refresh()

    def _reassign(self, record: RecordView, name: str | None) -> None:
        if not name:
            return

        def give() -> RecordView:
            return self.crm.update_record(self.actor, record.id, owner=name,
                                          expected_version=record.version)  # fmt: skip

        def refused(exc: Exception) -> None:
            text = said(exc, self.tr)
            self._status(f"[red]{escape(text)}[/]")
            self.crm_app.notify(text, severity="error", timeout=15)

        self.call_api(give, self._reassigned, failed=refused, group="team-reassign")

    def _reassigned(self, record: RecordView) -> None:
        text = self.tr("#{id} {title} now belongs to {owner}", id=record.id, title=record.title,
                       owner=record.owner)  # fmt: skip
        self._status(escape(text))
        self.notify(text)
        self.action_refresh()

    def _status(self, text: str) -> None:
        self.query_one("#team-status", Static).update(text)

    # -- workflow files ------------------------------------------------------------

    def action_validate(self) -> None:
        """Check a workflow file (or every one in a folder) and show its located problems."""
        self.crm_app.open_dialog(WorkflowCheckDialog())

    def palette_commands(self) -> Iterable[SystemCommand]:
        """This screen's actions for the command palette (none for operators)."""
        if not self.crm_app.is_manager:
            return
        yield SystemCommand(self.tr("Open record"), "o", self.action_open)
        give = self.tr("g: give the selected records (or the highlighted one) to another user")
        yield SystemCommand(self.tr("Reassign"), give, self.action_reassign)
        yield SystemCommand(self.tr("Select"), "space", self.action_toggle_select)
        free = self.tr("x: release the selected records (or the highlighted one) to a pool")
        yield SystemCommand(self.tr("Release"), free, self.action_release)
        check = self.tr("v: check a workflow file or folder")
        yield SystemCommand(self.tr("Validate workflow"), check, self.action_validate)
        yield SystemCommand(self.tr("Next page"), "n", self.action_next_page)
        yield SystemCommand(self.tr("Previous page"), "p", self.action_previous_page)
        yield SystemCommand(self.tr("Refresh"), "f5", self.action_refresh)


class ReassignDialog(CrmModal[str | None]):
    """Pick who gets a record: one of the team, or any user name typed in."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, record: RecordView, names: list[str], count: int = 1) -> None:
        super().__init__()
        self.record = record  # the first of ``count`` records of one owner
        self.names = names
        self.count = count

    def compose(self) -> ComposeResult:
        """The record (or how many), the team's users, and a field for another name."""
        owner = self.record.owner or "—"
        if self.count > 1:
            heading = self.tr("Reassign {n} records (now {owner})", n=self.count, owner=owner)
        else:
            heading = self.tr("Reassign #{id} {title} (now {owner})", id=self.record.id,
                              title=self.record.title, owner=owner)  # fmt: skip
        with Vertical(id="reassign-dialog", classes="team-dialog"):
            yield Static(heading, classes="heading")
            yield OptionList(*(Option(n, id=n) for n in self.names), id="reassign-users")
            yield Input(placeholder=self.tr("or type a user name, then enter"),
                        id="reassign-name")  # fmt: skip
            yield Static(self.tr("enter: give · escape: cancel"), classes="hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Picking a user gives the record to them."""
        self.dismiss(event.option.id)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """A typed name gives the record to that user (the API says whether that may be)."""
        name = event.value.strip()
        if name:
            self.dismiss(name)

    def action_cancel(self) -> None:
        """Keep the record where it is."""
        self.dismiss(None)


class BulkReleaseDialog(CrmModal[list[BulkResult] | None]):
    """Release several records to a pool at once, with the one reason others will read."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "#release-reason"

    def __init__(self, record_ids: list[int], pools: list[str]) -> None:
        super().__init__()
        self.record_ids = record_ids
        self.pools = pools

    def compose(self) -> ComposeResult:
        """How many, the reason, the pool (the workflow's first unless chosen)."""
        with Vertical(id="release-dialog", classes="team-dialog"):
            ids = ", ".join(f"#{i}" for i in self.record_ids)
            yield Static(self.tr("Release {n} record(s) to a pool: {ids}", n=len(self.record_ids),
                                 ids=ids), classes="heading")  # fmt: skip
            yield Input(placeholder=self.tr("Reason (others read it in the pool)"),
                        id="release-reason")  # fmt: skip
            yield Select([(p, p) for p in self.pools], prompt=self.tr("Their workflow's pool"),
                         id="release-pool")  # fmt: skip
            yield Static("", id="release-problem", classes="form-problem")
            yield Static(self.tr("enter: release · escape: cancel"), classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Release them all with the reason (each record gets its own result)."""
        event.stop()
        reason = event.value.strip()
        if not reason:
            problem = self.query_one("#release-problem", Static)
            problem.update(self.tr("Say why they go back: others read it in the pool."))
            problem.add_class("-shown")
            return
        choice = self.query_one("#release-pool", Select).value
        pool = choice if isinstance(choice, str) else None
        crm, actor, ids = self.crm, self.actor, self.record_ids
        self.call_api(lambda: crm.release_records(actor, ids, reason, pool=pool), self.dismiss,
                      group="release-many")  # fmt: skip

    def action_cancel(self) -> None:
        """Keep the records where they are."""
        self.dismiss(None)


def workflow_files(path: Path) -> list[Path]:
    """The file itself, or a folder's ``.yaml`` and ``.yml`` files by name."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
    return [path]


class WorkflowCheckDialog(CrmModal[None]):
    """``crm workflow validate`` in a dialog: a path in, located problems (or "valid") out."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def compose(self) -> ComposeResult:
        """The path, then what the check found."""
        with Vertical(id="workflow-dialog", classes="team-dialog"):
            yield Static(self.tr("Validate a workflow file"), classes="heading")
            # ./workflows/ in a project, else the shipped workflows: a path that is there.
            yield Input(f"{workflow_dir()}/", placeholder=self.tr("a workflow file or folder"),
                        id="workflow-path")  # fmt: skip
            yield Static(self.tr("enter: check · escape: close"), classes="hint")
            with VerticalScroll(id="workflow-result"):
                yield Static("", id="workflow-problems")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Check the file, or every workflow file of the folder."""
        raw = event.value.strip()
        path = Path(raw)
        out = self.query_one("#workflow-problems", Static)
        if not raw or not path.exists():
            out.update(f"[red]{escape(self.tr('No file or folder at {path}', path=raw))}[/]")
            return
        try:
            files = workflow_files(path)
        except OSError as exc:  # a folder the operator may not read
            out.update(f"[red]{escape(f'{raw}: {exc.strerror}')}[/]")
            return
        if not files:
            out.update(escape(self.tr("No .yaml files in {path}", path=raw)))
            return
        out.update(self.tr("Checking…"))
        self.call_api(lambda: [self.crm.check_workflow(f) for f in files], self._show,
                      group="workflow-check")  # fmt: skip

    def _show(self, results: list[LoadResult]) -> None:
        lines = []
        for result in results:
            workflow = result.workflow
            if workflow is not None:
                stages = " → ".join(workflow.stage_ids)
                text = self.tr("{file}: workflow {name} for {kind}, stages {stages}",
                               file=result.file, name=workflow.name,
                               kind=workflow.data.get("kind"), stages=stages)  # fmt: skip
                lines.append(f"[b green]{self.tr('valid')}[/] {escape(text)}")
                continue
            count = self.tr("{n} problem(s) in {file}", n=len(result.problems), file=result.file)
            lines.append(f"[b red]{escape(count)}[/]")
            for p in result.problems:
                key = f" {p.key}:" if p.key else ""
                message = self.tr(p.message)
                lines.append(escape(f"  {p.file}:{p.line}:{p.column}{key} {message}"))
        self.query_one("#workflow-problems", Static).update("\n".join(lines))

    def action_close(self) -> None:
        """Back to the team."""
        self.dismiss(None)
