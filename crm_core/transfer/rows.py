"""One row of an import file made into a candidate record, checked as ``add_record`` checks it.

CSV text is coerced by the registry (the rules of ``--set FIELD=VALUE``;
an empty cell leaves the field unset), JSON Lines values are taken as typed.
Then the kind's defaults are filled in and :func:`crm_core.records.checker`
(``check_values`` with the plugins' hooks looked up once a batch) validates
the values (schema, then every plugin's ``crm_validate_record``) and computes
their dedupe keys. The title, owner and stage columns are checked here too.
A row that fails becomes a list of :class:`Problem`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from crm_core import permissions, records
from crm_core.errors import FieldError, InvalidInput, NotFound, PermissionDenied, quote
from crm_core.i18n import _
from crm_core.limits import TITLE_MAX
from crm_core.models import User, WorkflowDef
from crm_core.permissions import Actor
from crm_core.records import WriteContext
from crm_core.transfer.columns import ColumnPlan
from crm_core.transfer.readers import RawRow
from crm_core.views import View
from crm_core.workflow import engine


@dataclass
class Problem(View):
    """Why a row was rejected or skipped: its line, the column and field concerned, the reason."""

    line: int
    column: str
    field: str
    reason: str
    skipped: bool = False


@dataclass(slots=True)
class Candidate:
    """A valid row, ready to become a record or to be merged into one."""

    line: int
    given: dict[str, Any]  # the row's own values: what a merge fills in
    values: dict[str, Any]  # with the kind's defaults: what a new record holds
    keys: dict[str, str]  # dedupe field -> normalised key
    title: str
    owner_id: int | None
    stage: str | None


@dataclass
class Setup:
    """What every row of one import is checked against, loaded once at the start."""

    actor: Actor
    users: dict[str, tuple[int, bool]]  # name -> (id, active)
    default_owner: int | None
    stages: list[str] | None  # the applied workflow's stages, if there is one
    workflow: str | None = None
    first_stage: str | None = None

    @classmethod
    def load(cls, ctx: WriteContext, kind: str, owner: str | None) -> Setup:
        """Check that the actor may import, resolve ``owner`` and read the kind's workflow."""
        actor = ctx.actor
        assert actor is not None
        if not actor.is_manager:
            raise PermissionDenied(
                _(
                    "only an admin or a manager may import records; {actor} is {role}",
                    actor=actor.name,
                    role=actor.role,
                )
            )
        rows = ctx.session.exec(select(User.name, User.id, User.active)).all()
        users = {name: (uid, active) for name, uid, active in rows if uid is not None}
        default_owner = None
        if owner is not None:
            if owner not in users:
                raise NotFound(_("no user '{owner}'", owner=owner))
            uid, active = users[owner]
            if not active:
                raise InvalidInput(
                    _("user '{owner}' is inactive and cannot own records", owner=owner)
                )
            permissions.check_owner_choice(actor, uid, owner)
            default_owner = uid
        workflow: WorkflowDef | None = engine.applied(ctx.session, kind)
        stages = [s["id"] for s in workflow.definition["stages"]] if workflow else None
        return cls(
            actor,
            users,
            default_owner,
            stages,
            workflow.name if workflow else None,
            stages[0] if stages else None,
        )


class RowMaker:
    """Turns raw rows of one file into candidates (or problems) for one kind."""

    def __init__(self, kind: str, columns: ColumnPlan, typed: bool, setup: Setup) -> None:
        self.kind = kind
        self.columns = columns
        self.typed = typed  # JSON Lines: values are typed already; CSV: text to coerce
        self.setup = setup
        self._owners: dict[str, int | Problem] = {}
        self._names: dict[int, str] | None = None
        self._text_only: bool | None = None

    def for_batch(
        self, ctx: WriteContext, check: records.Check
    ) -> Callable[[RawRow], Candidate | list[Problem]]:
        """The check of one row of a batch: its candidate, or every problem found in it.

        ``check`` is :func:`crm_core.records.checker` of the kind, made once a
        batch. What is the same for every row (the kind's defaults and title,
        the columns) is looked up here, once, not once a row.
        """
        kind = self.kind
        registry = ctx.registry
        fields = tuple(self.columns.fields.items())
        special = bool(self.columns.special)
        typed = self.typed
        all_text = typed or self._all_text(ctx)  # JSON Lines values are never coerced
        defaults = registry.defaults(kind)
        title_of = records.titler(registry, kind)
        default_owner, first_stage = self.setup.default_owner, self.setup.first_stage

        def make(row: RawRow) -> Candidate | list[Problem]:
            raw = row.values
            problems: list[Problem] = []
            if special:
                title = self._text(row, "title", problems)
                if title is not None and len(title) > TITLE_MAX:
                    why = f"is {len(title):,} characters long; at most {TITLE_MAX:,}"
                    problems.append(self.problem(row.line, "title", why))
                    title = None
                owner_id = self._owner(row, self._text(row, "owner", problems), problems)
                stage = self._stage(row, self._text(row, "stage", problems), problems)
            else:  # what the three lookups give a file without those columns, for every row
                title, owner_id, stage = None, default_owner, first_stage
            if typed:
                given = {f: v for c, f in fields if (v := raw.get(c)) is not None}
            else:
                # An empty cell unsets its field, and coercion leaves a string field's text as
                # it is; so only the other fields' cells go through it (most files have none).
                given = {f: t for c, f in fields if (t := raw.get(c)) is not None and t != ""}
            if not all_text:
                try:
                    coerced = registry.coerce(kind, given)
                except FieldError as exc:
                    return problems + self._problems(row.line, exc)
                given = {k: v for k, v in coerced.items() if v is not None}
            # The kind's defaults after the row's own values, in field order.
            values = dict(given)
            for name, default in defaults:
                if name not in values:
                    values[name] = default
            owner = None if owner_id is None else self._owner_name(owner_id)
            try:
                keys = check(values, None, stage_after=stage, owner=owner)
            except FieldError as exc:
                return problems + self._problems(row.line, exc)
            if problems:
                return problems
            return Candidate(
                row.line, given, values, keys, title or title_of(values), owner_id, stage
            )

        return make

    def _all_text(self, ctx: WriteContext) -> bool:
        """True when every field the file fills is a string field: its text is its value."""
        if self._text_only is None:
            fields = ctx.registry.kind(self.kind).fields
            self._text_only = all(fields[f].type == "string" for f in self.columns.fields.values())
        return self._text_only

    def problem(self, line: int, name: str, reason: str, *, skipped: bool = False) -> Problem:
        """A problem with field (or special column) ``name``, naming the file's column too."""
        return Problem(line, self.columns.column_of(name), name, reason, skipped)

    def _problems(self, line: int, exc: FieldError) -> list[Problem]:
        return [self.problem(line, name, why) for name, why in exc.problems]

    def _text(self, row: RawRow, name: str, problems: list[Problem]) -> str | None:
        column = self.columns.special.get(name)
        if column is None:
            return None
        value = row.values.get(column)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            problems.append(self.problem(row.line, name, f"{quote(value)} is not text"))
            return None
        return value

    def _owner(self, row: RawRow, name: str | None, problems: list[Problem]) -> int | None:
        if name is None:
            return self.setup.default_owner
        found = self._owners.get(name)
        if found is None:
            found = self._owners[name] = self._resolve(row.line, name)
        if isinstance(found, Problem):
            problems.append(Problem(row.line, found.column, found.field, found.reason))
            return None
        return found

    def _owner_name(self, owner_id: int) -> str | None:
        if self._names is None:
            self._names = {uid: name for name, (uid, _active) in self.setup.users.items()}
        return self._names.get(owner_id)

    def _resolve(self, line: int, name: str) -> int | Problem:
        user = self.setup.users.get(name)
        if user is None:
            return self.problem(line, "owner", f"no user '{name}'")
        uid, active = user
        if not active:
            return self.problem(line, "owner", f"user '{name}' is inactive and cannot own records")
        try:
            permissions.check_owner_choice(self.setup.actor, uid, name)
        except PermissionDenied as exc:
            return self.problem(line, "owner", str(exc))
        return uid

    def _stage(self, row: RawRow, stage: str | None, problems: list[Problem]) -> str | None:
        stages = self.setup.stages
        if stage is None:
            return self.setup.first_stage
        if stages is not None and stage not in stages:
            problems.append(
                self.problem(
                    row.line,
                    "stage",
                    f"no stage '{stage}' in workflow {self.setup.workflow} ({', '.join(stages)})",
                )
            )
        return stage
