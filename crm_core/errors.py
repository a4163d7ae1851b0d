"""The errors the API raises; each carries the CLI exit code documented in the README."""

from __future__ import annotations

from crm_core.i18n import Joined, Message, _

QUOTE_MAX = 80
"""The most characters of a user's value a message quotes."""


def excerpt(text: str, limit: int = QUOTE_MAX) -> str:
    """``text``, cut to ``limit`` characters with "…" when longer, for a one-line message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(value: object, limit: int = QUOTE_MAX) -> str:
    """``repr(value)`` for a message, a long string cut to ``limit`` characters with "…"."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[: limit - 1] + "…")
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CrmError(Exception):
    """Base of every error the API raises on purpose; ``exit_code`` is the CLI's exit status.

    Raised with a :func:`crm_core.i18n._` message, it keeps the message's id and
    parameters (:attr:`message`), so a screen can show it in its reader's
    language; ``str(error)`` speaks the active language (English unless
    ``CRM_LANG`` or the TUI's ``--lang`` says otherwise).
    """

    exit_code = 1

    @property
    def message(self) -> Message:
        """What went wrong, as a translatable message (a plain text has no translation)."""
        first = self.args[0] if self.args else ""
        return first if isinstance(first, Message) else Message(str(first))

    def render(self, lang: str | None = None) -> str:
        """The error's text in ``lang`` (the active language when None)."""
        first = self.args[0] if len(self.args) == 1 else None
        if isinstance(first, (Message, Joined)):
            return first.render(lang)
        return super().__str__()

    def __str__(self) -> str:
        return self.render()


class InvalidInput(CrmError):
    """The caller sent something the CRM cannot accept (exit 2)."""

    exit_code = 2


class RegistrationError(InvalidInput):
    """A plugin registered something the core cannot accept."""


class FieldError(InvalidInput):
    """One or more field values failed validation; ``problems`` maps field to reason."""

    def __init__(self, kind: str, problems: list[tuple[str, str]]):
        self.kind = kind
        self.problems = problems
        text = Joined(
            "; ", (_("field '{field}': {why}", field=excerpt(f), why=why) for f, why in problems)
        )
        super().__init__(_("invalid {kind}: {problems}", kind=kind, problems=text))


class ConfigError(InvalidInput):
    """A setting an admin wrote (``crm.toml``, ``CRM_*`` variables) is wrong (exit 2).

    Raised inside a hook (a channel reading its ``[channels.NAME]`` table), it
    is not wrapped as the plugin's failure: the admin's file is at fault, and
    the message names its table and key.
    """


class PermissionDenied(CrmError):
    """The actor may not see or change what it asked for (exit 3)."""

    exit_code = 3


class NotFound(CrmError):
    """The thing asked for does not exist (exit 4)."""

    exit_code = 4


class Conflict(CrmError):
    """The write collides with existing data: a duplicate or a stale write (exit 5)."""

    exit_code = 5


class TimedOut(Conflict):
    """A read took longer than its process allows (the TUI's, on PostgreSQL): try again (exit 5)."""


class Duplicate(Conflict):
    """A dedupe key of the new values is already held by another record."""

    def __init__(self, record_id: int, owner: str | None, field: str, value: str):
        self.record_id = record_id
        self.owner = owner
        self.field = field
        self.value = value
        who = _("owned by {owner}", owner=owner) if owner else _("with no owner")
        super().__init__(
            _("duplicate of #{id} {who} (same {field}: {value})",
              id=record_id, who=who, field=field, value=excerpt(value))
        )  # fmt: skip


class PluginError(CrmError):
    """A plugin's hook raised; the write was rolled back (exit 6)."""

    exit_code = 6

    def __init__(self, plugin: str, hook: str, error: BaseException):
        self.plugin = plugin
        self.hook = hook
        self.error = error
        super().__init__(
            _("plugin '{plugin}' failed in {hook}: {error_type}: {error}",
              plugin=plugin, hook=hook, error_type=type(error).__name__, error=_inner(error))
        )  # fmt: skip


def _inner(error: BaseException) -> str:
    """A plugin's error as a message: a CRM error keeps its translation, others are as they say."""
    if isinstance(error, CrmError):
        return error.message
    return str(error)


def restated(exc: CrmError, message: str) -> CrmError:
    """A plain error of ``exc``'s kind, so of its exit code, that says ``message`` instead.

    Kinds whose constructor takes other arguments (a field error, a duplicate)
    come back as the kind they refine.
    """
    kinds = (InvalidInput, PermissionDenied, NotFound, Conflict, CrmError)
    return next(k for k in kinds if isinstance(exc, k))(message)
