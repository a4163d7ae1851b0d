"""Making the next item of an iterator in a background thread while the caller uses this one.

An import on PostgreSQL spends most of a batch waiting for the server to
write it, with Python's lock released; checking the next batch's rows in
that time is what lets the two processes work at once. (On SQLite the
writing is many short calls in this process, each waiting for the lock the
checking thread holds, and it measured slower: see bench/README.md.)
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def one_ahead(items: Iterable[T]) -> Iterator[T]:
    """Yield ``items`` in order, making the next ones in a thread while the caller works.

    The thread runs at most two items ahead. An exception raised while making
    an item is raised here when the caller asks for that item, so everything
    before it has been used first. Closing the generator (or an exception in
    the caller) stops the thread once the item it is making is done.
    """
    handoff: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                handoff.put(("item", item))
                if stop.is_set():
                    return
            handoff.put(("end", None))
        except BaseException as exc:  # handed to the caller, who raises it in its own thread
            handoff.put(("error", exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="crm-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            what, value = handoff.get()
            if what == "end":
                return
            if what == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # take what it hands over, so that it can see the stop
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.05)
        thread.join()
