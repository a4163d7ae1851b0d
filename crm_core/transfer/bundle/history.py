"""An imported record's or deal's stage history, as the source gives it.

The history becomes journal rows whose ``at`` is the source's time: the
create (at the created time, in the stage it started in), then one move per
stage reached, then the move into the current stage. Funnel "reached",
time in stage and win rate by period read those rows.
"""

from __future__ import annotations

from datetime import datetime

Point = tuple[str, datetime, str]
"""A stage reached, when, and the cause (``import:FILE:LINE``) of the row that says so."""


def timeline(
    created: datetime | None,
    first: str | None,
    points: list[Point],
    final: str | None,
    final_at: datetime | None,
    cause: str,
    now: datetime,
) -> list[tuple[str | None, datetime, str]]:
    """The stages a row went through, in time order: (stage, since, cause), the first the create.

    ``first`` is where a row starts when the history starts after its creation
    (the workflow's first stage); without a history the row is created in its
    current stage. Times never go backwards: a move dated before the one
    before it is taken at that one's time.
    """
    points = sorted(points, key=lambda p: p[1])
    start = created or (points[0][1] if points else final_at or now)
    if points and points[0][1] <= start:
        stage, _, _ = points.pop(0)
        steps: list[tuple[str | None, datetime, str]] = [(stage, start, cause)]
    elif points:
        steps = [(first or points[0][0], start, cause)]
    else:
        steps = [(final, start, cause)]
    for stage, at, why in points:
        if stage != steps[-1][0]:
            steps.append((stage, max(at, steps[-1][1]), why))
    if final is not None and final != steps[-1][0]:
        steps.append((final, max(final_at or steps[-1][1], steps[-1][1]), cause))
    return steps
