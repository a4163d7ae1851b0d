"""The ``crm tui`` application: five screens an operator switches between with one key."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from datetime import tzinfo
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.screen import ModalScreen, Screen
from textual.worker import WorkerCancelled, WorkerState

from crm_core import collector
from crm_core.api import Crm, use_language
from crm_core.errors import CrmError
from crm_core.tui.base import localize_bindings
from crm_core.tui.i18n import Translator
from crm_core.tui.messages import said
from crm_core.tui.screens.dashboard import DashboardScreen
from crm_core.tui.screens.help import HelpScreen
from crm_core.tui.screens.my_work import MyWorkRead, MyWorkScreen, read_my_work
from crm_core.tui.screens.pool import PoolScreen
from crm_core.tui.screens.records import RecordsScreen
from crm_core.tui.screens.team import TeamScreen
from crm_core.tui.undo import UndoStep
from crm_core.views import UserView, WorkflowView

# mode name -> (key, English title); the order is the order of the keys.
SWITCHES: dict[str, tuple[str, str]] = {
    "work": ("1", "My work"),
    "records": ("2", "Records"),
    "pool": ("3", "Pool"),
    "dashboard": ("4", "Dashboard"),
    "team": ("5", "Team"),
}


class CrmApp(App[None]):
    """The operator's CRM in a terminal.

    Every screen calls :mod:`crm_core.api` as ``actor`` in thread workers, so
    permissions are the API's and the screen never waits on the database.
    """

    CSS_PATH = "crm.tcss"
    # Classes every screen gets by the terminal's size, for crm.tcss (80×24 is narrow and short).
    # (App annotates them `ClassVar[...] | None`, which mypy reads as instance variables.)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]  # noqa: RUF012
    TITLE = "crm-core"
    MODES: ClassVar[dict[str, Any]] = {
        "work": MyWorkScreen,
        "records": RecordsScreen,
        "pool": PoolScreen,
        "dashboard": DashboardScreen,
        "team": TeamScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(key, f"switch_mode('{mode}')", title) for mode, (key, title) in SWITCHES.items()),
        Binding("f1,question_mark", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        crm: Crm,
        user: UserView,
        *,
        lang: str = "en",
        dashboard: Path | None = None,
        poll_seconds: float = 30.0,
        tz: tzinfo | None = None,
    ) -> None:
        super().__init__()
        self.crm = crm
        self.user = user
        self.actor = user.name
        self.tr = Translator(lang)
        self.dashboard_file = dashboard
        self.poll_seconds = poll_seconds
        self.tz = tz  # None: the machine's zone; tests fix it so screens read the same anywhere
        self._last_task_id = 0
        self.workflows: dict[str, WorkflowView] = {}  # by kind, as the screens last read them
        self.usual_kind: str | None = None  # the kind most of My work is about
        self._first_work: Future[MyWorkRead] | None = None
        self._frozen = False  # the collector's view of start-up's objects; see on_mount
        self._language_before: str | None = None  # the language before on_load set the operator's
        self.undo_steps: list[UndoStep] = []  # this session's edits and moves, oldest first
        self.sub_title = f"{user.name} ({user.role})"

    @property
    def is_manager(self) -> bool:
        """Managers and admins see their team's queues and may reassign."""
        return self.user.role in ("manager", "admin")

    def on_load(self) -> None:
        """Speak the operator's language; start reading My work while Textual builds the screen.

        The core's and the plugins' messages (a refusal's ``str``, a panel's
        words) follow the language while the app runs (see
        :func:`crm_core.api.use_language`).
        """
        self._language_before = use_language(self.tr.lang)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-first-read")
        self._first_work = pool.submit(read_my_work, self.crm, self.actor)
        pool.shutdown(wait=False)  # the thread ends once the read is done

    def take_first_work(self) -> Future[MyWorkRead] | None:
        """The read :meth:`on_load` started, once: later refreshes read anew."""
        first, self._first_work = self._first_work, None
        return first

    def on_mount(self) -> None:
        """Land on My work, and start watching for new reminders."""
        localize_bindings(self, self.tr)
        self.switch_mode("work")
        self.set_interval(self.poll_seconds, self.check_reminders)
        # A full collection of what start-up left (modules, styles, widgets)
        # would stall a key press: see crm_core.collector.
        self.call_after_refresh(self._freeze)

    def _freeze(self) -> None:
        collector.freeze()
        self._frozen = True

    def on_unmount(self) -> None:
        """Give back the language and let the collector see the start-up objects again."""
        use_language(self._language_before)
        if self._frozen:
            self._frozen = False
            collector.thaw()

    def remember_workflows(self, workflows: Iterable[WorkflowView]) -> None:
        """Keep the applied workflows a screen read, for stage labels everywhere."""
        self.workflows = {w.kind: w for w in workflows}

    def pick_kind(self, kinds: list[str]) -> str | None:
        """Which of ``kinds`` a screen opens on: the operator's usual kind, else the first."""
        if self.usual_kind in kinds:
            return self.usual_kind
        return kinds[0] if kinds else None

    def stage_label(self, kind: str, stage: str | None) -> str:
        """A stage's label in the operator's language (its id when no workflow names it)."""
        if stage is None:
            return ""
        flow = self.workflows.get(kind)
        label = flow.stage_labels.get(stage) if flow else None
        return self.tr.label(label, stage) if label else stage

    def remember_undo(self, step: UndoStep | None) -> None:
        """Keep a change of this session so that ``u`` on its record can put it back."""
        if step is not None:
            self.undo_steps.append(step)

    def mark_tasks_seen(self, task_ids: Iterable[int]) -> None:
        """Remember the newest task shown, so only later ones pop up."""
        self._last_task_id = max([self._last_task_id, *task_ids])

    def check_reminders(self) -> None:
        """Pop up each reminder that arrived since the last look (弹屏提醒)."""
        crm, actor, after = self.crm, self.actor, self._last_task_id

        def work() -> None:
            try:
                tasks = crm.new_tasks(actor, after)
            except CrmError as exc:
                self.call_from_thread(self.show_error, exc)
                return
            self.call_from_thread(self._pop_up, tasks)

        self.run_worker(work, thread=True, group="reminders", exclusive=True)

    def _pop_up(self, tasks: list[Any]) -> None:
        # Two looks can overlap when the database is slow (a thread cannot be
        # stopped): each reminder pops up once, whichever look brings it first.
        tasks = [t for t in tasks if t.id > self._last_task_id]
        for task in tasks:
            where = f"#{task.record_id} " if task.record_id else ""
            note = self.tr(task.note)
            self.notify(f"{where}{note}", title=self.tr("New reminder"), timeout=10)
        self.mark_tasks_seen(t.id for t in tasks)

    async def settled(self) -> None:
        """Wait until no API call of any screen is running (for tests and the benchmark).

        A worker's result may start another, and a newer request cancels an
        older one of its group: wait until none is left.
        """
        busy = WorkerState.PENDING, WorkerState.RUNNING
        while running := [w for w in self.workers if w.state in busy]:
            with suppress(WorkerCancelled):
                await self.workers.wait_for_complete(running)

    def show_error(self, exc: CrmError) -> None:
        """Show a refusal of the API as a red notice that stays until read."""
        self.notify(said(exc, self.tr), severity="error", timeout=15)

    def open_dialog(
        self, dialog: ModalScreen[Any], closed: Callable[[Any], None] | None = None
    ) -> None:
        """Show ``dialog`` over the current screen, with no notice left covering it.

        The notices go first: the screen below shows through the dialog as
        it was drawn when the dialog opened.
        """
        self.clear_notifications()
        self.push_screen(dialog, closed)

    def action_command_palette(self) -> None:
        """Open Textual's command palette, its prompt in the operator's language."""
        # Textual types the check for App[object]; this app returns None.
        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            prompt = self.tr("Search for commands…")
            self.push_screen(CommandPalette(placeholder=prompt, id="--command-palette"))

    def action_help(self) -> None:
        """Show the help screen over the current one."""
        self.open_dialog(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every screen switch, the current screen's own actions, help and quit."""
        for mode, (key, title) in SWITCHES.items():
            name = self.tr(title)
            yield SystemCommand(name, f"{key}: {name}", lambda m=mode: self.switch_mode(m))
        actions = getattr(screen, "palette_commands", None)
        if actions is not None:
            yield from actions()
        yield SystemCommand(self.tr("Help"), "F1", self.action_help)
        yield SystemCommand(self.tr("Quit"), "ctrl+q", self.exit)
