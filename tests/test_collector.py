"""Freezing the heap for long jobs nests, and every job thaws what it froze."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from crm_core import collector, hookimpl
from crm_core.api import Crm


def test_the_heap_thaws_when_the_last_freeze_is_undone() -> None:
    assert gc.get_freeze_count() == 0
    with collector.frozen():
        assert gc.get_freeze_count() > 0
        with collector.frozen():  # an import inside a frozen TUI, say
            pass
        assert gc.get_freeze_count() > 0  # the inner thaw left the outer freeze alone
    assert gc.get_freeze_count() == 0


def test_the_heap_thaws_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError), collector.frozen():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0


class _Watcher:
    """A plugin rule that notes whether the heap is frozen while rows are checked."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    @hookimpl
    def crm_validate_record(self, kind: str, fields: dict[str, object]) -> list[tuple[str, str]]:
        self.seen.append(gc.get_freeze_count())
        return []


def test_an_import_checks_its_rows_with_the_heap_frozen_and_thaws_it(
    db_url: str, tmp_path: Path
) -> None:
    watcher = _Watcher()
    crm = Crm.open(db_url, extra_plugins=[("watcher", watcher)])
    try:
        path = tmp_path / "leads.csv"
        path.write_text("name,phone\nAna,13800001111\nBo,13900002222\n", encoding="utf-8")
        assert crm.import_records("admin", "lead", path).created == 2
    finally:
        crm.close()
    assert len(watcher.seen) == 2 and all(count > 0 for count in watcher.seen)
    assert gc.get_freeze_count() == 0
