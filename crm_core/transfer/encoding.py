"""The text encoding of a file to import: named by ``--encoding``, checked before any row is kept.

The check decodes the whole file in large blocks (the decoding itself runs
in C, so a million-row file costs a fraction of a second) and, at the first
byte that does not decode, counts the newlines before it: the message names
the file's true line. A file that is not UTF-8 is often a Chinese
spreadsheet's export in GB18030; when it decodes as that, the message says
so and names the option.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from crm_core.errors import InvalidInput, quote
from crm_core.i18n import _

DEFAULT = "utf-8"
COMMON = ("utf-8", "utf-8-sig", "gb18030", "gbk")
BLOCK = 1 << 20


def codec_of(name: str | None) -> str:
    """The codec that reads a file said to be in ``name``; UTF-8 drops a byte-order mark."""
    try:
        info = codecs.lookup(name or DEFAULT)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise InvalidInput(
            _(
                "--encoding: unknown text encoding {name} (e.g. {names})",
                name=quote(name),
                names=", ".join(COMMON),
            )
        )
    return "utf-8-sig" if info.name in ("utf-8", "utf-8-sig") else info.name


def check(path: Path, codec: str) -> None:
    """Refuse ``path`` unless all of it decodes as ``codec``, naming the first bad line."""
    bad = _first_bad_line(path, codec)
    if bad is None:
        return
    line, reason = bad
    shown = "UTF-8" if codec == "utf-8-sig" else codec.upper()
    where = f"{path.name} line {line}: not {shown}"
    if codec == "utf-8-sig" and _first_bad_line(path, "gb18030") is None:
        raise InvalidInput(
            _(
                "{where}; it looks like GB18030 (Chinese spreadsheet export): use --encoding "
                "gb18030",
                where=where,
            )
        )
    raise InvalidInput(
        _(
            "{where} ({reason}): name the file's encoding with --encoding",
            where=where,
            reason=reason,
        )
    )


def _first_bad_line(path: Path, codec: str) -> tuple[int, str] | None:
    """The 1-based line of the first byte that does not decode, and why; None if all do."""
    # A byte-order mark is valid UTF-8: checking with plain UTF-8 keeps positions in file bytes.
    decoder = codecs.getincrementaldecoder("utf-8" if codec == "utf-8-sig" else codec)()
    newlines = 0  # in the bytes the decoder has taken for good
    with path.open("rb") as stream:
        while True:
            block = stream.read(BLOCK)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                # Positions count from the bytes held back from the block before.
                data = pending + block
                return newlines + data[: exc.start].count(b"\n") + 1, exc.reason
            if not block:
                return None
            newlines += block.count(b"\n")
