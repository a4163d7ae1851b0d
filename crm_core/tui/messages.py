"""The API's refusals in the TUI's words.

The API speaks to the command line as well: some refusals name a flag
(``a release needs --reason``) or a command to run. The TUI shows every
refusal through :func:`said`, which words those as the screen's dialogs ask
for the same thing, in the operator's language; any other message is shown
as the API gave it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from crm_core.api import CrmError

if TYPE_CHECKING:
    from crm_core.tui.i18n import Translator

# (the API's wording, the TUI's): the TUI's text is English for tr(), with the
# API message's named groups as its slots.
CLI_WORDING: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^a release needs --reason$"), "Type the reason for the release."),
    (
        re.compile(r"^moving to (?P<stage>\S+) needs --reason, one of: (?P<reasons>.+)$"),
        "Moving to {stage} needs a reason: type one of {reasons}.",
    ),
    (
        re.compile(r"^(?P<kind>\S+) has no pool in its workflow: use --pool$"),
        "{kind} has no pool in its workflow: choose a pool.",
    ),
    (
        re.compile(r"^no workflow is applied to (?P<kind>\S+): crm workflow apply FILE$"),
        "No workflow is applied to {kind}: an admin applies one.",
    ),
    (
        re.compile(r"^filtering on fields needs --kind$"),
        "Choose a kind before filtering on a field.",
    ),
]


def said(error: Exception | str, tr: Translator) -> str:
    """``error``'s message as the TUI shows it: in the TUI's words and the operator's language."""
    # The patterns are the API's English: an error speaks the active language when printed.
    text = error.render("en") if isinstance(error, CrmError) else str(error)
    for pattern, wording in CLI_WORDING:
        found = pattern.match(text)
        if found:
            return tr(wording, **found.groupdict())
    return tr(error.message if isinstance(error, CrmError) else text)
