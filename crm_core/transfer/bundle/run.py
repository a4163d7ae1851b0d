"""Running an import spec: every file in order, in batches, each row read, linked, keyed,
classified (create, update, unchanged, skip, reject) and written by its entity.

Transactions: by default each batch commits, so an interrupted run is
resumed by running it again (rows already in are found by their key and are
unchanged). ``atomic`` runs every file in one transaction and keeps nothing
when any row is rejected; a dry run runs like ``atomic`` and keeps nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from crm_core import collector, permissions
from crm_core.errors import (
    Conflict,
    CrmError,
    InvalidInput,
    PluginError,
    excerpt,
    quote,
    restated,
)
from crm_core.i18n import _
from crm_core.records import WriteContext
from crm_core.transfer import readers
from crm_core.transfer.bundle import read
from crm_core.transfer.bundle.cells import CellError, Cells
from crm_core.transfer.bundle.entity import ImportContext, ImportEntity, Row
from crm_core.transfer.bundle.registry import import_entities
from crm_core.transfer.bundle.report import BundleErrors, BundleProblem, BundleReport, FileReport
from crm_core.transfer.bundle.spec import FileSpec, Spec, load_spec
from crm_core.transfer.bundle.stage_history import points_by_key
from crm_core.transfer.readers import RawRow, RowError

BATCH = 5000
Write = Callable[[], AbstractContextManager[WriteContext]]
History = dict[str, list[Any]]


@dataclass(frozen=True)
class BundleOptions:
    """What to import and how (the options of ``crm import SPEC.yaml``)."""

    path: Path
    dry_run: bool = False
    atomic: bool = False
    errors_path: Path | None = None
    batch_size: int = BATCH


class _Undo(Exception):
    """Raised inside the one transaction of an atomic run (or a dry run) to keep nothing."""


def run(write: Write, host: Any, registry: Any, options: BundleOptions) -> BundleReport:
    """Import every file of the spec at ``options.path``; see the module's description."""
    entities = import_entities(host, registry)
    spec = load_spec(options.path, registry, entities)
    if options.batch_size < 1:
        raise InvalidInput(
            _("--batch must be at least 1, not {batch_size}", batch_size=options.batch_size)
        )
    with write() as ctx:
        assert ctx.actor is not None
        permissions.require_admin(ctx.actor, "import a bundle (it writes users and teams)")
    report = BundleReport(
        str(options.path), options.dry_run, options.atomic,
        errors_file=str(options.errors_path) if options.errors_path else None,
    )  # fmt: skip
    importer = _Importer(spec, entities, registry, options, report)
    with BundleErrors(options.errors_path) as errors, collector.frozen():
        if not (options.atomic or options.dry_run):
            try:
                importer.files(write, errors)
            except CrmError as exc:
                _say_what_is_kept(exc, report)
            return report
        try:
            with write() as ctx:
                importer.files(lambda: nullcontext(ctx), errors)
                if options.dry_run or report.rejected:
                    raise _Undo
        except _Undo:
            pass
    return report


def _say_what_is_kept(exc: CrmError, report: BundleReport) -> None:
    """Re-raise ``exc`` (its kind, so its exit code) saying which committed batches stay."""
    done = sum(f.created + f.updated for f in report.files)
    if not done or isinstance(exc, PluginError):
        raise exc
    raise restated(
        exc,
        f"{exc} ({done} rows of earlier batches were kept; run the import again to finish: "
        "the rows already in are found by their keys)",
    ) from None


class _Importer:
    """Imports the files of one spec, keeping the report."""

    def __init__(
        self,
        spec: Spec,
        entities: dict[str, ImportEntity],
        registry: Any,
        options: BundleOptions,
        report: BundleReport,
    ) -> None:
        self.spec = spec
        self.entities = entities
        self.registry = registry
        self.options = options
        self.report = report

    def files(self, begin: Write, errors: BundleErrors) -> None:
        """Import every file in order, one batch a transaction from ``begin``."""
        for file in self.spec.files:
            report = FileReport(file.name, file.entity, file.kind)
            self.report.files.append(report)
            batch = _Batch(self, file, self._history_for(file))
            for items in readers.chunks(read.rows(file.path, file.codec, file.delimiter),
                                 self.options.batch_size):  # fmt: skip
                with begin() as ctx:
                    problems, unmapped, counts = batch.run(ctx, items)
                report.rows += len(items)
                for name, n in counts.items():
                    setattr(report, name, getattr(report, name) + n)
                report.note_unmapped(unmapped)
                report.keep(problems)
                errors.write(problems)

    def _history_for(self, file: FileSpec) -> dict[str, History]:
        """The long history (stage_history files) of the rows of ``file``, by link field."""
        if file.entity not in ("record", "deal"):
            return {}
        out: dict[str, History] = defaultdict(dict)
        for other in self.spec.files:
            link = other.links.get("of")
            if other.entity != "stage_history" or link is None or link.entity != file.entity:
                continue
            if file.kind is not None and link.kind != file.kind:
                continue
            cells = Cells(other, self.registry)
            points = []
            for item in read.rows(other.path, other.codec, other.delimiter):
                if isinstance(item, RowError):
                    continue
                got, bad = cells.read(item)
                values: dict[str, Any] = {c.field: c.text if c.field == "of" else c.value
                                          for c in got}  # fmt: skip
                if not bad and {"of", "stage", "at"} <= set(values):
                    cause = f"import:{other.name}:{item.line}"
                    points.append((values["of"], values["stage"], values["at"], cause))
            for key, found in points_by_key(points).items():
                out[link.by].setdefault(key, []).extend(found)
        return dict(out)


class _Batch:
    """Reads, links, keys, classifies and writes one file's batches of rows."""

    def __init__(self, importer: _Importer, file: FileSpec, history: dict[str, History]) -> None:
        self.file = file
        self.entity = importer.entities[file.entity]
        self.entities = importer.entities
        self.registry = importer.registry
        self.cells = Cells(file, importer.registry)
        self.history = history
        self.seen: dict[str, int] = {}  # key text -> first line, across the file's batches

    def run(
        self, ctx: WriteContext, items: list[RawRow | RowError]
    ) -> tuple[list[BundleProblem], dict[str, Counter[str]], Counter[str]]:
        """Import one batch in the transaction of ``ctx``: problems, unmapped values, counts."""
        assert ctx.actor is not None
        self.ictx = ImportContext(ctx.session, ctx.actor.id, ctx.now, self.file.name,
                                  self.registry, self.file.currency, ctx)  # fmt: skip
        self.problems: list[BundleProblem] = []
        self.unmapped: dict[str, Counter[str]] = defaultdict(Counter)
        self.counts: Counter[str] = Counter()
        self.texts: dict[int, dict[str, str]] = {}
        rows = [row for item in items if (row := self._read(item)) is not None]
        deferred = self._resolve(rows, defer_self=True)
        later = {id(r) for r in deferred}
        self._write([r for r in rows if id(r) not in later])
        if deferred:  # rows naming rows of this batch (a user's manager): now they are in
            self._resolve(deferred, defer_self=False)
            self._write(deferred)
        self.problems.sort(key=lambda p: p.line)
        return self.problems, dict(self.unmapped), self.counts

    def reject(self, row: Row | int, field: str, reason: str) -> None:
        """Reject a row (or the line of one that could not be read) for ``reason``."""
        line = row if isinstance(row, int) else row.line
        column = self.file.columns.get(field, "")
        self.problems.append(BundleProblem(self.file.name, line, column, field, reason))

    def _read(self, item: RawRow | RowError) -> Row | None:
        if isinstance(item, RowError):
            self.reject(item.line, "", item.reason)
            return None
        cells, bad = self.cells.read(item)
        for cell, error in bad:
            if error.unmapped:
                self.unmapped[cell.field][cell.text] += 1
        if bad:
            cell, error = bad[0]
            self.reject(item.line, cell.field, f"{cell.field}: {error}")
            return None
        row = Row(item.line, {c.field: c.value for c in cells})
        self.texts[id(row)] = {c.field: c.text for c in cells}
        for name, target in self.file.targets.items():
            if target.required and name not in row.values:
                self.reject(row, name, f"{name} is required (the cell is empty)")
                return None
        return row if self._read_history(item, row) else None

    def _read_history(self, item: RawRow, row: Row) -> bool:
        cause = f"import:{self.file.name}:{item.line}"
        for column, stage in self.file.stages.items():
            text = str(item.values.get(column) or "").strip()
            if not text:
                continue
            try:
                row.history.append((stage, self.cells.moment(column, text), cause))
            except CellError as exc:
                self.problems.append(BundleProblem(self.file.name, item.line, column, "", str(exc)))
                return False
        for by, points in self.history.items():
            given = self.texts[id(row)].get(by)
            if given is not None:
                row.history.extend(points.get(given, []))
        return True

    def _resolve(self, rows: list[Row], defer_self: bool) -> list[Row]:
        """Turn each reference into its row's id; reject a row whose reference matched
        nothing. Returns the rows left for later: those naming a row of their own entity
        that may come in this very batch."""
        deferred: list[Row] = []
        for name, link in self.file.links.items():
            wanted = sorted({str(r.values[name]) for r in rows if name in r.values})
            if not wanted:
                continue
            found = self.entities[link.entity].find(self.ictx.session, link.kind, link.by, wanted)
            for row in rows:
                if name not in row.values or row.problem is not None:
                    continue
                text = str(row.values[name])
                if text in found:
                    row.values[name] = found[text]
                elif defer_self and link.entity == self.file.entity:
                    deferred.append(row)
                else:
                    self.unmapped[name][text] += 1
                    row.problem = "rejected"
                    what = f"{link.entity} of kind {link.kind}" if link.kind else link.entity
                    self.reject(row, name, f"{name} {quote(text)} not found (no {what} with "
                                f"{link.by} {quote(text)})")  # fmt: skip
        return list({id(r): r for r in deferred}.values())

    def _write(self, rows: list[Row]) -> None:
        rows = [r for r in rows if r.problem is None]
        creates, updates = self._classify(rows)
        kind = self.file.kind
        try:
            if creates:
                self.entity.create(self.ictx, kind, creates)
            if updates:
                self.entity.update(self.ictx, kind, updates)
        except IntegrityError as exc:
            # Two rows of one batch that each look new but share a unique value.
            reason = str(exc.orig).splitlines()[0]
            lines = ", ".join(str(r.line) for r in creates + updates)
            raise Conflict(
                _(
                    "{name}: lines {lines} collide: {reason}",
                    name=self.file.name,
                    lines=excerpt(lines),
                    reason=reason,
                )
            ) from None
        self.ictx.flush_journal()
        for done, rows_of in (("created", creates), ("updated", updates)):
            for row in rows_of:
                if row.problem is not None:
                    self.reject(row, row.problem_field, row.problem)
                else:
                    outcome = "unchanged" if row.skipped else "updated" if row.changed else done
                    self.counts[outcome] += 1

    def _classify(self, rows: list[Row]) -> tuple[list[Row], list[Row]]:
        """Find each row's stored row by the key; the new ones, and the changed ones."""
        key = self.file.key
        if not self.entity.keyed:
            return self._checked(rows), []
        texts = {id(r): self.texts[id(r)].get(key) for r in rows}
        keyed: list[Row] = []
        for row in rows:
            text = texts[id(row)]
            if text is None:
                self.reject(row, key, f"{key} is empty: it is the key that finds the row again")
            elif text in self.seen:
                self.reject(row, key, f"same {key} {quote(text)} as line {self.seen[text]}")
            else:
                self.seen[text] = row.line
                keyed.append(row)
        found = self.entity.find(self.ictx.session, self.file.kind, key,
                                 sorted({str(texts[id(r)]) for r in keyed}))  # fmt: skip
        for row in keyed:
            row.id = found.get(str(texts[id(row)]))
        stored = self.entity.current(self.ictx.session, self.file.kind,
                                     [r.id for r in keyed if r.id is not None])  # fmt: skip
        creates, updates = [], []
        for row in self._checked(keyed):
            if row.id is None:
                creates.append(row)
                continue
            row.before = stored.get(row.id, {})
            if self.file.on_duplicate == "skip":
                self.counts["skipped"] += 1
            elif self.file.on_duplicate == "error":
                self.reject(row, key, f"{key} {quote(texts[id(row)])} is #{row.id} already")
            else:
                changed = {k: v for k, v in row.values.items() if row.before.get(k) != v}
                if changed:
                    row.values = changed
                    updates.append(row)
                else:
                    self.counts["unchanged"] += 1
        return creates, updates

    def _checked(self, rows: list[Row]) -> list[Row]:
        out = []
        for row in rows:
            rejection = self.entity.check(self.ictx, self.file.kind, row)
            if rejection is None:
                out.append(row)
                continue
            if rejection.unmapped:
                self.unmapped[rejection.field][self.texts[id(row)].get(rejection.field, "")] += 1
            self.reject(row, rejection.field, rejection.reason)
        return out
