"""Which column of an import file goes where: a field, the title, the owner, the stage, nowhere.

A column goes to the field of the same name unless ``--map COLUMN=FIELD``
says otherwise, or else to the field its header is an alias of (the kind's
plugin declares ``aliases={"姓名": "name"}``); ``title``, ``owner`` (a user name) and ``stage`` are
understood too, and ``--map COLUMN=-`` ignores a column. Every column must
go somewhere: the unknown ones are refused together, before anything is
imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from crm_core.errors import InvalidInput, quote
from crm_core.fields import KindSpec
from crm_core.i18n import _

SPECIAL = ("title", "stage", "owner")
IGNORE = "-"


def parse_map(pairs: Iterable[str] | None) -> dict[str, str]:
    """Split ``COLUMN=FIELD`` options (``FIELD`` may be ``-``); refuse bad or repeated pairs."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        column, sep, target = (part.strip() for part in pair.partition("="))
        if not sep or not column or not target:
            raise InvalidInput(
                _(
                    "--map expects COLUMN=FIELD (or COLUMN=- to ignore), got {pair}",
                    pair=quote(pair),
                )
            )
        if out.get(column, target) != target:
            raise InvalidInput(
                _(
                    "--map maps column '{column}' twice: to '{value}' and '{target}'",
                    column=column,
                    value=out[column],
                    target=target,
                )
            )
        out[column] = target
    return out


@dataclass(frozen=True)
class ColumnPlan:
    """Where each column of a file goes."""

    fields: dict[str, str]  # column -> field
    special: dict[str, str] = field(default_factory=dict)  # title/owner/stage -> column
    ignored: tuple[str, ...] = ()

    def column_of(self, name: str) -> str:
        """The file's column that holds field (or special column) ``name``; blank if none."""
        for column, target in self.fields.items():
            if target == name:
                return column
        return self.special.get(name, "")


def plan(kind: KindSpec, columns: list[str], mapping: dict[str, str], file_name: str) -> ColumnPlan:
    """Place every column of ``columns`` for ``kind``; refuse unknown columns and bad maps."""
    known = [*kind.fields, *SPECIAL]
    missing = [c for c in mapping if c not in columns]
    if missing:
        names = ", ".join(f"'{c}'" for c in missing)
        listed = ", ".join(columns) or "none"
        raise InvalidInput(
            _(
                "--map names column(s) {names} that {file_name} lacks (it has: {listed})",
                names=names,
                file_name=file_name,
                listed=listed,
            )
        )
    bad = {c: t for c, t in mapping.items() if t != IGNORE and t not in known}
    if bad:
        text = ", ".join(f"{c}={t}" for c, t in bad.items())
        raise InvalidInput(
            _(
                "--map {text}: {kind} has no such field (fields: {names}; or {names2}, or - to "
                "ignore the column)",
                text=text,
                kind=kind.name,
                names=", ".join(kind.fields),
                names2=", ".join(SPECIAL),
            )
        )
    # --map first, then a field's own name, then the aliases the kind's plugin declared
    targets = {c: mapping.get(c, c if c in known else kind.aliases.get(c, c)) for c in columns}
    unknown = [c for c, t in targets.items() if t != IGNORE and t not in known]
    if unknown:
        names = ", ".join(f"'{c}'" for c in unknown)
        raise InvalidInput(
            _(
                "{file_name}: unknown column(s) {names} for {kind} (fields: {names2}; also "
                "{names3}); rename with --map COLUMN=FIELD or ignore with --map COLUMN=-",
                file_name=file_name,
                names=names,
                kind=kind.name,
                names2=", ".join(kind.fields),
                names3=", ".join(SPECIAL),
            )
        )
    by_target: dict[str, list[str]] = {}
    for column, target in targets.items():
        if target != IGNORE:
            by_target.setdefault(target, []).append(column)
    twice = {t: cs for t, cs in by_target.items() if len(cs) > 1}
    if twice:
        text = "; ".join(f"'{t}' from {', '.join(cs)}" for t, cs in twice.items())
        raise InvalidInput(
            _(
                "{file_name}: two columns fill the same field: {text} (ignore one with --map "
                "COLUMN=-)",
                file_name=file_name,
                text=text,
            )
        )
    fields = {c: t for c, t in targets.items() if t in kind.fields and t not in SPECIAL}
    special = {t: c for c, t in targets.items() if t in SPECIAL}
    ignored = tuple(c for c, t in targets.items() if t == IGNORE)
    return ColumnPlan(fields, special, ignored)
