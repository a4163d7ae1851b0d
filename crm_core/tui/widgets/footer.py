"""The footer of every screen: the keys that fit, the most useful first, F1 help always.

Textual's footer shows every binding in order and cuts what does not fit:
at 80 columns the help key and half the screen's own keys were gone. This
one orders the keys by what an operator needs on this screen: help first
(it lists every key), then the screen's own keys, then quit, then the
screen switches (1–5, also in the help and the palette), and leaves out
whole keys from the end of that order until the rest fits.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

HELP = "help"
QUIT = "quit"
SWITCH = "switch_mode"
# Below this width the footer is compact (one space around keys, not two).
COMPACT_BELOW = 120


def rank(binding: Binding) -> int:
    """Where a key comes in the footer: help, the screen's own keys, quit, screen switches."""
    if binding.action == HELP:
        return 0
    if binding.action.startswith(SWITCH):
        return 3
    if binding.action == QUIT:
        return 2
    return 1


class CrmFooter(Footer):
    """A footer that shows the keys that fit the terminal, F1 help and the screen's keys first."""

    def __init__(self) -> None:
        super().__init__(compact=True)

    def on_resize(self) -> None:
        """Another width: other keys may fit."""
        self.compact = self.size.width < COMPACT_BELOW
        if self._bindings_ready:
            self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        """The keys of :meth:`shown`, then the palette's key at the right edge."""
        if not self._bindings_ready:
            return
        palette = self._palette_key()
        # The palette's key also has a border on its left and, when not compact, a padding.
        room = self.size.width - (self._width(palette) + 2 if palette else 0)
        for binding, enabled, tooltip in self.shown(room):
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if palette is not None:
            binding, enabled, tooltip = palette
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=tooltip or binding.description,
            )

    def shown(self, room: int) -> list[tuple[Binding, bool, str]]:
        """The keys to show in ``room`` cells: one per action, by :func:`rank`, while they fit."""
        palette = self.app.COMMAND_PALETTE_BINDING
        by_action: dict[str, tuple[Binding, bool, str]] = {}
        for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items():
            if binding.show and key != palette:
                by_action.setdefault(binding.action, (binding, enabled, tooltip))
        ordered = sorted(by_action.values(), key=lambda shown: rank(shown[0]))  # stable
        fitting = []
        for shown in ordered:
            width = self._width(shown)
            if width > room:
                break  # what follows matters less: show none of it rather than skip one
            fitting.append(shown)
            room -= width
        return fitting

    def _palette_key(self) -> tuple[Binding, bool, str] | None:
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return None
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if found is None:
            return None
        _node, binding, enabled, tooltip = found
        return binding, enabled, tooltip

    def _width(self, shown: tuple[Binding, bool, str]) -> int:
        """The cells a key takes in the footer, as FooterKey's styles lay it out."""
        binding = shown[0]
        key = cell_len(self.app.get_key_display(binding))
        text = cell_len(binding.description)
        # compact: "key text" and a margin of 1; otherwise " key " then "text ".
        return key + text + 2 if self.compact else key + text + 3
