"""The first two minutes on the demo database, key by key, as the F1 help and the README say.

The steps come from one list (:mod:`crm_core.tui.walkthrough`): the help shows
it, the README is generated from it, and this test presses each step's keys.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from crm_core.api import Crm
from crm_core.clock import ManualClock
from crm_core.demo import run as demo
from crm_core.tui.app import CrmApp
from crm_core.tui.i18n import ZH
from crm_core.tui.screens.dashboard import DashboardScreen
from crm_core.tui.screens.detail import RecordScreen
from crm_core.tui.screens.pool import PoolScreen
from crm_core.tui.walkthrough import NOTE, STEPS
from crm_core.tui.widgets.charts import BarChart

Settle = Callable[[CrmApp], Awaitable[None]]
SIZE = (120, 40)
DEMO_DAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday: the demo's last day
OPERATOR = "alice"  # crm tui --demo opens as her


class _DemoDay(datetime):
    """``datetime`` whose ``now()`` is :data:`DEMO_DAY`, so the demo is the same any day."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _DemoDay:
        at = DEMO_DAY.astimezone(tz) if tz is not None else DEMO_DAY
        return cls.fromtimestamp(at.timestamp(), at.tzinfo)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, datetime]:
    """A small demo database, built once by the builder of ``crm demo``, and its last moment."""
    path = tmp_path_factory.mktemp("demo") / "crm-demo.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "datetime", _DemoDay)
        crm, _summary = demo.run(path, per_kind=120, days=20, seed=7)
    now = crm.clock()
    crm.close()
    return path, now


def _highlighted(app: CrmApp, table_id: str) -> int:
    table = app.screen.query_one(table_id, DataTable)
    return int(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))


async def test_the_first_two_minutes_work_as_written_on_the_demo(
    demo_db: tuple[Path, datetime], tmp_path: Path, settle: Settle
) -> None:
    path = tmp_path / "crm-demo.db"
    shutil.copy(demo_db[0], path)
    crm = Crm.open(f"sqlite:///{path}", clock=ManualClock(demo_db[1]))
    me = next(u for u in crm.list_users("admin") if u.name == OPERATOR)
    app = CrmApp(crm, me, tz=UTC)
    seen: dict[str, object] = {}

    def on_the_pool() -> None:
        assert isinstance(app.screen, PoolScreen) and app.screen.page is not None
        record_id = _highlighted(app, "#pool-entries")
        entry = next(e for e in app.screen.page.entries if e.record_id == record_id)
        assert entry.not_claimable_because is None  # the cursor starts on one she may claim
        assert any(e.not_claimable_because for e in app.screen.page.entries)  # and others show
        seen["record"] = record_id

    def claimed_and_opened() -> None:
        assert isinstance(app.screen, RecordScreen) and app.screen.record_id == seen["record"]
        assert crm.get_record(OPERATOR, app.screen.record_id).owner == OPERATOR

    def call_logged() -> None:
        record_id = int(str(seen["record"]))
        newest = crm.list_activities(OPERATOR, record_id)[0]
        assert (newest.type, newest.note, newest.actor) == ("call", NOTE, OPERATOR)
        # What the move dialog will offer first: the next stage, now that a call is logged.
        seen["first offered"] = next(m.stage for m in crm.stage_moves(OPERATOR, record_id))

    def moved_on() -> None:
        record = crm.get_record(OPERATOR, int(str(seen["record"])))
        assert record.stage == seen["first offered"] == "qualified"
        seen["stage"] = record.stage

    def counted_in_the_funnel() -> None:
        assert isinstance(app.screen, DashboardScreen)
        funnel = crm.run_report(OPERATOR, "funnel", kind="lead")
        stages = [row[0] for row in funnel.rows]
        here = funnel.rows[stages.index(seen["stage"])][1]
        bars = app.screen.query_one("#funnel-chart", BarChart).bars
        assert bars[stages.index(seen["stage"])].note.startswith(f"{here} here")

    checks = [on_the_pool, claimed_and_opened, call_logged, moved_on, counted_in_the_funnel]
    assert len(checks) == len(STEPS)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("f1")
        await pilot.pause()
        shown = "\n".join(str(s.content) for s in app.screen.query(Static))
        assert all(step.text in shown for step in STEPS)  # the help gives these very steps
        await pilot.press("escape")
        for step, check in zip(STEPS, checks, strict=True):
            await pilot.press(*step.keys)
            await settle(app)
            await pilot.pause()
            check()
    crm.close()


def test_every_step_has_its_chinese_and_names_the_keys_it_presses() -> None:
    for step in STEPS:
        assert step.text in ZH
        for key in (k for k in step.keys if len(k) > 1 or k.isdigit()):
            assert f"[b]{key}[/b]" in step.text, (key, step.text)
