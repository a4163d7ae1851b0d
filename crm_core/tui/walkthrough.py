"""A newcomer's first two minutes in the TUI: the one list of steps the F1 help and the README give.

The help shows :data:`STEPS` in the operator's language, the README's "Your
first two minutes" is generated from them (``docs/docgen.py``, by cog), and
a Pilot test presses each step's keys on the demo database: the three
cannot tell different stories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOTE = "called"
"""The note step 3 types (any note does)."""


@dataclass(frozen=True)
class Step:
    """One step: what it says (English, keys in ``[b]…[/b]``) and the keys it presses."""

    text: str
    keys: tuple[str, ...]

    def markdown(self) -> str:
        """The step as the README writes it: keys as code."""
        return re.sub(r"\[b\](.+?)\[/b\]", r"`\1`", self.text)


STEPS: tuple[Step, ...] = (
    Step(
        "Press [b]3[/b] for the Pool: the records waiting for an owner. The cursor "
        "starts on one you may claim; one you may not claim yet shows from when you may.",
        ("3",),
    ),
    Step(
        "Press [b]enter[/b] to claim the highlighted record and open it: it leaves the pool "
        "and is yours ([b]c[/b] claims it and stays on the list).",
        ("enter",),
    ),
    Step(
        "Press [b]a[/b] to log a call: type a note and press [b]enter[/b].",
        ("a", *NOTE, "enter"),
    ),
    Step(
        "Press [b]m[/b] to move it on: the dialog offers the stages the workflow allows "
        "from here, the next one first, and says why the others are not offered; "
        "press [b]ctrl+s[/b].",
        ("m", "ctrl+s"),
    ),
    Step(
        "Press [b]escape[/b] to go back, then [b]4[/b]: the Dashboard's funnel counts "
        "the record in its new stage.",
        ("escape", "4"),
    ),
)
