"""``one_ahead``: items in order, errors where they belong, and a thread that stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from crm_core.transfer.ahead import one_ahead


def test_items_come_in_order_and_are_made_in_another_thread() -> None:
    makers: set[str] = set()

    def items() -> Iterator[int]:
        for i in range(50):
            makers.add(threading.current_thread().name)
            yield i

    assert list(one_ahead(items())) == list(range(50))
    assert makers == {"crm-read-ahead"}


def test_an_error_comes_after_the_items_made_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("row 3 is bad")

    got = []
    with pytest.raises(ValueError, match="row 3 is bad"):
        for item in one_ahead(items()):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_stops_the_thread_and_closes_the_source() -> None:
    made: list[int] = []
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            for i in range(10_000):
                made.append(i)
                yield i
        finally:
            closed.set()

    ahead = one_ahead(items())
    assert next(ahead) == 0
    ahead.close()
    assert closed.is_set()
    assert len(made) <= 4  # the one used, at most two made ahead, and the one being made
    assert not [t for t in threading.enumerate() if t.name == "crm-read-ahead"]


def test_an_error_in_the_caller_stops_the_thread() -> None:
    def items() -> Iterator[int]:
        yield from range(10_000)

    with pytest.raises(RuntimeError):
        for item in one_ahead(items()):
            if item == 3:
                raise RuntimeError("the write failed")
    assert not [t for t in threading.enumerate() if t.name == "crm-read-ahead"]
