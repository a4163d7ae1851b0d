"""The help screen: a first walkthrough, what each screen is for, and every key.

Each screen's keys are read from its ``BINDINGS``, so the help cannot drift
from what the keys do; only the walkthrough and the purposes are written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from crm_core.tui.base import CrmModal
from crm_core.tui.screens.dashboard import DashboardScreen
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.screens.my_work import MyWorkScreen
from crm_core.tui.screens.pool import PoolScreen
from crm_core.tui.screens.records import RecordsScreen
from crm_core.tui.screens.team import TeamScreen
from crm_core.tui.walkthrough import STEPS

ENTER_ON_A_ROW: dict[type[Screen[object]], str] = {
    MyWorkScreen: "open",
    RecordsScreen: "open",
    TeamScreen: "open",
}
"""The action enter on a highlighted row runs, where the screen's BINDINGS do not say it."""

KEY_NAMES = {"enter": "enter", "escape": "esc"}
"""Keys spelled out for newcomers instead of Textual's symbols."""


class HelpScreen(CrmModal[None]):
    """A walkthrough, the screens and their keys, over the current screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q,question_mark", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        """The walkthrough first, then the keys that work everywhere, then each screen."""
        tr = self.tr
        with Vertical(id="help-dialog"):
            yield Static(tr("Help"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(tr("Your first two minutes"), classes="heading")
                yield Static(self._walkthrough(), classes="help-text")
                yield Static(tr("Keys everywhere"), classes="heading")
                yield Static(self._global_keys(), classes="help-text")
                for key, title, screen, purpose in self._screens():
                    yield Static(f"{key}  {title}", classes="heading")
                    yield Static(purpose, classes="help-text")
                    yield Static(self._keys_of(screen), classes="help-keys")
            yield Static(tr("esc, F1 or q closes this help; arrows scroll"), classes="hint")

    def on_mount(self) -> None:
        """Arrow keys scroll the help at once."""
        self.query_one("#help-body").focus()

    def _walkthrough(self) -> str:
        """The README's steps (one list: :mod:`crm_core.tui.walkthrough`), numbered."""
        return "\n".join(f"{i}. {self.tr(step.text)}" for i, step in enumerate(STEPS, 1))

    def _global_keys(self) -> str:
        tr = self.tr
        keys = [
            ("1 … 5", tr("switch screen: My work, Records, Pool, Dashboard, Team")),
            ("F1, ?", tr("this help")),
            ("ctrl+p", tr("command palette: every action of the screen by name")),
            ("f5", tr("refresh: read the screen again")),
            ("tab", tr("next table or field")),
            ("esc", tr("back, or close a dialog")),
            ("ctrl+q", tr("quit")),
        ]
        return "\n".join(f"[b]{key:<7}[/b] {what}" for key, what in keys)

    def _screens(self) -> Iterable[tuple[str, str, type[Screen[object]], str]]:
        tr = self.tr
        yield (
            "1",
            tr("My work"),
            MyWorkScreen,
            tr("Your reminders, overdue first, then your records by next action."),
        )
        yield (
            "2",
            tr("Records"),
            RecordsScreen,
            tr(
                "Every record you may see, by kind: search as you type, filter by stage, "
                "owner, pool or field, sort, and page through any number."
            ),
        )
        yield (
            "3",
            tr("Pool"),
            PoolScreen,
            tr(
                "The records waiting in your pools (公海), why each came back, and how "
                "many claims you have left today."
            ),
        )
        yield (
            "4",
            tr("Dashboard"),
            DashboardScreen,
            tr(
                "The funnel and the trend, figures against their thresholds, the alerts "
                "that fired, and the plugins' cards; managers see their team's follow-ups."
            ),
        )
        yield (
            "5",
            tr("Team"),
            TeamScreen,
            tr(
                "Managers and admins: each operator's open records, idle records and "
                "overdue tasks; reassign a record; check a workflow file."
            ),
        )
        yield ("o", tr("Record"), RecordScreen,
               tr("One record (o or enter in a list): fields, contacts, deals, activities, "
                  "journal, and why it is where it is."))  # fmt: skip

    def _keys_of(self, screen: type[Screen[object]]) -> str:
        """``key description`` for each action of ``screen``, keys of one action together."""
        actions: dict[str, tuple[list[str], str]] = {}
        for binding in Binding.make_bindings(screen.BINDINGS):
            name = KEY_NAMES.get(binding.key) or self.app.get_key_display(binding)
            keys, _ = actions.setdefault(binding.action, ([], binding.description))
            keys.append(name)
        if screen in ENTER_ON_A_ROW:
            actions[ENTER_ON_A_ROW[screen]][0].insert(0, "enter")
        return "   ".join(
            f"[b]{'/'.join(keys)}[/b] {self.tr(what)}" for keys, what in actions.values()
        )

    def action_close(self) -> None:
        """Back to the screen the help was opened over."""
        self.dismiss(None)
