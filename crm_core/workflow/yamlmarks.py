"""YAML loading that remembers where every value came from (line and column)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One located error in a YAML file."""

    file: str
    line: int
    column: int
    key: str
    message: str

    def __str__(self) -> str:
        key = f" {self.key}:" if self.key else ""
        return f"{self.file}:{self.line}:{self.column}:{key} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """Return the stable JSON form."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "key": self.key,
            "message": self.message,
        }


@dataclass
class Located:
    """A parsed YAML document and the position of every value and mapping key in it."""

    file: str
    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def where(self, path: Path, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of ``path``, or of its nearest located parent."""
        table = self.keys if key and path in self.keys else self.values
        while path and path not in table:
            path = path[:-1]
            table = self.values
        return table.get(path, (1, 1))

    def problem(self, path: Path, message: str, key: bool = False) -> Problem:
        """Build a problem located at ``path``, named by the dotted path."""
        line, column = self.where(path, key)
        return Problem(self.file, line, column, dotted(path), message)

    def unknown_keys(self, error: Any) -> list[Problem] | None:
        """For jsonschema's ``additionalProperties`` error on a mapping, one problem per key
        it does not allow, placed on the key and naming the keys it does; else None."""
        if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
            return None
        path = tuple(error.absolute_path)
        allowed = set(error.schema.get("properties", {}))
        known = ", ".join(sorted(allowed))
        return [
            self.problem((*path, key), f"unknown key (expected one of: {known})", True)
            for key in sorted(set(error.instance) - allowed)
        ]


def dotted(path: Path) -> str:
    """Render ``("stages", 2, "id")`` as ``stages[2].id``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load(text: str, file: str) -> Located:
    """Parse ``text``; syntax errors and duplicate keys become problems, not exceptions."""
    # Imported when a file is read: the modules that import this one mostly read none.
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax: {exc.problem or exc.context}"
        return Located(file, None, problems=[Problem(file, line, column, "", message)])
    located = Located(file, None)
    # One constructor turns every scalar into its Python value (int, bool, date…).
    constructor = yaml.SafeLoader("")
    try:
        located.data = _build(node, (), located, constructor) if node is not None else None
    finally:
        constructor.dispose()
    return located


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _build(node: yaml.Node, path: Path, out: Located, constructor: yaml.SafeLoader) -> Any:
    import yaml

    out.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, constructor)
            child = (*path, key)
            out.keys[child] = _mark(key_node)
            if key in result:
                out.problems.append(out.problem(child, f"duplicate key '{key}'", key=True))
            result[key] = _build(value_node, child, out, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), out, constructor) for i, item in enumerate(node.value)]
    return _scalar(node, constructor)


def _scalar(node: yaml.Node, constructor: yaml.SafeLoader) -> Any:
    import yaml

    if not isinstance(node, yaml.ScalarNode):  # a mapping or list used as a key
        return str(node.start_mark)
    return constructor.construct_object(node, deep=True)
