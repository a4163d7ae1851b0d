"""What every screen shares: the CRM, the operator, their language, and API calls off the UI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, get_current_worker

from crm_core.errors import CrmError

if TYPE_CHECKING:
    from crm_core.api import Crm
    from crm_core.tui.app import CrmApp
    from crm_core.tui.i18n import Translator

T = TypeVar("T")


def localize_bindings(node: DOMNode, tr: Translator) -> None:
    """Show ``node``'s key bindings in the operator's language (footer, help, palette)."""
    # The node's map is its own copy, but the lists in it are the class's: replace, not edit.
    table = node._bindings.key_to_bindings
    for key, bindings in table.items():
        table[key] = [replace(b, description=tr(b.description)) for b in bindings]


class ApiMixin:
    """Runs API calls in thread workers and hands results back on the UI thread.

    The database never runs on the UI thread, so a slow query freezes
    nothing; a refusal from the API (bad input, no permission, a failed
    guard) becomes a notice, or goes to ``failed`` when the caller shows it
    somewhere better (beside a form field).
    """

    def on_mount(self) -> None:
        """Put the key bindings in the operator's language."""
        localize_bindings(self, self.tr)  # type: ignore[arg-type]

    @property
    def crm_app(self) -> CrmApp:
        """The running :class:`~crm_core.tui.app.CrmApp`."""
        return self.app  # type: ignore[attr-defined]

    @property
    def crm(self) -> Crm:
        """The opened CRM."""
        return self.crm_app.crm

    @property
    def actor(self) -> str:
        """The operator's user name; every call acts as them."""
        return self.crm_app.actor

    @property
    def tr(self) -> Translator:
        """The operator's language."""
        return self.crm_app.tr

    def call_api(
        self,
        call: Callable[[], T],
        done: Callable[[T], Any],
        *,
        failed: Callable[[CrmError], Any] | None = None,
        group: str = "api",
    ) -> Worker[None]:
        """Run ``call`` in a worker; then ``done(result)`` or ``failed(error)`` on the UI thread.

        Workers of one ``group`` are exclusive: a new request cancels the one
        still running, so fast key presses never paint stale pages.
        """
        app = self.crm_app

        def deliver(worker: Worker[None], show: Callable[[Any], Any], value: object) -> None:
            # A thread cannot be stopped: a cancelled call still finishes, and
            # its result, older than the newer call's, must not be painted.
            # Cancelling happens on the UI thread too, so this check cannot race it.
            if not worker.is_cancelled:
                show(value)

        def work() -> None:
            worker = get_current_worker()
            try:
                result = call()
            except CrmError as exc:
                app.call_from_thread(deliver, worker, failed or app.show_error, exc)
                return
            app.call_from_thread(deliver, worker, done, result)

        runner = self.run_worker  # type: ignore[attr-defined]
        worker: Worker[None] = runner(work, thread=True, group=group, exclusive=True)
        return worker


class CrmScreen(ApiMixin, Screen[Any]):
    """A full screen of the TUI."""


class CrmModal(ApiMixin, ModalScreen[T]):
    """A dialog over a screen; dismissed with its result."""
