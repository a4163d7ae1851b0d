"""The dialogs of the record screen: each asks, calls the API, and shows a refusal inside itself.

Every dialog saves on Enter (in any of its inputs) or ctrl+s and cancels on
escape. A refusal of the API (a field problem, a failed guard, a stale
version) keeps the dialog open with the API's words beside the field or
under the form, so nothing typed is lost; success dismisses it with what the
API returned.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from crm_core.api import ActivityType, KindSpec, RecordView
from crm_core.errors import CrmError, FieldError
from crm_core.tui.base import CrmModal
from crm_core.tui.messages import said
from crm_core.tui.widgets.cells import value as shown
from crm_core.views import ActivityView, StageMove, TaskView

T = TypeVar("T")

# "+2d", "+3h", "+30m": that long from now.
_OFFSET = re.compile(r"^\+(\d+)\s*([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
TOMORROW = ("tomorrow", "明天")
# A date without a time means the start of a working day.
DAY_STARTS_AT = 9


def parse_due(text: str, now: datetime, tz: tzinfo | None = None) -> datetime:
    """When a task is due, from what an operator types; an aware UTC time.

    ``+2d``, ``+3h`` and ``+30m`` count from ``now``; ``tomorrow`` (明天) is the
    same time a day later; ``2026-03-14`` is that day at 09:00 and
    ``2026-03-14 15:30`` that moment, both in ``tz`` (None: the machine's
    zone) unless the text names a zone. Anything else raises :class:`ValueError`.
    """
    typed = text.strip().lower()
    if typed in TOMORROW:
        return now + timedelta(days=1)
    offset = _OFFSET.match(typed)
    if offset:
        return now + timedelta(**{_UNITS[offset.group(2)]: int(offset.group(1))})
    try:
        at = datetime.fromisoformat(typed)
    except ValueError:
        raise ValueError(f"{text!r} is not a due time") from None
    if len(typed) == len("2026-03-14"):
        at = at.replace(hour=DAY_STARTS_AT)
    if at.tzinfo is None:
        # A naive time is the operator's wall clock; astimezone() reads it as the machine's.
        at = at.replace(tzinfo=tz) if tz is not None else at.astimezone()
    return at.astimezone(UTC)


def parse_assignments(text: str) -> dict[str, str]:
    """``FIELD=VALUE; FIELD=VALUE`` as a dict of texts (the API types them)."""
    out = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, typed = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{part.strip()!r} is not FIELD=VALUE")
        out[name.strip()] = typed.strip()
    return out


class FormDialog(CrmModal[T]):
    """A dialog of inputs over the record screen, with an error line, Save and Cancel.

    It opens with its first field focused (the scrolling body around the
    fields never takes the focus), and the focused field's row shows it.
    """

    AUTO_FOCUS = ".form-row > *"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def heading(self) -> str:
        """The dialog's title, in the operator's language."""
        raise NotImplementedError

    def body(self) -> ComposeResult:
        """The dialog's inputs."""
        raise NotImplementedError

    def save(self) -> None:
        """Check what was typed and call the API (through :meth:`submit`)."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        """Title, the inputs, the error line and the buttons."""
        with Vertical(classes="form"):
            yield Static(self.heading(), classes="form-title")
            with VerticalScroll(classes="form-body"):
                yield from self.body()
            yield Static("", id="form-error", classes="form-problem")
            with Horizontal(classes="form-buttons"):
                yield Button(self.tr("Save"), variant="primary", id="form-save")
                yield Button(self.tr("Cancel"), id="form-cancel")

    def row(self, label: str, widget: Input | Select[Any], problem_id: str) -> ComposeResult:
        """One labelled input and, under it, the line where its problem shows."""
        widget.compact = True
        with Horizontal(classes="form-row"):
            yield Label(label, classes="form-label")
            yield widget
        yield Static("", id=problem_id, classes="form-problem")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in any input saves."""
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Save or Cancel."""
        event.stop()
        if event.button.id == "form-save":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)

    def action_save(self) -> None:
        """Clear the old problems, then save."""
        for line in self.query(".form-problem").results(Static):
            self.show_problem(line, "")
        self.save()

    @staticmethod
    def show_problem(line: Static, text: str) -> None:
        """Show ``text`` on a problem line; an empty text hides the line."""
        line.update(Text(text))
        line.set_class(bool(text), "-shown")

    def refuse(self, text: str, problem_id: str = "form-error") -> None:
        """Show a refusal on the line ``problem_id`` (the form's error line by default)."""
        self.show_problem(self.query_one(f"#{problem_id}", Static), text)

    def refused(self, exc: CrmError) -> None:
        """Show the API's refusal under the form; the dialog stays open."""
        self.refuse(said(exc, self.tr))

    def submit(self, call: Callable[[], T]) -> None:
        """Run ``call`` off the UI thread; dismiss with its result, or show its refusal."""
        self.call_api(call, self.dismiss, failed=self.refused, group="form")


class EditFieldsDialog(FormDialog[RecordView]):
    """Edit a record's title and fields: one input per field, prefilled; empty clears.

    Only what was changed is sent, with the version the screen showed, so a
    record someone else changed meanwhile is refused instead of overwritten.
    """

    def __init__(self, record: RecordView, kind: KindSpec) -> None:
        super().__init__()
        self.record = record
        self.kind = kind
        self.shown = {name: _as_text(record.fields.get(name)) for name in kind.fields}

    def heading(self) -> str:
        """Edit #id."""
        return self.tr("Edit #{id} {title}", id=self.record.id, title=self.record.title)

    def body(self) -> ComposeResult:
        """The title, then one input per field of the kind, in the kind's order."""
        yield from self.row(self.tr("Title"), Input(self.record.title, id="title"), "problem-title")
        for name, spec in self.kind.fields.items():
            label = self.tr.label(spec.label, name) + (" *" if spec.required else "")
            hint = ", ".join(str(v) for v in spec.schema.get("enum", [])) or spec.type
            field = Input(self.shown[name], id=f"field-{name}", placeholder=hint)
            yield from self.row(label, field, f"problem-{name}")
        yield Static(self.tr("* required. An empty input clears the field."), classes="hint")

    def save(self) -> None:
        """Send the changed fields, typed by the API."""
        typed = {
            name: self.query_one(f"#field-{name}", Input).value.strip() for name in self.kind.fields
        }
        changed = {name: text for name, text in typed.items() if text != self.shown[name]}
        title = self.query_one("#title", Input).value.strip()
        new_title = title if title != self.record.title else None
        if not changed and new_title is None:
            self.dismiss(None)
            return
        crm, actor, record = self.crm, self.actor, self.record
        self.submit(
            lambda: crm.update_record(
                actor,
                record.id,
                crm.coerce_fields(record.kind, changed),
                title=new_title,
                expected_version=record.version,
            )
        )

    def refused(self, exc: CrmError) -> None:
        """A field's problem shows under that field; anything else under the form."""
        if not isinstance(exc, FieldError):
            super().refused(exc)
            return
        for name, reason in exc.problems:
            if name in self.kind.fields:
                self.refuse(reason, f"problem-{name}")
            else:
                self.refuse(f"{name}: {reason}")


class LogActivityDialog(FormDialog[ActivityView]):
    """Log a touchpoint in a few keys: a note, Enter (a call unless the type is changed)."""

    DEFAULT_TYPE = "call"

    def __init__(self, record_id: int, types: list[ActivityType]) -> None:
        super().__init__()
        self.record_id = record_id
        self.types = types

    def heading(self) -> str:
        """Log an activity on #id."""
        return self.tr("Log an activity on #{id}", id=self.record_id)

    def body(self) -> ComposeResult:
        """The note, then the type."""
        names = [t.name for t in self.types]
        options = [(self.tr.label(t.label, t.name), t.name) for t in self.types]
        first = self.DEFAULT_TYPE if self.DEFAULT_TYPE in names else names[0]
        yield from self.row(self.tr("Note"), Input(id="note"), "problem-note")
        kinds: Select[str] = Select(options, allow_blank=False, value=first, id="type")
        yield from self.row(self.tr("Type"), kinds, "problem-type")

    def save(self) -> None:
        """Log it now, as the operator."""
        kind = self.query_one("#type", Select).value
        note = self.query_one("#note", Input).value.strip() or None
        crm, actor, record_id = self.crm, self.actor, self.record_id
        self.submit(lambda: crm.log_activity(actor, record_id, str(kind), note=note))


class AddTaskDialog(FormDialog[TaskView]):
    """Add a reminder about the record for the operator."""

    def __init__(self, record_id: int, now: datetime, tz: tzinfo | None) -> None:
        super().__init__()
        self.record_id = record_id
        self.now = now
        self.tz = tz

    def heading(self) -> str:
        """Add a task on #id."""
        return self.tr("Add a task on #{id}", id=self.record_id)

    def body(self) -> ComposeResult:
        """The note and when it is due (tomorrow unless changed)."""
        yield from self.row(self.tr("Note"), Input(id="note"), "problem-note")
        yield from self.row(self.tr("Due"), Input(self.tr("tomorrow"), id="due"), "problem-due")
        yield Static(
            self.tr("Due: +2d, +3h, +30m, tomorrow, 2026-03-14 (09:00) or 2026-03-14 15:30"),
            classes="hint",
        )

    def save(self) -> None:
        """Read the due time, then add the task."""
        try:
            due = parse_due(self.query_one("#due", Input).value, self.now, self.tz)
        except ValueError as exc:
            self.refuse(str(exc), "problem-due")
            return
        note = self.query_one("#note", Input).value
        crm, actor, record_id = self.crm, self.actor, self.record_id
        self.submit(lambda: crm.add_task(actor, record_id, due, note))


class MoveStageDialog(FormDialog[RecordView]):
    """Move the record to a stage its workflow allows from here, the next stage first.

    Only the moves :meth:`crm_core.api.Crm.stage_moves` allows are offered;
    the other stages are listed under the form with the workflow's reason.
    """

    def __init__(self, record: RecordView, moves: list[StageMove]) -> None:
        super().__init__()
        self.record = record
        self.allowed = [m.stage for m in moves if m.allowed]
        self.not_offered = [m for m in moves if not m.allowed]

    def heading(self) -> str:
        """Move #id from its stage."""
        stage = self.crm_app.stage_label(self.record.kind, self.record.stage)
        return self.tr("Move #{id} from {stage}", id=self.record.id, stage=stage)

    def body(self) -> ComposeResult:
        """The stage (the next one unless changed), the reason, and what is not offered."""
        label = self.crm_app.stage_label
        options = [(Text(label(self.record.kind, s)), s) for s in self.allowed]
        target: Select[str] = Select(options, allow_blank=False, value=self.allowed[0], id="stage")
        yield from self.row(self.tr("To stage"), target, "problem-stage")
        yield from self.row(self.tr("Reason"), Input(id="reason"), "problem-reason")
        yield Static(self.tr("A lost stage needs one of the workflow's lost reasons."),
                     classes="hint")  # fmt: skip
        if self.not_offered:
            lines = Text(self.tr("Not offered:"), style="bold")
            for move in self.not_offered:
                lines.append(f"\n{label(self.record.kind, move.stage)}: ", style="bold")
                lines.append(said(move.why_not or "", self.tr))
            yield Static(lines, id="not-offered", classes="hint")

    def save(self) -> None:
        """Ask the workflow to move it."""
        stage = str(self.query_one("#stage", Select).value)
        reason = self.query_one("#reason", Input).value.strip() or None
        crm, actor, record_id = self.crm, self.actor, self.record.id
        self.submit(lambda: crm.move_record(actor, record_id, stage, reason=reason))


class ReleaseDialog(FormDialog[RecordView]):
    """Give the record back to a pool, with the reason the next owner will read.

    The reason is required; the pool is the record's workflow's unless the
    operator picks another of the pools they may use.
    """

    def __init__(self, record_id: int, pools: list[str]) -> None:
        super().__init__()
        self.record_id = record_id
        self.pools = pools

    def heading(self) -> str:
        """Release #id to the pool."""
        return self.tr("Release #{id} to the pool", id=self.record_id)

    def body(self) -> ComposeResult:
        """The reason, then the pool."""
        yield from self.row(self.tr("Reason") + " *", Input(id="reason"), "problem-reason")
        choice: Select[str] = Select(
            [(p, p) for p in self.pools], prompt=self.tr("its workflow's pool"), id="pool"
        )
        yield from self.row(self.tr("To pool"), choice, "problem-pool")
        yield Static(self.tr("* required: the next owner reads why it came back."),
                     classes="hint")  # fmt: skip

    def save(self) -> None:
        """Release it, once a reason is typed."""
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.refuse(self.tr("Type the reason for the release."), "problem-reason")
            return
        choice: Select[str] = self.query_one("#pool", Select)
        pool = None if choice.is_blank() else str(choice.value)
        crm, actor, record_id = self.crm, self.actor, self.record_id
        self.submit(lambda: crm.release(actor, record_id, reason, pool=pool))


class ConvertDialog(FormDialog[RecordView]):
    """Convert the record into one of another kind, optionally with a first deal."""

    def __init__(self, record: RecordView, kinds: list[KindSpec]) -> None:
        super().__init__()
        self.record = record
        self.kinds = [k for k in kinds if k.name != record.kind]

    def heading(self) -> str:
        """Convert #id."""
        return self.tr("Convert #{id} {title}", id=self.record.id, title=self.record.title)

    def body(self) -> ComposeResult:
        """The target kind, extra fields and the deal."""
        options = [(self.tr.label(k.label, k.name), k.name) for k in self.kinds]
        target: Select[str] = Select(options, allow_blank=False, id="kind")
        yield from self.row(self.tr("Into"), target, "problem-kind")
        fields = Input(id="fields", placeholder="FIELD=VALUE; FIELD=VALUE")
        yield from self.row(self.tr("Other fields"), fields, "problem-fields")
        yield from self.row(self.tr("Deal title"), Input(id="deal-title"), "problem-deal-title")
        yield from self.row(self.tr("Deal amount"), Input(id="deal-amount"), "problem-deal-amount")
        yield Static(
            self.tr("Shared fields and contacts are copied; the record moves to its won stage."),
            classes="hint",
        )

    def save(self) -> None:
        """Convert through the workflow."""
        kind = str(self.query_one("#kind", Select).value)
        try:
            raw = parse_assignments(self.query_one("#fields", Input).value)
        except ValueError as exc:
            self.refuse(str(exc), "problem-fields")
            return
        deal_title = self.query_one("#deal-title", Input).value.strip() or None
        amount = self.query_one("#deal-amount", Input).value.strip() or None
        if amount is not None and deal_title is None:
            self.refuse(self.tr("A deal amount needs a deal title."), "problem-deal-title")
            return
        crm, actor, record_id = self.crm, self.actor, self.record.id
        self.submit(
            lambda: crm.convert_record(
                actor,
                record_id,
                kind,
                crm.coerce_fields(kind, raw),
                deal_title=deal_title,
                deal_amount=amount,
            )
        )

    def refused(self, exc: CrmError) -> None:
        """Problems with the new record's fields show beside Other fields."""
        if isinstance(exc, FieldError):
            self.refuse("; ".join(f"{f}: {why}" for f, why in exc.problems), "problem-fields")
        else:
            super().refused(exc)


def _as_text(current: Any) -> str:
    """A field value as it is typed back: booleans as yes/no, lists comma-joined."""
    if isinstance(current, bool):
        return "yes" if current else "no"
    return shown(current)
