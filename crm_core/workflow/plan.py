"""What applying a workflow file would change, worked out before anything is written.

Pure functions over two workflow definitions (the applied one, if any, and the
new one), the number of live records in each stage and the caller's
``--map OLD=NEW`` pairs. ``crm workflow plan`` prints the result;
``Crm.apply_workflow`` refuses to apply when it has blockers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from crm_core.errors import InvalidInput, quote
from crm_core.i18n import _

NOT_COMPARED = ("workflow", "version", "kind", "stages")
"""Top-level keys that are not reported as changed sections (stages are compared one by one)."""


@dataclass
class RemovedStage:
    """A stage of the applied workflow that the new file no longer has."""

    id: str
    live: int
    """Live (not archived) records of the kind in this stage now."""
    to: str | None
    """Where ``--map`` sends those records, if anywhere."""


@dataclass
class RenamedStage:
    """A stage that keeps its id with a new label, or an old id mapped to a new one."""

    old: str
    new: str
    old_label: Any
    new_label: Any
    mapped: bool
    """True when the caller mapped ``old`` to ``new`` with ``--map``."""


@dataclass
class WorkflowPlan:
    """The difference between the applied workflow of a kind and a new file."""

    workflow: str
    kind: str
    old_version: int | None
    new_version: int
    added: list[str] = field(default_factory=list)
    removed: list[RemovedStage] = field(default_factory=list)
    renamed: list[RenamedStage] = field(default_factory=list)
    reordered: bool = False
    changed_stages: list[str] = field(default_factory=list)
    changed_sections: list[str] = field(default_factory=list)
    unstaged: int = 0
    """Live records of the kind that are not yet in a stage (never a blocker)."""
    mapping: dict[str, str] = field(default_factory=dict)
    blockers: list[str] = field(default_factory=list)
    missing_users: list[str] = field(default_factory=list)
    """Users the file names that do not exist: ``apply`` refuses them unless
    ``--create-users`` (so they are not a blocker of the plan)."""

    @property
    def ok(self) -> bool:
        """True when ``apply`` would succeed."""
        return not self.blockers

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (the dataclass fields plus ``ok``)."""
        return {**dataclasses.asdict(self), "ok": self.ok}


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """Split ``OLD=NEW`` options into a dict; malformed or contradictory pairs are refused."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        old, sep, new = (part.strip() for part in pair.partition("="))
        if not sep or not old or not new:
            raise InvalidInput(
                _("--map expects OLD=NEW (two stage ids), got {pair}", pair=quote(pair))
            )
        if out.get(old, new) != new:
            raise InvalidInput(
                _(
                    "--map maps stage '{old}' twice: to '{value}' and to '{new}'",
                    old=old,
                    value=out[old],
                    new=new,
                )
            )
        out[old] = new
    return out


def check_mapping(old: dict[str, Any] | None, new: dict[str, Any], mapping: dict[str, str]) -> None:
    """Refuse a mapping whose OLD is not a stage the new file drops or whose NEW is unknown."""
    if not mapping:
        return
    if old is None:
        raise InvalidInput(
            _(
                "no workflow is applied to {kind} yet, so --map has no stages to map from",
                kind=new["kind"],
            )
        )
    old_ids, new_ids = stage_ids(old), stage_ids(new)
    for source, target in mapping.items():
        if source not in old_ids:
            raise InvalidInput(
                _(
                    "--map {source}={target}: '{source}' is not a stage of the applied workflow "
                    "{workflow} v{version} ({names})",
                    source=source,
                    target=target,
                    workflow=old["workflow"],
                    version=old["version"],
                    names=", ".join(old_ids),
                )
            )
        if source in new_ids:
            raise InvalidInput(
                _(
                    "--map {source}={target}: the new file keeps stage '{source}'; --map is only "
                    "for stages it removes",
                    source=source,
                    target=target,
                )
            )
        if target not in new_ids:
            raise InvalidInput(
                _(
                    "--map {source}={target}: '{target}' is not a stage of {workflow} v{version} "
                    "({names})",
                    source=source,
                    target=target,
                    workflow=new["workflow"],
                    version=new["version"],
                    names=", ".join(new_ids),
                )
            )


def stage_ids(definition: dict[str, Any]) -> list[str]:
    """A definition's stage ids in pipeline order."""
    return [s["id"] for s in definition["stages"]]


def make_plan(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    live: dict[str | None, int],
    mapping: dict[str, str] | None = None,
) -> WorkflowPlan:
    """Compare the applied definition ``old`` (None: nothing applied) with ``new``.

    ``live`` counts the kind's live records per stage (``None``: not yet in a
    stage). Raises :class:`InvalidInput` for a bad ``mapping``; what would make
    ``apply`` refuse is listed in the plan's ``blockers``.
    """
    mapping = dict(mapping or {})
    check_mapping(old, new, mapping)
    before = {s["id"]: s for s in (old or {}).get("stages", [])}
    after = {s["id"]: s for s in new["stages"]}
    plan = WorkflowPlan(
        workflow=new["workflow"],
        kind=new["kind"],
        old_version=old["version"] if old else None,
        new_version=new["version"],
        unstaged=live.get(None, 0),
        mapping=mapping,
    )
    targets = set(mapping.values())
    plan.added = [s for s in after if s not in before and s not in targets]
    # Stages only the records know (not in either definition) are dropped too.
    dropped = [s for s in before if s not in after]
    dropped += [s for s in live if s is not None and s not in after and s not in before]
    plan.removed = [RemovedStage(s, live.get(s, 0), mapping.get(s)) for s in dropped]
    for stage_id, stage in after.items():
        was = before.get(stage_id)
        if was is None:
            continue
        if was.get("label") != stage.get("label"):
            plan.renamed.append(
                RenamedStage(stage_id, stage_id, was.get("label"), stage.get("label"), False)
            )
        if _without_label(was) != _without_label(stage):
            plan.changed_stages.append(stage_id)
    for source, target in mapping.items():
        label = before[source].get("label")
        plan.renamed.append(RenamedStage(source, target, label, after[target].get("label"), True))
    kept = [s for s in before if s in after]
    plan.reordered = kept != [s for s in after if s in before]
    keys = sorted((set(old or {}) | set(new)) - set(NOT_COMPARED))
    plan.changed_sections = [k for k in keys if (old or {}).get(k) != new.get(k)]
    plan.blockers = _blockers(old, new, plan)
    return plan


def _without_label(stage: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stage.items() if k != "label"}


def _blockers(old: dict[str, Any] | None, new: dict[str, Any], plan: WorkflowPlan) -> list[str]:
    out = []
    if old is not None and old["workflow"] != new["workflow"]:
        out.append(f"{new['kind']} already runs workflow {old['workflow']}")
    choices = ", ".join(stage_ids(new))
    for stage in plan.removed:
        if stage.live and stage.to is None:
            out.append(
                f"the new workflow drops a stage in use: '{stage.id}' holds {stage.live} "
                f"record(s); keep it, or move them with --map {stage.id}=NEW "
                f"(NEW one of: {choices})"
            )
    return out
