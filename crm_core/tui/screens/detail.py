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
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import DataTable, Header, Static, TabbedContent, TabPane

from crm_core.api import ActivityType, Crm, DetailPanel, KindSpec, TalkingPoints, WhyView
from crm_core.errors import CrmError, PluginError
from crm_core.tui import undo
from crm_core.tui.base import CrmScreen
from crm_core.tui.i18n import Translator
from crm_core.tui.messages import said
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
from crm_core.tui.widgets.pickers import CopyDialog
from crm_core.tui.widgets.table import CrmTable
from crm_core.views import (
    ActivityView,
    ContactView,
    DealView,
    JournalEntry,
    PoolView,
    RecordView,
    StageMove,
)

# Fields of these dedupe kinds are what `y` offers to copy, beside the contacts' phone and e-mail.
COPYABLE = ("phone", "email")

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
        line(tr("Owner"), f"{why.owner}  {tr('since')} {since}  ({tr(why.owner_cause or '')})")
    if why.pool:
        since = when(why.pool_since, now, tz)
        line(tr("Pool"), f"{why.pool}  {tr('since')} {since}  ({why.pool_cause or ''})")
        if why.pool_reason:
            line(tr("Reason"), tr(why.pool_reason))
    line(tr("Rotations"), str(why.rotations))
    out.append(f"\n{tr('Coming up')}\n", style="bold")
    if not why.upcoming:
        out.append(f"  {tr('Nothing scheduled.')}\n")
    for forecast in why.upcoming:
        out.append(f"  {when(forecast.at, now, tz)}  {tr(forecast.event)}  ")
        out.append(f"({forecast.rule})\n", style="dim")
    if why.notes:
        out.append(f"\n{tr('Notes')}\n", style="bold")
        for note in why.notes:
            out.append(f"  {tr(note)}\n")
    return out


def copyable(detail: RecordDetail, tr: Translator) -> list[tuple[str, str]]:
    """The phone numbers and e-mail addresses of a record and its contacts, as (what, value)."""
    out: list[tuple[str, str]] = []
    for name, spec in detail.kind.fields.items():
        shown = detail.record.fields.get(name)
        if spec.dedupe in COPYABLE and shown:
            out.append((tr.label(spec.label, name), str(shown)))
    for contact in detail.contacts:
        for label, shown in ((tr("Phone"), contact.phone), (tr("E-mail"), contact.email)):
            if shown:
                out.append((f"{contact.name} · {label}", shown))
    return list({v: (w, v) for w, v in reversed(out)}.values())[::-1]


def points_text(found: TalkingPoints, tr: Translator, stage: str) -> Text:
    """The talking points of a record's stage, numbered, or a line saying there are none."""
    out = Text(tr("Talking points · {stage}", stage=stage) + "\n\n", style="bold")
    if not found.points:
        out.append(tr("No talking points for this stage."), style="dim")
    for n, point in enumerate(found.points, 1):
        out.append(f"{n}. {tr.label(point, point.get('en', ''))}\n")
    return out


class RecordScreen(CrmScreen):
    """The detail of one record, pushed over a list; escape goes back.

    Tabs: Fields, Contacts, Deals, Activities (newest first), Journal, Why,
    then one per plugin panel. Each action opens a dialog and reloads the
    record when it succeeds. Opened from a list with the ids it showed
    (``list_ids``), ``]`` and ``[`` step to the next and previous of them.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("e", "edit", "Edit fields"),
        Binding("a", "log_activity", "Log activity"),
        Binding("t", "add_task", "Add task"),
        Binding("m", "move", "Move stage"),
        Binding("x", "release", "Release"),
        Binding("c", "convert", "Convert"),
        Binding("f5", "reload", "Refresh"),
        Binding("right_square_bracket", "step(1)", "Next record"),
        Binding("left_square_bracket", "step(-1)", "Previous record"),
        Binding("u", "undo", "Undo"),
        Binding("y", "copy", "Copy phone/e-mail"),
        Binding("i", "talking_points", "Talking points"),
    ]

    def __init__(self, record_id: int, list_ids: list[int] | None = None) -> None:
        super().__init__()
        self.record_id = record_id
        self.list_ids = list_ids or []  # the ids of the list it was opened from, in its order
        self.detail: RecordDetail | None = None

    def compose(self) -> ComposeResult:
        """The record's heading, then its tabs."""
        yield Header()
        yield Static(f"#{self.record_id}", id="record-head", classes="heading")
        yield Static("", id="record-times", classes="hint")
        # The talking points sit beside the tabs, so the operator reads them while calling.
        with Horizontal(id="record-body"):
            with TabbedContent(id="record-tabs"):
                with TabPane(self.tr("Fields"), id="tab-fields"):
                    yield self._table("fields", ("Field", 28), ("Value", 60))
                with TabPane(self.tr("Contacts"), id="tab-contacts"):
                    yield self._table(
                        "contacts", ("Name", 20), ("Phone", 16), ("E-mail", 28), ("Position", 20)
                    )
                with TabPane(self.tr("Deals"), id="tab-deals"):
                    yield self._table(
                        "deals",
                        ("Title", 30),
                        ("Amount", 16),
                        ("Stage", 12),
                        ("Expected close", 14),
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
            yield Static("", id="talking-points", classes="talking-points")
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
             change_summary(j.before, j.after), self.tr(j.reason or ""))
            for j in detail.journal
        ], self.tr("No journal rows."))  # fmt: skip
        self.query_one("#why", Static).update(why_text(detail.why, self.tr, now, tz))
        self._show_panels(detail.panels)
        if self.query_one("#talking-points", Static).has_class("-shown"):
            self._read_points()  # the record may be in another stage now

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

        self.crm_app.open_dialog(dialog, closed)

    def action_edit(self) -> None:
        """Edit the record's fields; ``u`` can put them back."""
        if self.detail is not None:
            before = self.detail.record
            dialog = EditFieldsDialog(before, self.detail.kind)

            def saved(after: RecordView) -> str:
                self.crm_app.remember_undo(undo.after_edit(before, after))
                return self.tr("Saved #{id}", id=after.id)

            self._open(dialog, saved)

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
        """Move the record to a stage its workflow allows from here (asked of the API now)."""
        if self.detail is None:
            return
        if not self.detail.stages:
            self.notify(self.tr("No workflow is applied to this kind."), severity="warning")
            return
        record = self.detail.record
        crm, actor = self.crm, self.actor
        self.call_api(lambda: crm.stage_moves(actor, record.id),
                      lambda moves: self._offer_moves(record, moves), group="moves")  # fmt: skip

    def _offer_moves(self, record: RecordView, moves: list[StageMove]) -> None:
        if not any(m.allowed for m in moves):
            stage = self.crm_app.stage_label(record.kind, record.stage)
            why = said(moves[0].why_not or "", self.tr) if moves else ""
            text = self.tr("No move is allowed from {stage} now.", stage=stage)
            self.notify(f"{text} {why}".strip(), severity="warning")
            return
        dialog = MoveStageDialog(record, moves)

        def moved(after: RecordView) -> str:
            self.crm_app.remember_undo(undo.after_move(record, after))
            return self.tr("Moved to {stage}", stage=self._stage_of(after))

        self._open(dialog, moved)

    def _stage_of(self, record: RecordView) -> str:
        return self.crm_app.stage_label(record.kind, record.stage)

    def action_release(self) -> None:
        """Give the record back to a pool: the dialog asks the reason and offers the pools."""
        if self.detail is None:
            return
        crm, actor, record_id = self.crm, self.actor, self.record_id

        def ask(pools: list[PoolView]) -> None:
            dialog = ReleaseDialog(record_id, [p.name for p in pools])
            self._open(dialog, lambda r: self.tr("Released to pool {pool}", pool=r.pool))

        self.call_api(lambda: crm.list_pools(actor, usable=True), ask, group="release-pools")

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

    def action_step(self, by: int) -> None:
        """Show the next (``by`` 1) or previous (-1) record of the list this one came from."""
        if self.record_id not in self.list_ids:
            self.notify(self.tr("Opened on its own: there is no list to step through."))
            return
        at = self.list_ids.index(self.record_id) + by
        if not 0 <= at < len(self.list_ids):
            if by > 0:
                self.notify(self.tr("This is the last record of the list."))
            else:
                self.notify(self.tr("This is the first record of the list."))
            return
        self.record_id = self.list_ids[at]
        self.detail = None
        self.query_one("#record-head", Static).update(f"#{self.record_id}")
        self.action_reload()

    def action_undo(self) -> None:
        """Put back this session's last field edit or stage move of this record."""
        step = undo.last_for(self.crm_app.undo_steps, self.record_id)
        if step is None:
            self.notify(self.tr("Nothing to undo on this record in this session."))
            return
        crm, actor = self.crm, self.actor

        def put_back() -> RecordView:
            return crm.undo_change(actor, step.record_id, version=step.version,
                                   fields=step.fields or None, title=step.title,
                                   stage=step.stage)  # fmt: skip

        def done(record: RecordView) -> None:
            self.crm_app.undo_steps = undo.undone(self.crm_app.undo_steps, step, record.version)
            what = self.tr("stage move") if step.is_move else self.tr("edit")
            self.notify(self.tr("Undone: the {what} of #{id}", what=what, id=record.id))
            self.action_reload()

        self.call_api(put_back, done, group="undo")

    def action_copy(self) -> None:
        """Copy a phone number or e-mail to the clipboard (OSC 52: works over SSH)."""
        if self.detail is None:
            return
        values = copyable(self.detail, self.tr)
        if not values:
            self.notify(self.tr("No phone or e-mail to copy."), severity="warning")
        elif len(values) == 1:
            self._copy(values[0][1])
        else:
            self.crm_app.open_dialog(CopyDialog(values), self._copy)

    def _copy(self, text: str | None) -> None:
        if text:
            self.app.copy_to_clipboard(text)
            self.notify(self.tr("Copied {value}", value=text))

    def action_talking_points(self) -> None:
        """Show or hide what to say on a call in the record's stage (from the plugins)."""
        panel = self.query_one("#talking-points", Static)
        panel.set_class(not panel.has_class("-shown"), "-shown")
        if panel.has_class("-shown"):
            self._read_points()

    def _read_points(self) -> None:
        crm, actor, record_id = self.crm, self.actor, self.record_id

        def show(found: TalkingPoints) -> None:
            stage = self.crm_app.stage_label(found.kind, found.stage) or self.tr("none")
            self.query_one("#talking-points", Static).update(points_text(found, self.tr, stage))

        self.call_api(lambda: crm.talking_points(actor, record_id), show, group="points")

    def palette_commands(self) -> Iterable[SystemCommand]:
        """This screen's actions for the command palette."""
        tr = self.tr
        yield SystemCommand(tr("Edit fields"), "e", self.action_edit)
        yield SystemCommand(tr("Log activity"), "a", self.action_log_activity)
        yield SystemCommand(tr("Add task"), "t", self.action_add_task)
        yield SystemCommand(tr("Move stage"), "m", self.action_move)
        yield SystemCommand(tr("Release"), "x", self.action_release)
        yield SystemCommand(tr("Convert"), "c", self.action_convert)
        yield SystemCommand(tr("Refresh"), "F5", self.action_reload)
        yield SystemCommand(tr("Next record"), "]", lambda: self.action_step(1))
        yield SystemCommand(tr("Previous record"), "[", lambda: self.action_step(-1))
        yield SystemCommand(tr("Undo"), "u", self.action_undo)
        yield SystemCommand(tr("Copy phone/e-mail"), "y", self.action_copy)
        yield SystemCommand(tr("Talking points"), "i", self.action_talking_points)
        yield SystemCommand(tr("Back"), "escape", self.action_back)
