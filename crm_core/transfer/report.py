"""What an import tells its caller: the report, progress after each batch, the errors file."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from crm_core.errors import InvalidInput
from crm_core.i18n import _
from crm_core.transfer.rows import Problem
from crm_core.views import View

KEPT_PROBLEMS = 100  # problems kept in the report; the errors file has all of them
ERRORS_HEADER = ("line", "column", "field", "reason")


@dataclass
class ImportProgress:
    """How far an import has got, after each batch."""

    rows: int
    created: int
    merged: int
    skipped: int
    rejected: int
    bytes_read: int
    bytes_total: int


@dataclass
class BatchResult:
    """What one batch did, counted into the report once the batch has committed."""

    rows: int = 0
    created: int = 0
    merged: int = 0
    skipped: int = 0
    refused: int = 0
    assigned: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Rows rejected for any reason (a row with several problems counts once)."""
        return len({p.line for p in self.problems if not p.skipped})


@dataclass
class ImportReport(View):
    """What an import did (or, in a dry run, would do).

    ``rejected`` counts rows refused for any reason, ``refused`` those of
    them refused as duplicates (``on_duplicate="refuse"``); ``problems`` holds
    the first problems found (the errors file has every one).
    """

    kind: str
    file: str
    format: str
    dry_run: bool
    on_duplicate: str
    rows: int = 0
    created: int = 0
    merged: int = 0
    skipped: int = 0
    rejected: int = 0
    refused: int = 0
    assigned: int = 0
    batches: int = 0
    errors_file: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def add(self, result: BatchResult) -> None:
        """Count a committed batch."""
        self.batches += 1
        self.rows += result.rows
        self.created += result.created
        self.merged += result.merged
        self.skipped += result.skipped
        self.refused += result.refused
        self.assigned += result.assigned
        self.rejected += result.rejected
        room = KEPT_PROBLEMS - len(self.problems)
        if room > 0:
            self.problems.extend(result.problems[:room])

    def progress(self, bytes_read: int, bytes_total: int) -> ImportProgress:
        """The progress so far, for a caller's progress bar."""
        return ImportProgress(
            self.rows, self.created, self.merged, self.skipped, self.rejected,
            bytes_read, bytes_total,
        )  # fmt: skip


class ErrorsFile:
    """The errors file: a CSV of line, column, field and reason, one problem a line.

    Without a path it writes nothing. It is opened before the first batch, so
    a path that cannot be written is refused before anything is imported.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._writer: Any = None

    header: tuple[str, ...] = ERRORS_HEADER

    def __enter__(self) -> Self:
        if self.path is not None:
            try:
                self._file = self.path.open("w", encoding="utf-8", newline="")
            except OSError as exc:
                raise InvalidInput(
                    _("cannot write {path}: {strerror}", path=self.path, strerror=exc.strerror)
                ) from None
            self._writer = csv.writer(self._file)
            self._writer.writerow(self.header)
        return self

    def write(self, problems: list[Problem]) -> None:
        """Add ``problems`` (in line order)."""
        if self._writer is not None:
            self._writer.writerows((p.line, p.column, p.field, p.reason) for p in problems)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._file is not None:
            self._file.close()
