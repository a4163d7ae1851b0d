"""Small choosers of a day of calls: snooze a reminder, copy a phone or e-mail, saved filters.

Each is a dialog over a screen: a numbered list the operator picks from with
a digit, the arrows and enter, or escape to leave it. What they choose is
done by the API through the dialog (snooze, save or delete a filter) or
handed back to the screen (a value to copy, a filter to apply).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from crm_core.errors import CrmError
from crm_core.tui.base import CrmModal
from crm_core.tui.widgets.forms import DAY_STARTS_AT, parse_due
from crm_core.views import SavedFilterView, TaskView

DIGITS = [str(n) for n in range(1, 10)]
PICK = "pick"  # the snooze option that reads a time from the input


def tomorrow_morning(now: datetime, tz: tzinfo | None) -> datetime:
    """09:00 of the day after ``now`` in ``tz`` (None: the machine's zone), in UTC."""
    local = now.astimezone(tz)
    day = local.date() + timedelta(days=1)
    zone = tz if tz is not None else local.tzinfo
    return datetime.combine(day, time(DAY_STARTS_AT), tzinfo=zone).astimezone(UTC)


class PickerDialog(CrmModal[Any]):
    """A heading, a numbered option list (digits pick), an optional input, a problem line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        *(Binding(d, f"pick({d})", show=False) for d in DIGITS),
    ]

    def heading(self) -> str:
        """The dialog's title, in the operator's language."""
        raise NotImplementedError

    def options(self) -> list[tuple[str, str]]:
        """``(id, text)`` of each option, in the order the digits number them."""
        raise NotImplementedError

    def extra(self) -> ComposeResult:
        """Widgets under the list (an input); none by default."""
        yield from ()

    def hint(self) -> str:
        """The keys, in a line under everything."""
        return self.tr("1-9 or enter: choose · escape: cancel")

    def compose(self) -> ComposeResult:
        """Heading, options, extra widgets, problem line, hint."""
        with Vertical(classes="picker"):
            yield Static(self.heading(), classes="form-title")
            yield OptionList(*self._numbered(), id="picker-options")
            yield from self.extra()
            yield Static("", id="picker-problem", classes="form-problem")
            yield Static(self.hint(), classes="hint")

    def _numbered(self) -> list[Option]:
        return [
            Option(Text(f"{n}  {text}" if n <= len(DIGITS) else f"   {text}"), id=key)
            for n, (key, text) in enumerate(self.options(), 1)
        ]

    def on_mount(self) -> None:
        """Start on the list, so a digit picks at once."""
        super().on_mount()
        self.query_one("#picker-options", OptionList).focus()

    def refresh_options(self) -> None:
        """Show :meth:`options` again (after one was added or removed)."""
        listed = self.query_one("#picker-options", OptionList)
        listed.clear_options()
        listed.add_options(self._numbered())

    def action_pick(self, digit: str) -> None:
        """A digit chooses the option of that number."""
        index = int(digit) - 1
        listed = self.query_one("#picker-options", OptionList)
        if index < listed.option_count:
            option_id = listed.get_option_at_index(index).id
            if option_id is not None:
                self.chosen(option_id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on an option chooses it."""
        event.stop()
        if event.option.id is not None:
            self.chosen(event.option.id)

    def chosen(self, option_id: str) -> None:
        """Act on the option ``option_id``."""
        raise NotImplementedError

    def problem(self, text: str) -> None:
        """Show a refusal under the list; the dialog stays open."""
        line = self.query_one("#picker-problem", Static)
        line.update(Text(text))
        line.set_class(bool(text), "-shown")

    def refused(self, exc: CrmError) -> None:
        """The API's refusal, under the list."""
        self.problem(str(exc))

    def action_cancel(self) -> None:
        """Close without doing anything."""
        self.dismiss(None)


class SnoozeDialog(PickerDialog):
    """Put a reminder off: an hour, tomorrow 09:00 (the operator's time), or a typed time."""

    def __init__(self, task: TaskView, now: datetime, tz: tzinfo | None) -> None:
        super().__init__()
        self.reminder = task
        self.now = now
        self.tz = tz

    def heading(self) -> str:
        """Snooze: the reminder's text."""
        return self.tr("Snooze: {note}", note=self.reminder.note)

    def options(self) -> list[tuple[str, str]]:
        """One hour, tomorrow morning, or a time typed below."""
        return [
            ("hour", self.tr("In 1 hour")),
            ("tomorrow", self.tr("Tomorrow 09:00")),
            (PICK, self.tr("At a time I type below")),
        ]

    def extra(self) -> ComposeResult:
        """Where a time is typed."""
        yield Input(placeholder=self.tr("+2d, +3h, 2026-03-14 15:30 …"), id="snooze-at")

    def chosen(self, option_id: str) -> None:
        """Snooze to the chosen time, or go to the input to type one."""
        if option_id == "hour":
            self.snooze(self.now + timedelta(hours=1))
        elif option_id == "tomorrow":
            self.snooze(tomorrow_morning(self.now, self.tz))
        else:
            self.query_one("#snooze-at", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """A typed time snoozes to it."""
        event.stop()
        try:
            until = parse_due(event.value, self.now, self.tz)
        except ValueError as exc:
            self.problem(str(exc))
            return
        self.snooze(until)

    def snooze(self, until: datetime) -> None:
        """Ask the API to move the reminder; close with the moved task."""
        crm, actor, task_id = self.crm, self.actor, self.reminder.id
        self.call_api(lambda: crm.snooze_task(actor, task_id, until), self.dismiss,
                      failed=self.refused, group="snooze")  # fmt: skip


class CopyDialog(PickerDialog):
    """Pick which phone number or e-mail address to copy; the screen copies it."""

    def __init__(self, values: list[tuple[str, str]]) -> None:
        super().__init__()
        self.values = values  # (what it is, the value)

    def heading(self) -> str:
        """Copy to the clipboard."""
        return self.tr("Copy to the clipboard")

    def options(self) -> list[tuple[str, str]]:
        """Each value with what it is."""
        return [(str(i), f"{value}  ({what})") for i, (what, value) in enumerate(self.values)]

    def chosen(self, option_id: str) -> None:
        """Hand the value back."""
        self.dismiss(self.values[int(option_id)][1])


class SavedFiltersDialog(PickerDialog):
    """The operator's saved filters: recall one by its number, delete one, save the current one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *PickerDialog.BINDINGS,
        Binding("delete,d", "delete", "Delete", show=False),
    ]

    def __init__(self, filters: list[SavedFilterView], current: dict[str, str]) -> None:
        super().__init__()
        self.filters = filters
        self.current = current

    def heading(self) -> str:
        """Saved filters."""
        return self.tr("Saved filters")

    def options(self) -> list[tuple[str, str]]:
        """Each filter by name, with what it sets."""
        return [
            (str(f.id), f"{f.name}  ({', '.join(f'{k}={v}' for k, v in f.filters.items())})")
            for f in self.filters
        ]

    def extra(self) -> ComposeResult:
        """Where the current filter's name is typed to save it."""
        if not self.filters:
            yield Static(self.tr("No saved filters yet."), classes="hint")
        yield Input(placeholder=self.tr("Save the current filter as… (name, enter)"),
                    id="filter-name")  # fmt: skip

    def hint(self) -> str:
        """Recall, delete, save, leave."""
        return self.tr("1-9 or enter: recall · d: delete · tab: save current · escape: close")

    def on_mount(self) -> None:
        """Start on the list, or on the name when there is nothing to recall."""
        super().on_mount()
        if not self.filters:
            self.query_one("#filter-name", Input).focus()

    def chosen(self, option_id: str) -> None:
        """Close with the filter to apply."""
        self.dismiss(next(f for f in self.filters if str(f.id) == option_id))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Save the list's current filter under the typed name, and close with it."""
        event.stop()
        crm, actor, name, current = self.crm, self.actor, event.value, self.current
        self.call_api(lambda: crm.save_filter(actor, name, current), self._saved,
                      failed=self.refused, group="filter")  # fmt: skip

    def _saved(self, saved: SavedFilterView) -> None:
        self.notify(self.tr("Filter {name} saved", name=saved.name))
        self.dismiss(saved)

    def action_delete(self) -> None:
        """Delete the highlighted filter (the list stays open)."""
        listed = self.query_one("#picker-options", OptionList)
        if listed.highlighted is None or not self.filters:
            return
        gone = self.filters[listed.highlighted]
        crm, actor = self.crm, self.actor
        self.call_api(lambda: crm.delete_filter(actor, gone.name), self._deleted,
                      failed=self.refused, group="filter")  # fmt: skip

    def _deleted(self, gone: SavedFilterView) -> None:
        self.filters = [f for f in self.filters if f.id != gone.id]
        self.refresh_options()
        self.notify(self.tr("Filter {name} deleted", name=gone.name))
