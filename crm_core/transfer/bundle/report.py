"""What ``crm import bundle.yaml`` tells: per file, rows created, updated, unchanged, skipped,
rejected, the values that matched nothing, and the first problems; the errors file."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from crm_core.transfer.report import ErrorsFile
from crm_core.views import View

KEPT_PROBLEMS = 20  # problems kept per file in the report; the errors file has all of them
ERRORS_HEADER = ("file", "line", "column", "field", "reason")


@dataclass(frozen=True)
class BundleProblem(View):
    """A rejected row: the file, its line, the source column and target field, the reason."""

    file: str
    line: int
    column: str
    field: str
    reason: str

    def __str__(self) -> str:
        where = f" {self.column}" if self.column else (f" {self.field}" if self.field else "")
        return f"{self.file}:{self.line}:{where}: {self.reason}".replace(": :", ":")


@dataclass
class FileReport(View):
    """What importing one file of a spec did (or, in a dry run, would do).

    ``unmapped`` holds, per target field, each distinct value that matched
    nothing (no value-map entry, choice or referenced row) and how many rows
    gave it.
    """

    file: str
    entity: str
    kind: str | None
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: int = 0
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[BundleProblem] = field(default_factory=list)

    def note_unmapped(self, counts: dict[str, Counter[str]]) -> None:
        """Add a batch's unmapped values."""
        for name, counter in counts.items():
            mine = self.unmapped.setdefault(name, {})
            for value, n in counter.items():
                mine[value] = mine.get(value, 0) + n

    def keep(self, problems: list[BundleProblem]) -> None:
        """Count rejected rows and keep the first problems."""
        self.rejected += len(problems)
        room = KEPT_PROBLEMS - len(self.problems)
        if room > 0:
            self.problems.extend(problems[:room])


@dataclass
class BundleReport(View):
    """What an import spec did: one report per file, in import order."""

    spec: str
    dry_run: bool
    atomic: bool
    files: list[FileReport] = field(default_factory=list)
    errors_file: str | None = None

    @property
    def rejected(self) -> int:
        """Rows rejected in every file."""
        return sum(f.rejected for f in self.files)

    @property
    def kept(self) -> bool:
        """False when nothing was kept: a dry run, or an atomic run that rejected a row."""
        return not (self.dry_run or (self.atomic and self.rejected))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with the total of rejected rows and whether anything was kept."""
        return {**super().to_dict(), "rejected": self.rejected, "kept": self.kept}


class BundleErrors(ErrorsFile):
    """The errors file: a CSV of file, line, column, field and reason, one rejected row a line.

    Opened before anything is imported, so a path that cannot be written is
    refused first; without a path it writes nothing.
    """

    header = ERRORS_HEADER

    def write(self, problems: list[BundleProblem]) -> None:  # type: ignore[override]
        """Add ``problems``."""
        if self._writer is not None:
            self._writer.writerows((p.file, p.line, p.column, p.field, p.reason) for p in problems)
