"""Output of the CLI: readable tables by default, exact JSON with ``--json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from crm_core.views import View


def cell(value: Any) -> str:
    """One value as table text: blank for None, yes/no, JSON, times to the minute."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        value = value.isoformat()
    text = str(value)
    # ISO timestamps are long; minutes are what a reader needs in a table.
    if len(text) >= 19 and text[4:5] == "-" and text[10:11] == "T":
        return text[:16].replace("T", " ")
    return text


def _flat(state: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(state or {})
    out.update(out.pop("fields", None) or {})
    return out


def describe_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """Summarise a journal row as ``key: old → new`` pairs (``key=value`` for a creation)."""
    old, new = _flat(before), _flat(after)
    if not old:
        return ", ".join(f"{k}={cell(v)}" for k, v in new.items() if v not in (None, "", {}))
    return ", ".join(f"{k}: {cell(old.get(k)) or '∅'} → {cell(v) or '∅'}" for k, v in new.items())


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON (views become their ``to_dict``)."""
    if isinstance(data, View):
        data = data.to_dict()
    elif isinstance(data, list):
        data = [d.to_dict() if isinstance(d, View) else d for d in data]
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None) -> None:
    """Print rows as a table with the given columns, or a short note when empty."""
    # rich is imported when a table is printed: most commands print none.
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not rows:
        console.print(f"no {title or 'rows'}")
        return
    out = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*(cell(row.get(c)) for c in columns))
    console.print(out)


def fields_block(pairs: Sequence[tuple[str, Any]]) -> None:
    """Print ``name: value`` lines aligned, for one object."""
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        sys.stdout.write(f"{key.ljust(width)}  {cell(value)}\n")


def views(items: Sequence[View], columns: Sequence[str], as_json: bool, title: str) -> None:
    """Print a list of views as JSON or as a table."""
    if as_json:
        emit_json(list(items))
    else:
        table([i.to_dict() for i in items], columns, title)
