"""Generators for the documentation's reference sections, called from cog blocks.

Each page under ``docs/`` holds ``[[[cog ... ]]]`` blocks that import this
module and print Markdown made from the code itself: the CLI's ``--help``, the
hooks of ``crm_core/hookspecs.py`` and the types they pass, the workflow JSON
Schema and the permission table. ``cog -r -I docs docs/*.md`` rewrites them;
``cog --check`` (in ``tox -e docs`` and ``tests/test_docs.py``) fails when the
code changed and the pages did not.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.metadata
import inspect
import json
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# A fixed width and no colour, so the help text does not depend on the terminal.
HELP_ENV = {
    "COLUMNS": "88",
    "TERM": "dumb",
    "NO_COLOR": "1",
    "FORCE_COLOR": None,
    "TERMINAL_WIDTH": None,
}
HOOK_ROLE = re.compile(r":(func|class|meth|mod|attr):`~?([\w.]+)`")


def page(sections: list[str]) -> str:
    """Join Markdown sections for a cog block, with the blank lines around them Markdown needs."""
    return "\n" + "\n\n".join(s.strip("\n") for s in sections) + "\n\n"


# ---------------------------------------------------------------------------
# CLI reference
# ---------------------------------------------------------------------------


def _commands(command: Any, path: list[str]) -> Iterator[list[str]]:
    """Every command path under ``command``, depth first, in the order ``--help`` lists them."""
    yield path
    if hasattr(command, "list_commands"):
        ctx = command.context_class(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not getattr(sub, "hidden", False):
                yield from _commands(sub, [*path, name])


def cli_reference() -> str:
    """Print a section per command of ``crm`` with its ``--help``."""
    import typer
    from typer.testing import CliRunner

    from crm_core.cli.main import app
    from crm_core.plugins import ENTRY_POINT_GROUP

    # The core's commands only: the page must not depend on which plugins are installed.
    installed = {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    env = {**HELP_ENV, "CRM_DISABLED_PLUGINS": ",".join(sorted(installed))}
    runner = CliRunner()
    sections = []
    for path in _commands(typer.main.get_command(app), ["crm"]):
        result = runner.invoke(app, [*path[1:], "--help"], env=env, prog_name="crm")
        if result.exit_code != 0:
            raise RuntimeError(f"{' '.join(path)} --help exited {result.exit_code}")
        text = "\n".join(line.rstrip() for line in result.output.splitlines()).strip("\n")
        level = "#" * min(len(path) + 1, 4)
        sections.append(f"{level} {' '.join(path)}\n\n```text\n{text}\n```")
    return page(sections)


# ---------------------------------------------------------------------------
# Hook reference
# ---------------------------------------------------------------------------


def _docstring_markdown(doc: str, links: dict[str, str]) -> str:
    """Turn a reST-flavoured docstring into Markdown.

    Double backquotes become single ones, a ``:class:`` (``:func:``, ...) role
    a link when ``links`` knows its target, a paragraph ending in ``::`` a
    fenced Python block, and nested lists get the indentation Markdown wants.
    """
    text = inspect.cleandoc(doc)

    def role(match: re.Match[str]) -> str:
        name = match.group(2)
        short = name.rsplit(".", 1)[-1]
        target = links.get(name) or links.get(short)
        return f"[`{short}`]({target})" if target else f"`{short}`"

    text = HOOK_ROLE.sub(role, text)
    text = text.replace("``", "`")
    lines = text.splitlines()
    result: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::") and not line.lstrip().startswith(("-", "*")):
            head = line.rstrip()[:-2].rstrip()
            if head:
                result.append(head + ":")
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            code = textwrap.dedent("\n".join(block)).strip("\n")
            result += ["", "```python", *code.splitlines(), "```", ""]
            continue
        # Docstrings indent nested lists by two spaces; Markdown wants four.
        indent = len(line) - len(line.lstrip(" "))
        result.append(" " * indent + line)
        i += 1
    return "\n".join(result).strip()


def _phases(source: str) -> dict[int, str]:
    """Map each hook's line to the comment heading above it (a ``# Title`` between ``# ---``)."""
    lines = source.splitlines()
    headings: list[tuple[int, str]] = []
    for n in range(len(lines) - 2):
        if (
            lines[n].startswith("# ---")
            and lines[n + 2].startswith("# ---")
            and lines[n + 1].startswith("# ")
        ):
            headings.append((n + 1, lines[n + 1][2:].strip()))
    tree = ast.parse(source)
    phases: dict[int, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            above = [title for line, title in headings if line < node.lineno]
            phases[node.lineno] = above[-1] if above else "Hooks"
    return phases


def _hooks() -> list[tuple[str, ast.FunctionDef, Callable[..., Any]]]:
    """The hooks of ``crm_core.hookspecs`` in source order, with their phase heading."""
    from crm_core import hookspecs

    source = inspect.getsource(hookspecs)
    phases = _phases(source)
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            function = getattr(hookspecs, node.name)
            if hasattr(function, "crm_spec"):
                found.append((phases[node.lineno], node, function))
    return found


def _signature(node: ast.FunctionDef) -> str:
    """The hook's signature as written in hookspecs.py, wrapped like ruff format would."""
    args = [ast.unparse(a) for a in node.args.args]
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    one_line = f"def {node.name}({', '.join(args)}){returns}: ..."
    if len(one_line) <= 88:
        return one_line
    inner = "".join(f"    {a},\n" for a in args)
    return f"def {node.name}(\n{inner}){returns}: ..."


def _annotation_types() -> dict[str, str]:
    """The crm_core types hookspecs.py imports for its annotations, by name: ``{name: dotted}``."""
    from crm_core import hookspecs

    found = {}
    for node in ast.walk(ast.parse(inspect.getsource(hookspecs))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crm_core"):
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def _payload_names() -> list[str]:
    """The types the hooks pass: named in their annotations or docstrings, in order of mention."""
    imported = _annotation_types()
    names: list[str] = []
    for _, node, function in _hooks():
        mentioned = [
            imported[n.id]
            for n in ast.walk(node.args)
            if isinstance(n, ast.Name) and n.id in imported
        ]
        # Only classes are payloads: a :meth: or :func: names something a plugin calls.
        mentioned += [n for role, n in HOOK_ROLE.findall(function.__doc__ or "") if role == "class"]
        for name in mentioned:
            if "." in name and name not in names and name != "crm_core.api.Crm":
                names.append(name)
    return names


def _links() -> dict[str, str]:
    links = {"crm_core.api.Crm": "api.md#crm_core.api.Crm"}
    for _, node, _ in _hooks():
        links[node.name] = f"#{node.name}"
    for name in _payload_names():
        short = name.rsplit(".", 1)[-1]
        links[name] = links[short] = f"#{short.lower()}"
    return links


def hook_reference() -> str:
    """Print hookspecs.py's introduction, then every hook under its phase.

    Each hook gets its signature, whether it is firstresult, and its docstring.
    """
    from crm_core import hookspecs

    links = _links()
    intro = _docstring_markdown(hookspecs.__doc__ or "", links).split("\n\n", 1)[1]
    phase = None
    sections = ["## How plugins and hooks work", intro]
    for heading, node, function in _hooks():
        if heading != phase:
            phase = heading
            sections.append(f"## {heading.replace('``', '`')}")
        options = function.crm_spec  # type: ignore[attr-defined]
        result = (
            "**firstresult**: the first implementation that returns something other "
            "than `None` wins and the rest are not called."
            if options.get("firstresult")
            else "Every plugin's implementation is called (not firstresult)."
        )
        doc = _docstring_markdown(function.__doc__ or "", links)
        sections.append(
            f"### {node.name}\n\n```python\n{_signature(node)}\n```\n\n{result}\n\n{doc}"
        )
    return page(sections)


def hook_index() -> str:
    """Print a table of the hooks: name (linked to the reference), phase, summary."""
    rows = ["| hook | when | what it is for |", "|---|---|---|"]
    for heading, node, function in _hooks():
        summary = inspect.cleandoc(function.__doc__ or "").split("\n\n")[0].replace("\n", " ")
        phase = heading.split(":")[0].replace("``", "`")
        summary = _docstring_markdown(summary, {})
        rows.append(f"| [`{node.name}`](hooks.md#{node.name}) | {phase} | {_cell(summary)} |")
    return page(["\n".join(rows)])


def _field_notes(cls: type) -> dict[str, str]:
    """Attribute docstrings and end-of-line comments of a class's annotated fields."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    notes: dict[str, str] = {}
    for index, item in enumerate(body.body):
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            name = item.target.id
            after = body.body[index + 1] if index + 1 < len(body.body) else None
            if (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                notes[name] = " ".join(inspect.cleandoc(after.value.value).split())
            elif "  # " in lines[item.lineno - 1]:
                notes[name] = lines[item.lineno - 1].split("  # ", 1)[1].strip()
    return notes


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        return f"`{field.default!r}`"
    if field.default_factory is not dataclasses.MISSING:
        return f"`{getattr(field.default_factory, '__name__', 'factory')}()`"
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _public_members(cls: type, links: dict[str, str]) -> list[tuple[str, str, str]]:
    """``(name, signature, first docstring line)`` of a class's own public methods."""
    members = []
    for name, value in vars(cls).items():
        if name.startswith("_") or not (inspect.isfunction(value) or isinstance(value, property)):
            continue
        if isinstance(value, property):
            function, signature = value.fget, ""
        else:
            function, full = value, inspect.signature(value)
            # Drop ``self``: the reader calls these on an instance.
            params = list(full.parameters.values())[1:]
            signature = str(full.replace(parameters=params)).replace("'", "")
        summary = (inspect.getdoc(function) or "").split("\n\n")[0].replace("\n", " ")
        summary = _docstring_markdown(summary, links)
        members.append((name, signature, summary))
    return members


def payload_reference() -> str:
    """Print each type the hooks pass: docstring, fields with types and defaults, methods."""
    links = _links()
    sections = []
    for dotted in _payload_names():
        module_name, name = dotted.rsplit(".", 1)
        cls: type = getattr(importlib.import_module(module_name), name)
        doc = _docstring_markdown(cls.__doc__ or "", links)
        parts = [f"### {name}", f"`{dotted}`", doc]
        if dataclasses.is_dataclass(cls):
            notes = _field_notes(cls)
            rows = ["| field | type | default | notes |", "|---|---|---|---|"]
            for field in dataclasses.fields(cls):
                kind = field.type if isinstance(field.type, str) else repr(field.type)
                rows.append(
                    f"| `{field.name}` | `{_cell(kind)}` | {_default(field)} "
                    f"| {_cell(notes.get(field.name, ''))} |"
                )
            parts.append("\n".join(rows))
        members = _public_members(cls, links)
        if members:
            parts.append("\n".join(f"- `{n}{sig}`: {summary}" for n, sig, summary in members))
        sections.append("\n\n".join(parts))
    return page(sections)


# ---------------------------------------------------------------------------
# Workflow YAML reference
# ---------------------------------------------------------------------------


def _type_of(spec: dict[str, Any]) -> str:
    """A short description of what a JSON Schema accepts."""
    if "$ref" in spec:
        target = spec["$ref"].rsplit("/", 1)[-1]
        return f"[{target}](#{target})"
    if "const" in spec:
        return f"`{json.dumps(spec['const'])}`"
    if "enum" in spec:
        return "one of " + ", ".join(f"`{v}`" for v in spec["enum"])
    if "oneOf" in spec:
        return " or ".join(_type_of(option) for option in spec["oneOf"])
    kind = spec.get("type")
    if kind == "array":
        items = spec.get("items")
        return f"list of {_type_of(items)}" if items else "list"
    if kind == "object" and "properties" in spec:
        return "mapping (below)"
    return f"{kind}" if kind else "any value"


def _limits(spec: dict[str, Any]) -> str:
    words = {
        "minimum": "≥ {}",
        "exclusiveMinimum": "> {}",
        "maximum": "≤ {}",
        "minItems": "at least {} item(s)",
        "pattern": "matches `{}`",
    }
    return ", ".join(text.format(spec[key]) for key, text in words.items() if key in spec)


def _rows(spec: dict[str, Any], prefix: str) -> Iterator[str]:
    """Table rows for an object's keys, nested objects flattened as ``parent.key``."""
    required = set(spec.get("required", []))
    for key, sub in spec.get("properties", {}).items():
        name = prefix + key
        description, limits = sub.get("description", ""), _limits(sub)
        notes = (
            f"{description.rstrip('.')}; {limits}"
            if description and limits
            else description or limits
        )
        yield (
            f"| `{name}` | {_cell(_type_of(sub))} | {'yes' if key in required else ''} "
            f"| {_cell(notes)} |"
        )
        nested = sub.get("items", {}) if sub.get("type") == "array" else sub
        if nested.get("type") == "object" and "properties" in nested:
            yield from _rows(nested, name + ("[]." if nested is not sub else "."))


def _table(spec: dict[str, Any]) -> str:
    head = "| key | type | required | notes |\n|---|---|---|---|\n"
    return head + "\n".join(_rows(spec, ""))


def _definition(name: str, spec: dict[str, Any]) -> str:
    parts = [f"### {name}"]
    if "description" in spec:
        parts.append(spec["description"])
    if "properties" in spec:
        single = spec.get("maxProperties") == 1
        parts.append("Exactly one of these keys." if single else "A mapping.")
        parts.append(_table(spec))
    elif "oneOf" in spec:
        parts.append("One of these forms:")
        for option in spec["oneOf"]:
            if "properties" in option:
                keys = ", ".join(f"`{k}`" for k in option.get("required", []))
                parts.append(f"A mapping with {keys}:" if keys else "A mapping:")
                parts.append(_table(option))
            else:
                parts.append(f"A {_type_of(option)}.")
    else:
        notes = _limits(spec)
        parts.append(_type_of(spec) + (f", {notes}" if notes else "") + ".")
    return "\n\n".join(parts)


def workflow_reference() -> str:
    """Print the workflow file's keys from ``crm_core/workflow/schema.json``."""
    schema = json.loads((ROOT / "crm_core/workflow/schema.json").read_text(encoding="utf-8"))
    sections = [f"## The file\n\n{schema['description']}\n\n{_table(schema)}", "## Parts"]
    sections += [_definition(name, spec) for name, spec in schema["$defs"].items()]
    return page(sections)


def include(path: str, language: str) -> str:
    """Print a file of the repository verbatim in a fenced block."""
    text = (ROOT / path).read_text(encoding="utf-8").rstrip("\n")
    return page([f"```{language}\n{text}\n```"])


# ---------------------------------------------------------------------------
# Permission table
# ---------------------------------------------------------------------------


def permission_table() -> str:
    """Print the permission rules as the README's table."""
    from crm_core import permissions

    return page([permissions.markdown_table()])


# ---------------------------------------------------------------------------
# Import spec entities
# ---------------------------------------------------------------------------


class _KindFieldsAside:
    """The core's registry, seen with no kind's fields: the record entity's own targets."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def kind(self, name: str) -> Any:
        return type("Kind", (), {"fields": {}})()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.registry, name)


def import_entities() -> str:
    """Print every core import entity's target fields (``crm import bundle.yaml``)."""
    from crm_core.fields import Registry
    from crm_core.plugins import PluginHost
    from crm_core.transfer.bundle.registry import CORE

    registry = _KindFieldsAside(Registry(PluginHost(entry_points=False)))
    rows = ["| entity | field | type | required | refers to (found by) |", "|---|---|---|---|---|"]
    for cls in CORE:
        entity = cls()
        targets = entity.targets(registry, "kind" if entity.kinds else None)
        for name, target in targets.items():
            kind = "one of: " + ", ".join(target.choices) if target.choices else target.type
            if target.ref:
                kind = "reference"
            refers = f"{target.ref} ({', '.join(target.by)})" if target.ref else ""
            rows.append(f"| {entity.name} | `{name}` | {_cell(kind)} | "
                        f"{'yes' if target.required else ''} | {refers} |")  # fmt: skip
        if entity.kinds:
            rows.append(f"| {entity.name} | every field of the kind | the field's type | "
                        "as the kind says | |")  # fmt: skip
    return page(["\n".join(rows)])


# ---------------------------------------------------------------------------
# The TUI's first two minutes
# ---------------------------------------------------------------------------


def first_two_minutes() -> str:
    """Print the TUI walkthrough the F1 help shows (``crm_core.tui.walkthrough``) as a list."""
    from crm_core.tui.walkthrough import STEPS

    return page(["\n".join(f"{i}. {step.markdown()}" for i, step in enumerate(STEPS, 1))])
