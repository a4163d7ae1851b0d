"""The words of the core and the plugins in the reader's language (a gettext-style catalogue).

Code marks a text the user may read with :func:`_`: ``_("no pool '{name}'",
name=name)``. The result is a :class:`Message`, a ``str`` whose value is the
English text, so it prints, compares, joins and goes into JSON or the database
as English, and which keeps its message id and parameters, so a reader in
another language gets it translated first and formatted after
(:meth:`Message.render`). A constant text translated where it is shown (a
reason written to the journal) is marked with :func:`N_`; :func:`localize`
turns such stored English back into the reader's language, parameters
included.

The language is the one :func:`use` set (the TUI's ``--lang``), else the
``CRM_LANG`` variable, else English. English costs nothing: no catalogue is
read. A catalogue is a plain ``{english: translation}`` dict; the core's are
the ``crm_core.locale`` modules, a plugin adds its own through the
``crm_register_messages`` hook (:func:`add_catalogue`). Each is imported the
first time a text is wanted in its language.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import re

    Entries = Mapping[str, str]
    Source = Entries | Callable[[], Entries]

ENGLISH = "en"
LANGS = ("en", "zh")
"""The languages the core speaks; a plugin may add words to these, not new ones."""

ENV = "CRM_LANG"

_chosen: str | None = None
_sources: dict[tuple[str, str], Source] = {}  # (plugin, lang) -> its catalogue or its loader
_loaded: dict[str, dict[str, str]] = {}  # lang -> every catalogue of it, merged
_patterns: dict[str, list[tuple[str, str, str]]] = {}  # lang -> (fixed words, regex, template)
_regexes: dict[str, re.Pattern[str]] = {}  # compiled on first use: most are never needed
_recognised: dict[tuple[str, str], str] = {}  # (lang, stored text) -> its translation
RECOGNISED_MAX = 10_000
"""How many stored texts :func:`localize` remembers (a screen shows the same reasons often)."""


def language_of(value: str | None) -> str:
    """The language ``value`` names (``zh``, ``zh_CN.UTF-8``, ``en``), English when none fits."""
    value = (value or "").lower()
    return next((lang for lang in LANGS if value.startswith(lang)), ENGLISH)


def active() -> str:
    """The language texts are shown in: the one :func:`use` set, else ``CRM_LANG``, else English."""
    return _chosen if _chosen is not None else language_of(os.environ.get(ENV))


def use(lang: str | None) -> str | None:
    """Show texts in ``lang`` from now on (None: back to ``CRM_LANG``); return the one set before.

    The TUI calls it with its ``--lang``, so the refusals of the API it shows
    speak the operator's language.
    """
    global _chosen
    before, _chosen = _chosen, (language_of(lang) if lang is not None else None)
    return before


class Message(str):
    """A text for the user: its English value, and what translating it needs.

    Attributes:
        msgid: The English text with its ``{name}`` slots, as written in the code.
        params: The values of the slots; a value that is itself a message is
            translated too.
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, params: dict[str, Any] | None = None) -> Message:
        params = params or {}
        text = msgid.format(**params) if params else msgid
        self = super().__new__(cls, text)
        self.msgid, self.params = msgid, params
        return self

    def render(self, lang: str | None = None) -> str:
        """The text in ``lang`` (the :func:`active` language when None), its slots filled."""
        lang = lang or active()
        if lang == ENGLISH:
            return str.__str__(self)
        if not self.params:
            # A text without slots may be one the code got from elsewhere (a plain error's
            # text, a validator's words): it is recognised as :func:`localize` does.
            return localize(self.msgid, lang)
        template = catalogue(lang).get(self.msgid, self.msgid)
        values = {k: _render(v, lang) for k, v in self.params.items()}
        return template.format(**values)

    def __reduce__(self) -> tuple[Any, ...]:
        return Message, (self.msgid, self.params)


def _render(value: Any, lang: str) -> Any:
    """A slot's value in ``lang``: a message is translated, anything else is as it is."""
    return value.render(lang) if isinstance(value, (Message, Joined)) else value


class Joined(str):
    """Messages joined by a separator, translated each (``"; ".join`` of messages)."""

    parts: tuple[str, ...]
    sep: str

    def __new__(cls, sep: str, parts: Iterable[str]) -> Joined:
        parts = tuple(parts)
        self = super().__new__(cls, sep.join(parts))
        self.parts, self.sep = parts, sep
        return self

    def render(self, lang: str | None = None) -> str:
        """Each part in ``lang``, joined."""
        lang = lang or active()
        return self.sep.join(_render(part, lang) for part in self.parts)

    def __reduce__(self) -> tuple[Any, ...]:
        return Joined, (self.sep, self.parts)


def _(msgid: str, /, **params: Any) -> Message:
    """Mark ``msgid`` for translation; ``params`` fill its ``{name}`` slots after translating."""
    return Message(msgid, params)


def N_(msgid: str) -> str:
    """Mark a constant text for the catalogue; it is translated where shown (:func:`localize`)."""
    return msgid


def say(msgid: str, /, **params: Any) -> str:
    """``msgid`` in the active language now, its slots filled: for text built to be shown
    at once (a plugin's panel or card)."""
    return Message(msgid, params).render()


def add_catalogue(plugin: str, lang: str, entries: Source) -> None:
    """Add ``plugin``'s translations into ``lang``: a dict, or a function returning one.

    A function is called the first time a text is wanted in ``lang``, so a
    plugin's catalogue costs nothing to an English reader. Called by the
    ``crm_register_messages`` hook's ``register``.
    """
    if lang not in LANGS or lang == ENGLISH:
        raise ValueError(f"no language '{lang}' to translate into (choose {', '.join(LANGS[1:])})")
    if _sources.get((plugin, lang)) is entries:
        return
    _sources[(plugin, lang)] = entries
    _loaded.pop(lang, None)
    _patterns.pop(lang, None)
    _recognised.clear()


def catalogue(lang: str) -> dict[str, str]:
    """Every translation into ``lang``: the core's, then the plugins' (read once, on first use)."""
    found = _loaded.get(lang)
    if found is not None:
        return found
    merged: dict[str, str] = {}
    if lang != ENGLISH:
        merged.update(importlib.import_module(f"crm_core.locale.{lang}").MESSAGES)
        for (_plugin, source_lang), source in sorted(_sources.items()):
            if source_lang == lang:
                merged.update(source() if callable(source) else source)
    _loaded[lang] = merged
    return merged


def translate(text: str, lang: str | None = None) -> str:
    """A marked constant ``text`` in ``lang`` (the active language when None).

    Text no catalogue knows stays as it is.
    """
    if isinstance(text, (Message, Joined)):
        return text.render(lang)
    lang = lang or active()
    return text if lang == ENGLISH else catalogue(lang).get(text, text)


def localize(text: str, lang: str | None = None) -> str:
    """English the core or a plugin wrote (a task's note, a journal reason) in ``lang``.

    A text with slots is recognised by its message id's fixed words and its
    slots' values are put in the translation; text no catalogue knows stays
    as it is.
    """
    lang = lang or active()
    if isinstance(text, (Message, Joined)) and getattr(text, "params", True):
        return text.render(lang)
    if lang == ENGLISH or not text:
        return str.__str__(text)
    known = catalogue(lang)
    if text in known:
        return known[text]
    said = _recognised.get((lang, text))
    if said is None:
        said = _recognise(text, lang)
        if len(_recognised) >= RECOGNISED_MAX:
            _recognised.clear()
        _recognised[(lang, text)] = said
    return said


def _recognise(text: str, lang: str) -> str:
    # A pattern is tried only when the text holds its longest fixed words: most are not.
    for words, regex, template in _patterns_of(lang):
        if words in text:
            pattern = _regexes.get(regex)
            if pattern is None:
                import re  # here: an English reader never needs it

                pattern = _regexes[regex] = re.compile(regex, re.DOTALL)
            match = pattern.fullmatch(text)
            if match:
                return template.format(**match.groupdict())
    return text


def _patterns_of(lang: str) -> list[tuple[str, str, str]]:
    """Per message id with slots: its longest fixed words, the regex of what it reads once
    filled, and its translation."""
    found = _patterns.get(lang)
    if found is not None:
        return found
    # Imported here: an English reader (the CLI's start-up) never needs them.
    import re
    import string

    out = []
    for msgid, translation in catalogue(lang).items():
        parts = list(string.Formatter().parse(msgid))
        words = "".join(literal for literal, _n, _s, _c in parts)
        # Without slots it is looked up as it is; with no word of its own ("{value} {why}")
        # it would claim any text.
        if not any(name for _l, name, _s, _c in parts) or not any(c.isalpha() for c in words):
            continue
        regex, seen = "", set()
        for literal, name, _spec, _conversion in parts:
            regex += re.escape(literal)
            if name is None:
                continue
            # A slot read twice must read the same; a value may hold any text.
            regex += f"(?P={name})" if name in seen else f"(?P<{name}>.+?)"
            seen.add(name)
        longest = max((literal for literal, _n, _s, _c in parts), key=len)
        out.append((len(words), longest, regex, _plain_slots(translation)))
    # The message with the most words of its own is the likeliest to have written a text.
    out.sort(key=lambda found: -found[0])
    found = [(longest, regex, template) for _n, longest, regex, template in out]
    _patterns[lang] = found
    return found


def _plain_slots(template: str) -> str:
    """``template`` with its slots' conversions and formats dropped: stored values are text."""
    import string

    out = ""
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        out += literal.replace("{", "{{").replace("}", "}}")
        if name is not None:
            out += "{" + name + "}"
    return out
