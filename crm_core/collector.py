"""Keeping Python's cyclic garbage collector off the objects a long job starts with.

A process that has imported SQLAlchemy, pluggy, Textual and the plugins holds
a few hundred thousand long-lived objects. Every full collection walks all of
them: about 100 ms here, a stall when it falls on a key press in the TUI, and
about a sixth of an import's time. Frozen (``gc.freeze``), they are skipped;
thawed, the collector sees them again. Nothing is freed or kept differently:
only collections get cheaper while something is frozen.

Freezing nests: the heap thaws when the last :func:`thaw` matches the first
:func:`freeze` (an import run from the TUI must not thaw the TUI's heap).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0


def freeze() -> None:
    """Move every object that exists now out of the collector's sight, until :func:`thaw`."""
    global _depth
    with _lock:
        _depth += 1
        gc.freeze()


def thaw() -> None:
    """Undo one :func:`freeze`; the last one lets the collector see every object again."""
    global _depth
    with _lock:
        _depth -= 1
        if _depth == 0:
            gc.unfreeze()


@contextmanager
def frozen() -> Iterator[None]:
    """:func:`freeze` for the block's duration."""
    freeze()
    try:
        yield
    finally:
        thaw()
