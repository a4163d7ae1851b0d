"""The core's assignment strategies; plugins add more through the same hook.

A strategy is made per scope (a routing rule, or the workflow's default
members) from its members and its saved state, picks one member per record
among those eligible right now, and hands back its state to be saved.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from crm_core.views import RecordSnapshot


@dataclass(frozen=True)
class Member:
    """A user who can receive records in one scope, with the scope's weight, days and caps.

    Attributes:
        user_id: The user's id (the key of a strategy's ``load``).
        name: The user's name.
        weight: The member's weight in the YAML (``weighted`` gives weight 3
            three records for each one of weight 1); 1 when not given.
        working_days: The weekdays the member takes records (Monday is 0);
            None means every day.
        max_open: The member's own cap on open records; None means the
            workflow's ``caps.max_open`` (if any) applies.
        max_per_day: The member's own cap on records received per day; None
            means the workflow's ``caps.max_per_day`` (if any) applies.
    """

    user_id: int
    name: str
    weight: int = 1
    working_days: frozenset[int] | None = None  # Monday is 0; None means every day
    max_open: int | None = None
    max_per_day: int | None = None


CountQuery = Callable[[str, str | None, dict[str, Any]], Mapping[int, int]]
"""Answers :meth:`Load.count` in SQL: ``(kind, stage, fields)`` to open records per user id."""


class Load(Counter[int]):
    """Open records per user id, as a strategy's ``pick`` receives them, and narrower counts.

    As a mapping it is what ``pick(eligible, load)`` always got: user id to
    the number of open records of the workflow's kind the user owns (records
    handed out earlier in the same pass included). :meth:`count` asks for a
    narrower load.
    """

    def __init__(self, counts: Mapping[int, int], query: CountQuery, kind: str) -> None:
        super().__init__(counts)
        self._query = query
        self._kind = kind
        self._cache: dict[tuple[Any, ...], Counter[int]] = {}

    def count(
        self, *, kind: str | None = None, stage: str | None = None, **fields: Any
    ) -> Mapping[int, int]:
        """Open records per user id of ``kind`` (default: the workflow's), in ``stage`` if
        given, whose fields equal ``fields`` (``load.count(course="python")``).

        "Open" means not archived, in no pool and, for the workflow's kind, not
        in a won or lost stage. Each distinct question is one SQL query per
        pass; the answer then counts the records this pass hands out, when
        the strategy takes the ``record`` argument (the pass knows what each
        record holds only then). A user with no such record is absent (0).
        """
        key = (kind or self._kind, stage, tuple(sorted(fields.items(), key=lambda kv: kv[0])))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = Counter(self._query(key[0], stage, dict(fields)))
        return found

    def took(self, user_id: int, record: RecordSnapshot | None) -> None:
        """Count a record handed to ``user_id`` in this pass, in every narrower count it fits."""
        self[user_id] += 1
        if record is None:
            return
        for (kind, stage, pairs), counts in self._cache.items():
            if record.kind != kind or (stage is not None and record.stage != stage):
                continue
            if all(record.fields.get(name) == value for name, value in pairs):
                counts[user_id] += 1


def takes_record(strategy: Any) -> bool:
    """True when the strategy's ``pick`` accepts the ``record`` keyword (contract v2)."""
    try:
        parameters = inspect.signature(strategy.pick).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: assume the old shape
        return False
    return any(p.name == "record" or p.kind is p.VAR_KEYWORD for p in parameters)


class Strategy(Protocol):
    """What an assignment strategy does."""

    def pick(self, eligible: Sequence[Member], load: Mapping[int, int]) -> Member | None:
        """Choose the member who gets the next record, or None.

        ``load`` is a :class:`Load`. A strategy may also take ``record``
        (keyword), the :class:`crm_core.views.RecordSnapshot` being assigned;
        the pass inspects ``pick``'s signature once and passes it only then.
        """

    def state(self) -> dict[str, Any]:
        """The state to save so the next run continues fairly."""


Factory = Callable[[list[Member], dict[str, Any]], Strategy]


class RoundRobin:
    """Each member in turn, continuing after the last one served, across restarts."""

    def __init__(self, members: list[Member], state: dict[str, Any]) -> None:
        self.position = {m.user_id: i for i, m in enumerate(members)}
        self.last: int | None = state.get("last")

    def pick(self, eligible: Sequence[Member], load: Mapping[int, int]) -> Member | None:
        """The first eligible member after the last one served, in member order."""
        if not eligible:
            return None
        after = self.position.get(self.last, -1) if self.last is not None else -1
        chosen = next((m for m in eligible if self.position[m.user_id] > after), eligible[0])
        self.last = chosen.user_id
        return chosen

    def state(self) -> dict[str, Any]:
        """The last member served."""
        return {"last": self.last}


MEMO_LIMIT = 10_000


class SmoothWeighted:
    """Smooth weighted round robin (as in nginx): weight 3 gets 3 of every 4, interleaved."""

    def __init__(self, members: list[Member], state: dict[str, Any]) -> None:
        saved = state.get("current", {})
        self.current = {m.user_id: float(saved.get(str(m.user_id), 0)) for m in members}
        # The weights of the eligible list last seen, kept side by side in plain lists:
        # a pass picks tens of thousands of times from the same list.
        self._seen: Sequence[Member] | None = None
        self._values: list[float] = []
        self._weights: list[int] = []
        self._total = 0
        # With integer weights the weights cycle (every sum-of-weights picks from a
        # fair start), so a pass soon replays remembered steps instead of looping.
        self._memo: dict[tuple[float, ...], tuple[int, tuple[float, ...]]] = {}

    def _align(self, eligible: Sequence[Member]) -> None:
        self._flush()
        self._seen = eligible
        self._values = [self.current[m.user_id] for m in eligible]
        self._weights = [m.weight for m in eligible]
        self._total = sum(self._weights)
        self._memo = {}

    def _flush(self) -> None:
        if self._seen is not None:
            for m, value in zip(self._seen, self._values, strict=True):
                self.current[m.user_id] = value

    def pick(self, eligible: Sequence[Member], load: Mapping[int, int]) -> Member | None:
        """Raise every eligible member by its weight, take the highest, lower it by the total."""
        if not eligible:
            return None
        if eligible is not self._seen:
            self._align(eligible)
        values, weights = self._values, self._weights
        before = tuple(values)
        seen = self._memo.get(before)
        if seen is not None:
            best, after = seen
            values[:] = after
            return eligible[best]
        best, best_value = 0, float("-inf")
        for i, weight in enumerate(weights):
            value = values[i] + weight
            values[i] = value
            if value > best_value:
                best, best_value = i, value
        values[best] -= self._total
        if len(self._memo) < MEMO_LIMIT:
            self._memo[before] = (best, tuple(values))
        return eligible[best]

    def state(self) -> dict[str, Any]:
        """The current weights, by user id."""
        self._flush()
        return {"current": {str(k): v for k, v in self.current.items()}}


class LoadBalanced:
    """The member with the fewest open records; ties go to the earlier member."""

    def __init__(self, members: list[Member], state: dict[str, Any]) -> None:
        del members, state  # the load is read fresh every run

    def pick(self, eligible: Sequence[Member], load: Mapping[int, int]) -> Member | None:
        """The least loaded eligible member."""
        if not eligible:
            return None
        return min(eligible, key=lambda m: load.get(m.user_id, 0))

    def state(self) -> dict[str, Any]:
        """Nothing: the load is the state."""
        return {}


BUILTIN: dict[str, Factory] = {
    "round_robin": RoundRobin,
    "weighted": SmoothWeighted,
    "load_balanced": LoadBalanced,
}
