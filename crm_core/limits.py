"""How long the text a user stores may be: one place for every bound the API checks.

The bounds keep one careless paste (a whole file in a title) out of lists,
exports and the journal; they are far above what the text is for.
"""

from __future__ import annotations

from crm_core.errors import InvalidInput
from crm_core.i18n import _

TITLE_MAX = 200
"""A record's or a deal's title."""
NAME_MAX = 200
"""A contact's name or position; a team's or a pool's name."""
FIELD_TEXT_MAX = 2_000
"""A string field value whose schema sets no ``maxLength`` of its own."""
NOTE_MAX = 10_000
"""The note of an activity or a task."""
REASON_MAX = 500
"""The reason given for moving a record or releasing it to a pool."""


def check_length(what: str, text: str | None, limit: int) -> None:
    """Refuse ``text`` longer than ``limit`` characters, saying how long it is."""
    if text is not None and len(text) > limit:
        raise InvalidInput(
            _(
                "{what} is {n_text:,} characters long; at most {limit:,}",
                what=what,
                n_text=len(text),
                limit=limit,
            )
        )
