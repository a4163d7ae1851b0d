"""One record in full: its fields, people, deals, history, why it is where it is, and its actions.

Other screens open it with ``self.app.push_screen(RecordScreen(record_id))``;
escape goes back. Everything shown is read in one worker, as the operator,
so a record they may not see is refused by the API and the screen closes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import DataTable, Header, Static, TabbedContent, TabPane

from crm_core.api import ActivityType, Crm, DetailPanel, KindSpec, WhyView
from crm_core.errors import CrmError, PluginError
from crm_core.tui.base import CrmScreen
from crm_core.tui.i18n import Translator
from crm_core.tui.widgets.cells import value, when
from crm_core.tui.widgets.footer import CrmFooter
from crm_core.tui.widgets.forms import (
    AddTaskDialog,
    ConvertDialog,
    EditFieldsDialog,
    LogActivityDialog,
    MoveStageDialog,
    ReleaseDialog,
)
from crm_core.tui.widgets.table import CrmTable
from crm_core.views import ActivityView, ContactView, DealView, JournalEntry, RecordView

# A journal change longer than this is cut: the table is for scanning, `crm journal` for detail.
CHANGE_WIDTH = 70


@dataclass
class PanelView:
    """A plugin's detail panel as rendered for this record, or its failure."""

    panel: DetailPanel
    content: RenderableType
    failed: bool


@dataclass
class RecordDetail:
    """Everything the record screen shows and its dialogs offer, read in one go."""

    record: RecordView
    kind: KindSpec
    contacts: list[ContactView]
    deals: list[DealView]
    activities: list[ActivityView]
    journal: list[JournalEntry]
    why: WhyView
    panels: list[PanelView]
    stages: list[str]
    kinds: list[KindSpec]
    activity_types: list[ActivityType]


def load_detail(crm: Crm, actor: str, record_id: int) -> RecordDetail:
    """Read a record and all around it as ``actor`` (runs in a worker).

    A plugin panel that fails shows its error in the panel; any other
    refusal (no permission, no such record) is raised.
    """
    record = crm.get_record(actor, record_id)
    panels = []
    for panel in crm.detail_panels(record.kind):
        try:
            panels.append(PanelView(panel, crm.render_panel(actor, record_id, panel.name), False))
        except PluginError as exc:
            panels.append(PanelView(panel, Text(str(exc)), True))
    workflow = next((w for w in crm.list_workflows(actor) if w.kind == record.kind), None)
    return RecordDetail(
        record=record,
        kind=crm.kind(record.kind),
        contacts=crm.list_contacts(actor, record_id),
        deals=crm.list_deals(actor, record_id),
        activities=crm.list_activities(actor, record_id),
        journal=crm.journal(actor, record_id=record_id),
        why=crm.why(actor, record_id),
        panels=panels,
        stages=workflow.stages if workflow else [],
        kinds=crm.kinds(),
        activity_types=crm.activity_types(),
    )


def change_summary(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """A journal row's change in one short line: ``stage: new→contacted, budget: →20000``."""
    before, after = before or {}, after or {}
    old_fields, new_fields = before.get("fields"), after.get("fields")
    if isinstance(old_fields, dict) or isinstance(new_fields, dict):
        # A record's fields sit nested in its journal state; flatten them to read as the rest.
        before = {**before, **(old_fields or {})}
        after = {**after, **(new_fields or {})}
        before.pop("fields", None)
        after.pop("fields", None)
    parts = []
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(key), after.get(key)
        if old == new or (key not in before and new is None):
            continue
        shown = f"{value(old)}→{value(new)}" if key in before else value(new)
        parts.append(f"{key}: {shown}")
    line = ", ".join(parts)
    return line if len(line) <= CHANGE_WIDTH else line[: CHANGE_WIDTH - 1] + "…"


def why_text(why: WhyView, tr: Translator, now: datetime, tz: tzinfo | None) -> Text:
    """The explanation of :meth:`Crm.why` as lines an operator reads top to bottom."""
    out = Text()

    def line(label: str, text: str) -> None:
        out.append(f"{label}: ", style="bold")
        out.append(f"{text}\n")

    line(tr("Workflow"), why.workflow or tr("none"))
    line(tr("Stage"), why.stage or "")
    if why.owner:
        since = when(why.owner_since, now, tz)
        line(tr("Owner"), f"{why.owner}  {tr('since')} {since}  ({why.owner_cause or ''})")
    if why.pool:
        since = when(why.pool_since, now, tz)
        line(tr("Pool"), f"{why.pool}  {tr('since')} {since}  ({why.pool_cause or ''})")
        if why.pool_reason:
            line(tr("Reason"), why.pool_reason)
    line(tr("Rotations"), str(why.rotations))
    out.append(f"\n{tr('Coming up')}\n", style="bold")
    if not why.upcoming:
        out.append(f"  {tr('Nothing scheduled.')}\n")
    for forecast in why.upcoming:
        out.append(f"  {when(forecast.at, now, tz)}  {forecast.event}  ")
        out.append(f"({forecast.rule})\n", style="dim")
    if why.notes:
        out.append(f"\n{tr('Notes')}\n", style="bold")
        for note in why.notes:
            out.append(f"  {note}\n")
    return out


class RecordScreen(CrmScreen):
    """The detail of one record, pushed over a list; escape goes back.

    Tabs: Fields, Contacts, Deals, Activities (newest first), Journal, Why,
    then one per plugin panel. Each action opens a dialog and reloads the
    record when it succeeds.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("e", "edit", "Edit fields"),
        Binding("a", "log_activity", "Log activity"),
        Binding("t", "add_task", "Add task"),
        Binding("m", "move", "Move stage"),
        Binding("r", "release", "Release"),
        Binding("c", "convert", "Convert"),
        Binding("f5", "reload", "Refresh"),
    ]

    def __init__(self, record_id: int) -> None:
        super().__init__()
        self.record_id = record_id
        self.detail: RecordDetail | None = None

    def compose(self) -> ComposeResult:
        """The record's heading, then its tabs."""
        yield Header()
        yield Static(f"#{self.record_id}", id="record-head", classes="heading")
        yield Static("", id="record-times", classes="hint")
        with TabbedContent(id="record-tabs"):
            with TabPane(self.tr("Fields"), id="tab-fields"):
                yield self._table("fields", ("Field", 28), ("Value", 60))
            with TabPane(self.tr("Contacts"), id="tab-contacts"):
                yield self._table(
                    "contacts", ("Name", 20), ("Phone", 16), ("E-mail", 28), ("Position", 20)
                )
            with TabPane(self.tr("Deals"), id="tab-deals"):
                yield self._table(
                    "deals", ("Title", 30), ("Amount", 16), ("Stage", 12), ("Expected close", 14)
                )
            with TabPane(self.tr("Activities"), id="tab-activities"):
                yield self._table(
                    "activities", ("When", 12), ("Type", 12), ("Who", 10), ("Note", 60)
                )
            with TabPane(self.tr("Journal"), id="tab-journal"):
                yield self._table(
                    "journal",
                    ("When", 12),
                    ("Who", 10),
                    ("Action", 10),
                    ("Change", 50),
                    ("Reason", 20),
                )
            with TabPane(self.tr("Why"), id="tab-why"):
                yield Static("", id="why", classes="record-why")
        yield CrmFooter()

    def _table(self, table_id: str, *columns: tuple[str, int]) -> DataTable[Any]:
        table = CrmTable(id=table_id, cursor_type="row", zebra_stripes=True)
        table.add_fixed_columns(*((self.tr(title), width) for title, width in columns))
        return table

    # -- loading ---------------------------------------------------------------

    def on_mount(self) -> None:
        """Read the record."""
        self.action_reload()

    def action_reload(self) -> None:
        """Read the record and everything around it again."""
        crm, actor, record_id = self.crm, self.actor, self.record_id
        self.call_api(
            lambda: load_detail(crm, actor, record_id), self._show,
            failed=self._refused, group="record",
        )  # fmt: skip

    def _refused(self, exc: CrmError) -> None:
        """The operator may not see it (or it is gone): say so and go back."""
        self.crm_app.show_error(exc)
        if self.is_current:
            self.dismiss()

    def _show(self, detail: RecordDetail) -> None:
        self.detail = detail
        now, tz = self.crm.clock(), self.crm_app.tz
        self._show_heading(detail, now, tz)
        self._fill("fields", [
            (self.tr.label(spec.label, name), value(detail.record.fields.get(name)))
            for name, spec in detail.kind.fields.items()
        ], self.tr("No fields."))  # fmt: skip
        self._fill("contacts", [
            (c.name, c.phone or "", c.email or "", c.position or "")
            for c in detail.contacts
        ], self.tr("No contacts."))  # fmt: skip
        self._fill("deals", [
            (d.title, f"{d.amount} {d.currency}", d.stage,
             d.expected_close.isoformat() if d.expected_close else "")
            for d in detail.deals
        ], self.tr("No deals."))  # fmt: skip
        labels = {t.name: self.tr.label(t.label, t.name) for t in detail.activity_types}
        self._fill("activities", [
            (when(a.occurred_at, now, tz), labels.get(a.type, a.type), a.actor or "",
             a.note or "")
            for a in detail.activities
        ], self.tr("No activities yet."))  # fmt: skip
        self._fill("journal", [
            (when(j.at, now, tz), j.actor or j.cause,
             j.action if j.entity == "record" else f"{j.entity} {j.action}",
             change_summary(j.before, j.after), j.reason or "")
            for j in detail.journal
        ], self.tr("No journal rows."))  # fmt: skip
        self.query_one("#why", Static).update(why_text(detail.why, self.tr, now, tz))
        self._show_panels(detail.panels)

    def _show_heading(self, detail: RecordDetail, now: datetime, tz: tzinfo | None) -> None:
        record, tr = detail.record, self.tr
        where = (
            f"{tr('Owner')}: {record.owner}"
            if record.owner
            else f"{tr('Pool')}: {record.pool or tr('none')}"
        )
        parts = [
            tr.label(detail.kind.label, record.kind),
            f"{tr('Stage')}: {self.crm_app.stage_label(record.kind, record.stage) or tr('none')}",
            where,
            tr("version {n}", n=record.version),
        ]
        if record.archived_at is not None:
            parts.append(tr("archived"))
        head = Text(f"#{record.id} ", style="bold")
        head.append(record.title, style="bold")
        head.append("   " + " · ".join(parts))
        self.query_one("#record-head", Static).update(head)
        times = tr(
            "Created {created} · in this stage since {entered} · last activity {last}",
            created=when(record.created_at, now, tz),
            entered=when(record.stage_entered_at, now, tz),
            last=when(record.last_activity_at, now, tz) or tr("never"),
        )
        self.query_one("#record-times", Static).update(Text(times))

    def _fill(self, table_id: str, rows: list[tuple[str, ...]], empty: str) -> None:
        table = self.query_one(f"#{table_id}", DataTable)
        table.clear()
        for row in rows:
            table.add_row(*row)
        if not rows:
            table.add_row(Text(empty, style="dim"))

    def _show_panels(self, panels: list[PanelView]) -> None:
        tabs = self.query_one("#record-tabs", TabbedContent)
        for shown in panels:
            pane_id = f"panel-{shown.panel.name}"
            content = Text(str(shown.content), style="red") if shown.failed else shown.content
            existing = tabs.query(f"#{pane_id}-body").results(Static)
            body = next(iter(existing), None)
            if body is not None:
                body.update(content)
                continue
            label = self.tr.label(shown.panel.label, shown.panel.name)
            body = Static(content, id=f"{pane_id}-body", classes="record-panel")
            tabs.add_pane(TabPane(label, body, id=pane_id))

    # -- actions ---------------------------------------------------------------

    def action_back(self) -> None:
        """Go back to where the record was opened."""
        self.dismiss()

    def _open(self, dialog: ModalScreen[Any], done: Callable[[Any], str]) -> None:
        """Show ``dialog``; when it succeeds, say what happened and read the record again."""

        def closed(result: Any) -> None:
            if result is None:
                return
            self.notify(done(result))
            self.action_reload()

        self.app.push_screen(dialog, closed)

    def action_edit(self) -> None:
        """Edit the record's fields."""
        if self.detail is not None:
            dialog = EditFieldsDialog(self.detail.record, self.detail.kind)
            self._open(dialog, lambda r: self.tr("Saved #{id}", id=r.id))

    def action_log_activity(self) -> None:
        """Log a call (or another activity) with a note."""
        if self.detail is not None:
            dialog = LogActivityDialog(self.record_id, self.detail.activity_types)
            self._open(dialog, lambda a: self.tr("Activity logged"))

    def action_add_task(self) -> None:
        """Add a reminder about this record."""
        if self.detail is not None:
            dialog = AddTaskDialog(self.record_id, self.crm.clock(), self.crm_app.tz)
            self._open(dialog, lambda t: self.tr("Task added"))

    def action_move(self) -> None:
        """Move the record to another stage of its workflow."""
        if self.detail is None:
            return
        if not self.detail.stages:
            self.notify(self.tr("No workflow is applied to this kind."), severity="warning")
            return
        dialog = MoveStageDialog(self.detail.record, self.detail.stages)
        self._open(dialog, lambda r: self.tr("Moved to {stage}", stage=r.stage))

    def action_release(self) -> None:
        """Give the record back to the pool with a reason."""
        if self.detail is not None:
            dialog = ReleaseDialog(self.record_id)
            self._open(dialog, lambda r: self.tr("Released to pool {pool}", pool=r.pool))

    def action_convert(self) -> None:
        """Convert the record into one of another kind, then open the new record."""
        if self.detail is None:
            return
        if not any(k.name != self.detail.record.kind for k in self.detail.kinds):
            self.notify(self.tr("There is no other kind to convert into."), severity="warning")
            return
        dialog = ConvertDialog(self.detail.record, self.detail.kinds)

        def converted(record: RecordView) -> str:
            self.app.push_screen(RecordScreen(record.id))
            return self.tr("Converted to #{id}", id=record.id)

        self._open(dialog, converted)

    def palette_commands(self) -> Iterable[SystemCommand]:
        """This screen's actions for the command palette."""
        tr = self.tr
        yield SystemCommand(tr("Edit fields"), "e", self.action_edit)
        yield SystemCommand(tr("Log activity"), "a", self.action_log_activity)
        yield SystemCommand(tr("Add task"), "t", self.action_add_task)
        yield SystemCommand(tr("Move stage"), "m", self.action_move)
        yield SystemCommand(tr("Release"), "r", self.action_release)
        yield SystemCommand(tr("Convert"), "c", self.action_convert)
        yield SystemCommand(tr("Refresh"), "F5", self.action_reload)
        yield SystemCommand(tr("Back"), "escape", self.action_back)
