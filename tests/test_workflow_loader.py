"""Workflow files: the shipped one is valid; each kind of mistake is located and refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_core.api import Crm
from crm_core.cli.main import app
from crm_core.workflow.loader import check_text, workflow_schema

LEADS = Path(__file__).parent.parent / "workflows" / "leads.yaml"

BASE = """\
workflow: w
version: 1
kind: lead
stages:
  - id: new
  - id: contacted
  - id: won
    outcome: won
  - id: lost
    outcome: lost
    lost_reasons: [no_budget]
"""


def test_shipped_workflow_is_valid(crm: Crm) -> None:
    result = crm.check_workflow(LEADS)
    assert result.problems == []
    assert result.workflow is not None
    assert result.workflow.stage_ids == ["new", "contacted", "qualified", "won", "lost"]


def test_default_moves_are_one_step_forward_plus_lost(crm: Crm) -> None:
    workflow = check_text(BASE, "w.yaml", crm.registry).workflow
    assert workflow is not None
    assert workflow.moves() == {
        "new": {"contacted", "lost"},
        "contacted": {"won", "lost"},
        "won": set(),
        "lost": set(),
    }


@pytest.mark.parametrize(
    ("text", "line", "column", "key", "words"),
    [
        ("workflow: w\n  bad: [\n", 2, 6, "", "YAML syntax"),
        (BASE + "colour: red\n", 12, 1, "colour", "unknown key"),
        (BASE.replace("version: 1", "version: one"), 2, 10, "version", "not of type 'integer'"),
        (BASE + "transitions:\n  - {from: new, to: contactd}\n", 13, 21, "transitions[0].to",
         "unknown stage 'contactd'"),
        (BASE + "transitions:\n  - {from: new, to: won}\n", 6, 9, "stages[1].id",
         "cannot be reached"),
        (BASE + "assignment:\n  rules:\n    - when: {stage: new}\n      team: a\n"
         "    - when: {stage: new}\n      team: b\n", 16, 13, "assignment.rules[1].when",
         "never fires"),
        (BASE.replace("kind: lead", "kind: lead\nkind: member"), 4, 1, "kind", "duplicate key"),
        (BASE.replace("  - id: contacted", "  - id: contacted\n    require: [shoe_size]"), 7, 15,
         "stages[1].require[0]", "no field 'shoe_size'"),
        (BASE.replace("lost_reasons: [no_budget]", "probability: 0"), 9, 5, "stages[3]",
         "needs lost_reasons"),
        (BASE + "transitions:\n  - from: new\n    to: contacted\n"
         "    when: {field: budget, gt: x}\n",
         15, 31, "transitions[0].when.gt", "compares with a number"),
        (BASE + "transitions:\n  - from: new\n    to: contacted\n"
         "    when: {field: hair, eq: red}\n",
         15, 19, "transitions[0].when.field", "no field 'hair'"),
        (BASE + "pools:\n  - id: p\n    return:\n      - id: r\n        when: {colour: red}\n",
         16, 15, "pools[0].return[0].when", "unknown condition"),
        (BASE.replace("kind: lead", "kind: spaceship"), 3, 7, "kind", "no kind 'spaceship'"),
    ],
)  # fmt: skip
def test_mistakes_are_located(
    crm: Crm, text: str, line: int, column: int, key: str, words: str
) -> None:
    result = check_text(text, "w.yaml", crm.registry)
    assert result.workflow is None
    assert result.problems, "a broken workflow must be refused"
    first = result.problems[0]
    assert (first.file, first.line, first.column, first.key) == ("w.yaml", line, column, key)
    assert words in first.message


LOOP = BASE.replace("  - id: contacted\n", "  - id: a\n  - id: b\n") + (
    "transitions:\n  - {from: new, to: [a, won, lost]}\n"
    "  - {from: a, to: b}\n  - {from: b, to: a}\n"
)


def test_a_loop_with_no_way_to_an_outcome_is_refused_at_each_stage(crm: Crm) -> None:
    result = check_text(LOOP, "w.yaml", crm.registry)
    assert result.workflow is None
    assert [(p.line, p.column, p.key, p.message) for p in result.problems] == [
        (6, 9, "stages[1].id", "stage 'a' can never reach an outcome (lost, won)"),
        (7, 9, "stages[2].id", "stage 'b' can never reach an outcome (lost, won)"),
    ]
    way_out = check_text(LOOP + "  - {from: b, to: lost}\n", "w.yaml", crm.registry)
    assert way_out.problems == [] and way_out.workflow is not None
    no_outcome = "workflow: w\nversion: 1\nkind: lead\nstages:\n  - id: new\n  - id: done\n"
    result = check_text(no_outcome, "w.yaml", crm.registry)
    assert [p.message for p in result.problems] == [
        f"stage '{s}' can never reach an outcome (no stage has outcome: won or lost)"
        for s in ("new", "done")
    ]


def test_cli_validate_exit_codes(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE + "colour: red\n", encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(app, ["--db", db_url, "workflow", "validate", str(LEADS)])
    assert ok.exit_code == 0, ok.output
    assert "ok " in ok.output
    wrong = runner.invoke(app, ["--db", db_url, "workflow", "validate", str(LEADS), str(bad)])
    assert wrong.exit_code == 2
    assert f"{bad}:12:1: colour: unknown key" in wrong.output
    missing = runner.invoke(app, ["--db", db_url, "workflow", "validate", str(tmp_path / "no")])
    assert missing.exit_code == 2
    assert "cannot read" in missing.output


def test_schema_command_prints_the_schema(db_url: str) -> None:
    result = CliRunner().invoke(app, ["--db", db_url, "workflow", "schema"])
    assert result.exit_code == 0
    assert '"stages"' in result.output
    assert workflow_schema()["required"] == ["workflow", "version", "kind", "stages"]
