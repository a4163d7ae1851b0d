"""Reading a bundle's CSV files: the header, then rows with the line each starts on."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from crm_core.errors import InvalidInput
from crm_core.i18n import _
from crm_core.transfer import encoding
from crm_core.transfer.readers import RawRow, RowError


def header(path: Path, codec: str, delimiter: str) -> list[str]:
    """The file's column names (stripped), after checking that all of it decodes."""
    encoding.check(path, codec)
    with path.open(encoding=codec, newline="") as text:
        try:
            names = next(csv.reader(text, delimiter=delimiter), None)
        except csv.Error as exc:
            raise InvalidInput(_("{path} line 1: {exc}", path=path.name, exc=exc)) from None
    if not names:
        raise InvalidInput(
            _("{path} is empty: a CSV file starts with a header row", path=path.name)
        )
    names = [n.strip() for n in names]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidInput(
            _("{path}: column(s) {names} appear twice", path=path.name, names=", ".join(twice))
        )
    return names


def rows(path: Path, codec: str, delimiter: str) -> Iterator[RawRow | RowError]:
    """The data rows; a row of the wrong width comes out as a :class:`RowError`."""
    with path.open(encoding=codec, newline="") as text:
        reader = csv.reader(text, delimiter=delimiter)
        columns = [n.strip() for n in next(reader)]
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader, None)
            except csv.Error as exc:
                raise InvalidInput(
                    _("{path} line {line}: {exc}", path=path.name, line=line, exc=exc)
                ) from None
            if cells is None:
                return
            if not cells:
                continue
            if len(cells) != len(columns):
                yield RowError(
                    line, f"has {len(cells)} values but the header has {len(columns)} columns"
                )
                continue
            yield RawRow(line, dict(zip(columns, cells, strict=True)))
