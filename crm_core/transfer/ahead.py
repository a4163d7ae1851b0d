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
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
SWITCH_INTERVAL_S = 0.001


def one_ahead(items: Iterable[T]) -> Iterator[T]:
    """Yield ``items`` in order, making the next ones in a thread while the caller works.

    The thread runs at most two items ahead. An exception raised while making
    an item is raised here when the caller asks for that item, so everything
    before it has been used first. Closing the generator (or an exception in
    the caller) stops the thread once the item it is making is done. Until
    then the process switches threads every millisecond at most.
    """
    handoff: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)
    stop = threading.Event()
    # While the thread holds Python's lock, a caller whose wait for the server has ended asks
    # for it back; the default switch interval (5 ms) made each statement of a batch wait up
    # to that long (an import of 200,000 rows on PostgreSQL: 16.8 s, and 15.7 s at 1 ms).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL_S))

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
        sys.setswitchinterval(interval)
        stop.set()
        while thread.is_alive():  # take what it hands over, so that it can see the stop
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.05)
        thread.join()
