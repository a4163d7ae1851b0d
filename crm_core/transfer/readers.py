"""Reading CSV and JSON Lines files row by row, each row with the line it starts on.

A reader gives the file's columns before any row (the CSV header; for JSON
Lines every key of every object, found by a first pass), then yields
:class:`RawRow` items. A row the parser cannot read (a CSV row with too many
or too few values, a line that is not a JSON object) comes out as a
:class:`RowError`, so the importer can reject it and go on.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from crm_core.errors import InvalidInput, quote
from crm_core.i18n import _
from crm_core.transfer import encoding

FORMATS = ("csv", "jsonl")
# csv's default cap (128 KiB a cell) stops the whole import at a pasted file in one
# cell; with room for it the row is read and rejected alone by the length checks.
CSV_CELL_MAX = 1 << 26
csv.field_size_limit(max(csv.field_size_limit(), CSV_CELL_MAX))
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(slots=True)  # not frozen: a frozen dataclass takes twice as long to make, per row
class RawRow:
    """One row as read: the line it starts on and its values by column name."""

    line: int
    values: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    """A row that could not be parsed, and why."""

    line: int
    reason: str


Item = TypeVar("Item")


def chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    """``items`` in lists of ``size`` (the last may be shorter): the batches an import writes."""
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def detect_format(path: Path, fmt: str | None) -> str:
    """The format to read ``path`` in: ``fmt`` if given, else from the file's extension."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InvalidInput(_("--format must be csv or jsonl, not {fmt}", fmt=quote(fmt)))
        return fmt
    found = EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise InvalidInput(
            _(
                "cannot tell the format of {path} from its extension (.csv, .jsonl, .ndjson): "
                "pass --format csv or --format jsonl",
                path=path.name,
            )
        )
    return found


class Source:
    """An open file to import: its format, columns and rows, and how far reading has got."""

    def __init__(
        self, path: Path, fmt: str | None = None, text_encoding: str | None = None
    ) -> None:
        self.path = path
        self.format = detect_format(path, fmt)
        self.codec = encoding.codec_of(text_encoding)
        if not path.is_file():
            raise InvalidInput(_("no file {path}", path=path))
        # Before any row is kept: a bad byte found by the reader mid-import would leave
        # the batches before it in, and block decoding knows only roughly where it is.
        encoding.check(path, self.codec)
        self.size = path.stat().st_size
        self._binary: IO[bytes] | None = None
        self._line = 1
        self.columns = self._csv_header() if self.format == "csv" else self._jsonl_keys()

    @property
    def bytes_read(self) -> int:
        """How many bytes of the file the rows read so far came from (about: reads are buffered)."""
        if self._binary is None or self._binary.closed:
            return self.size
        return self._binary.tell()

    def _text(self) -> IO[str]:
        """The file as text in its codec (UTF-8: a byte-order mark dropped), newlines kept."""
        self._binary = self.path.open("rb")
        return io.TextIOWrapper(self._binary, encoding=self.codec, newline="")

    def _csv_header(self) -> list[str]:
        with self._text() as text:
            try:
                header = next(csv.reader(text), None)
            except (csv.Error, UnicodeDecodeError) as exc:
                raise InvalidInput(
                    _("{name} line 1: {value}", name=self.path.name, value=_why(exc))
                ) from None
        if not header:
            raise InvalidInput(
                _("{name} is empty: a CSV file starts with a header row", name=self.path.name)
            )
        names = [h.strip() for h in header]
        seen = {n for n in names if names.count(n) > 1}
        if seen:
            raise InvalidInput(
                _(
                    "{name}: column(s) {value} appear twice",
                    name=self.path.name,
                    value=_quoted(seen),
                )
            )
        return names

    def _jsonl_keys(self) -> list[str]:
        keys: dict[str, None] = {}
        with self._text() as text:
            try:
                for line in text:
                    if line.strip():
                        try:
                            value = json.loads(line)
                        except json.JSONDecodeError:
                            continue  # reported with its line number when the rows are read
                        if isinstance(value, dict):
                            keys.update(dict.fromkeys(value))
            except UnicodeDecodeError as exc:
                raise InvalidInput(
                    _("{name}: {value}", name=self.path.name, value=_why(exc))
                ) from None
        return list(keys)

    def rows(self) -> Iterator[RawRow | RowError]:
        """The data rows, in file order (a CSV header is not a row)."""
        reader = self._csv_rows if self.format == "csv" else self._jsonl_rows
        with self._text() as text:
            try:
                yield from reader(text)
            except (csv.Error, UnicodeDecodeError) as exc:
                # The encoding was checked whole, so this is the parser's (or a file changed
                # since): the line is where the row being read starts.
                raise InvalidInput(
                    _(
                        "{name} line {line}: {value}",
                        name=self.path.name,
                        line=self._line,
                        value=_why(exc),
                    )
                ) from None

    def _csv_rows(self, text: IO[str]) -> Iterator[RawRow | RowError]:
        columns = self.columns
        width = len(columns)
        reader = csv.reader(text)
        next(reader)  # the header, read and checked already
        while True:
            start = self._line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                return
            if not cells:
                continue  # a blank line
            if len(cells) != width:
                yield RowError(start, f"has {len(cells)} values but the header has {width} columns")
                continue
            yield RawRow(start, dict(zip(columns, cells, strict=True)))

    def _jsonl_rows(self, text: IO[str]) -> Iterator[RawRow | RowError]:
        for number, line in enumerate(text, start=1):
            self._line = number
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RowError(number, f"not JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(value, dict):
                yield RowError(number, f"a line must be a JSON object, not {type(value).__name__}")
                continue
            yield RawRow(number, value)


def _why(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text ({codecs.lookup(exc.encoding).name}: {exc.reason})"
    return str(exc)


def _quoted(names: set[str] | list[str]) -> str:
    return ", ".join(f"'{n}'" for n in sorted(names))
