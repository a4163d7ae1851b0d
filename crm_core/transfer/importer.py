"""The import pipeline: read, check, classify and write a file in batches, one transaction each.

Everything that can be refused without touching the data (the kind, the
options, the file, its columns, the actor's role, ``--owner``) is refused
before the first batch. Then each batch of rows is checked row by row
(:mod:`~crm_core.transfer.rows`; on PostgreSQL while the batch before is
written, :mod:`~crm_core.transfer.ahead`), classified
(:mod:`~crm_core.transfer.batch`), and written: new records set-based
(:mod:`~crm_core.transfer.writer`), merges through
:func:`crm_core.records.change` as ``add_record(merge=True)`` does, then, with
``auto_assign``, the batch's unowned new records are given owners by the
workflow's rules. A batch commits as a whole; a dry run keeps every batch in
one transaction and rolls it back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from crm_core import collector, records
from crm_core.assign import run as assign_run
from crm_core.errors import (
    CrmError,
    InvalidInput,
    NotFound,
    PluginError,
    quote,
    restated,
)
from crm_core.fields import KindSpec, Registry
from crm_core.i18n import _
from crm_core.models import Record
from crm_core.records import WriteContext
from crm_core.schedule import tick
from crm_core.transfer import ahead, batch, columns, readers, writer
from crm_core.transfer.readers import RawRow, RowError, Source
from crm_core.transfer.report import BatchResult, ErrorsFile, ImportProgress, ImportReport
from crm_core.transfer.rows import Candidate, Problem, RowMaker, Setup
from crm_core.workflow import engine

DEFAULT_BATCH = 5000
ASSIGN_CHUNK = 5000  # record ids per assignment pass: its IN list stays well within limits

Write = Callable[[bool], AbstractContextManager[WriteContext]]
"""Opens one write transaction as the importing actor; ``True`` rolls it back (dry run)."""
Progress = Callable[[ImportProgress], None]


@dataclass(frozen=True)
class ImportOptions:
    """What to import and how (the options of ``crm import``)."""

    kind: str
    path: Path
    mapping: dict[str, str] = field(default_factory=dict)
    on_duplicate: str = "skip"
    dry_run: bool = False
    batch_size: int = DEFAULT_BATCH
    errors_path: Path | None = None
    auto_assign: bool = False
    owner: str | None = None
    fmt: str | None = None
    encoding: str | None = None


def check_options(registry: Registry, options: ImportOptions) -> KindSpec:
    """Refuse bad options before anything is read; return the kind."""
    try:
        kind = registry.kind(options.kind)
    except NotFound as exc:
        raise InvalidInput(str(exc)) from None
    if options.on_duplicate not in batch.MODES:
        raise InvalidInput(
            _(
                "--on-duplicate must be skip, merge or refuse, not {on_duplicate}",
                on_duplicate=quote(options.on_duplicate),
            )
        )
    if options.batch_size < 1:
        raise InvalidInput(
            _("--batch must be at least 1, not {batch_size}", batch_size=options.batch_size)
        )
    if options.errors_path is not None and options.errors_path.resolve() == options.path.resolve():
        raise InvalidInput(_("--errors must name another file than the one imported"))
    if options.auto_assign and options.owner is not None:
        raise InvalidInput(
            _("give --owner or leave the owners to the rules (--auto-assign), not both")
        )
    return kind


def run(
    write: Write, registry: Registry, options: ImportOptions, progress: Progress | None = None
) -> ImportReport:
    """Import ``options.path``; see the module's description for the order of things."""
    kind = check_options(registry, options)
    source = Source(options.path, options.fmt, options.encoding)
    plan = columns.plan(kind, source.columns, options.mapping, source.path.name)
    report = ImportReport(
        kind.name, str(options.path), source.format, options.dry_run, options.on_duplicate,
        errors_file=str(options.errors_path) if options.errors_path else None,
    )  # fmt: skip
    # Imported here: it loads phonenumbers' metadata, which only an import needs.
    from crm_core.transfer import fastkeys

    fast = fastkeys.with_fast_phones(registry)

    @contextmanager
    def begin(rollback: bool) -> Iterator[WriteContext]:
        with write(rollback) as ctx:
            yield replace(ctx, registry=fast)

    typed = source.format == "jsonl"

    def prepare(ctx: WriteContext) -> Batches:
        maker = RowMaker(kind.name, plan, typed, Setup.load(ctx, kind.name, options.owner))
        # The row check reads no table (the plugins' rules get values, not a session), so it
        # is made once and may run while another batch is being written.
        check = maker.for_batch(ctx, records.checker(ctx, kind.name, "import"))
        checked: Iterator[Checked] = (
            _check(check, items) for items in readers.chunks(source.rows(), options.batch_size)
        )
        if ctx.session.get_bind().dialect.name == "postgresql":
            checked = ahead.one_ahead(checked)
        return Batches(maker, checked)

    if options.dry_run:
        with begin(True) as ctx:
            _batches(lambda: nullcontext(ctx), prepare(ctx), source, options, report, progress)
    else:
        with begin(False) as ctx:
            batches = prepare(ctx)
        _batches(lambda: begin(False), batches, source, options, report, progress)
    return report


@dataclass
class Checked:
    """A batch's rows checked: the result so far (its rows and problems) and the candidates."""

    result: BatchResult
    candidates: list[Candidate]


@dataclass
class Batches:
    """The file's batches, checked in order (on PostgreSQL one ahead of the one written)."""

    maker: RowMaker
    checked: Iterator[Checked]


def _check(check: Callable[[RawRow], Candidate | list[Problem]],
           items: list[RawRow | RowError]) -> Checked:  # fmt: skip
    """Check each row of a batch: its candidate, or its problems."""
    result = BatchResult(rows=len(items))
    candidates = []
    for item in items:
        if isinstance(item, RowError):
            result.problems.append(Problem(item.line, "", "", item.reason))
            continue
        made = check(item)
        if isinstance(made, list):
            result.problems.extend(made)
        else:
            candidates.append(made)
    return Checked(result, candidates)


def _batches(
    begin: Callable[[], AbstractContextManager[WriteContext]],
    batches: Batches,
    source: Source,
    options: ImportOptions,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    """Write every batch in the transaction ``begin`` opens; count it once it has committed."""
    with ErrorsFile(options.errors_path) as errors, collector.frozen():
        try:
            for checked in batches.checked:
                with begin() as ctx:
                    result = _write(ctx, batches.maker, checked, options)
                    ctx.session.flush()
                report.add(result)
                errors.write(result.problems)
                if progress is not None:
                    progress(report.progress(source.bytes_read, source.size))
        except CrmError as exc:
            done = report.created + report.merged
            if not done or options.dry_run or isinstance(exc, PluginError):
                raise
            # Say what is kept, keeping the error's kind (and so its exit code).
            raise restated(
                exc,
                f"{exc} ({done} rows of earlier batches were imported; run the import again "
                "to finish: the rows already imported are found as duplicates)",
            ) from None


def _write(
    ctx: WriteContext, maker: RowMaker, checked: Checked, options: ImportOptions
) -> BatchResult:
    """Classify and write one checked batch, inside its transaction."""
    kind = maker.kind
    result, candidates = checked.result, checked.candidates
    outcome = batch.classify(ctx, kind, candidates, options.on_duplicate, maker)
    result.problems.extend(outcome.problems)
    result.skipped, result.refused = outcome.skipped, outcome.refused
    new = [candidate for candidate, _target in outcome.new]
    ids = writer.create(ctx, kind, new)
    for record_id, (_candidate, target) in zip(ids, outcome.new, strict=True):
        target.record_id = record_id
    writer.notify(ctx, kind, ids, new)
    result.created = len(ids)
    result.merged = _merge(ctx, outcome.merges, maker, result.problems)
    if options.auto_assign:
        unowned = [i for i, c in zip(ids, new, strict=True) if c.owner_id is None]
        result.assigned = _assign(ctx, kind, unowned)
    result.problems.sort(key=lambda p: p.line)
    return result


def _merge(
    ctx: WriteContext, merges: list[batch.Merge], maker: RowMaker, problems: list[Problem]
) -> int:
    """Fill the targets' empty fields as ``add_record(merge=True)`` does; return how many merged.

    Each merge runs in a savepoint: one refused (a plugin's rule, a key taken
    meanwhile) rejects its row and leaves the rest of the batch alone.
    """
    done = 0
    for merge in merges:
        assert merge.target.record_id is not None
        try:
            with ctx.session.begin_nested():
                record = ctx.session.get(Record, merge.target.record_id)
                assert record is not None
                records.change(ctx, record, "merge", values=merge.filled)
        except PluginError:
            raise
        except CrmError as exc:
            problems.append(maker.problem(merge.candidate.line, "", str(exc)))
            continue
        done += 1
    return done


def _assign(ctx: WriteContext, kind: str, ids: list[int]) -> int:
    """Give the batch's unowned new records owners by the workflow's rules; return how many."""
    workflow = engine.applied(ctx.session, kind)
    if workflow is None or not ids:
        return 0
    tick.take_lock(ctx, wait=True)
    assigned = 0
    for start in range(0, len(ids), ASSIGN_CHUNK):
        result = assign_run.run(ctx, workflow, record_ids=ids[start : start + ASSIGN_CHUNK])
        assigned += result.assigned
    return assigned
