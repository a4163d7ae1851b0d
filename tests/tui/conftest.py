"""Fixtures for the TUI: one small, fixed CRM (same data, same clock) and apps over copies of it.

The data is built once per session and copied per test, so every Pilot test
and every snapshot starts from the same records at the same moment.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crm_core.api import Crm
from crm_core.clock import ManualClock
from crm_core.tui.app import CrmApp

Settle = Callable[[CrmApp], Awaitable[None]]

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
NOW = START + timedelta(days=10)
NAMES = [
    "王芳", "Li Wei", "张伟", "Emma Brown", "刘洋", "陈静", "Oliver Smith", "杨磊",
    "赵敏", "Sophia Chen", "黄强", "周杰", "Lucas Wang", "吴婷", "徐明", "孙丽",
    "Mia Zhang", "胡军", "朱琳", "高峰", "Noah Liu", "林涛", "何静", "郭勇",
]  # fmt: skip
SOURCES = ["web", "referral", "event", "ad", "market_survey", "other"]


def build(path: Path) -> None:
    """People, the shipped lead workflow and 24 leads with ten days of history."""
    clock = ManualClock(START)
    crm = Crm.open(f"sqlite:///{path}", clock=clock)
    crm.init("admin")
    for team in ("east", "west"):
        crm.add_team("admin", team)
    for name, role, team in [
        ("alice", "operator", "east"),
        ("bob", "operator", "east"),
        ("carol", "operator", "west"),
        ("mia", "manager", "east"),
    ]:
        crm.add_user("admin", name, role, team)  # fmt: skip
    crm.apply_workflow("admin", ROOT / "workflows" / "leads.yaml")
    for i, name in enumerate(NAMES):
        clock.advance(timedelta(hours=7))
        owner = "carol" if i % 8 == 7 else ("alice" if i % 3 else "bob")
        fields = {"name": name, "phone": f"1391234{i:04d}", "source": SOURCES[i % 6],
                  "company": f"{name} Trading", "region": "east" if i % 2 else "west"}  # fmt: skip
        if SOURCES[i % 6] == "referral":
            fields["referrer_id"] = 1  # 转介绍: referred by the first lead
        if i % 4 == 0:
            fields["budget"] = 20000 + 5000 * i
        record = crm.add_record("admin", "lead", fields, title=name, owner=owner).record
        if i % 3 == 0:
            crm.log_activity(owner, record.id, "call", note="first call")
        if i in (2, 5):
            crm.move_record(owner, record.id, "contacted")
        if i in (10, 13):
            crm.release(owner, record.id, "not reachable")
    crm.add_task("alice", 2, START + timedelta(days=8), "call back about the price")
    crm.add_task("alice", 5, START + timedelta(days=12), "send the brochure")
    crm.close()


@pytest.fixture(scope="session")
def tui_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built database, made once per test session."""
    path = tmp_path_factory.mktemp("tui") / "crm.db"
    build(path)
    return path


@pytest.fixture
def tui_crm(tui_template: Path, tmp_path: Path) -> Iterator[Crm]:
    """A CRM over a fresh copy of the built database, its clock at ``NOW``."""
    path = tmp_path / "crm.db"
    shutil.copy(tui_template, path)
    crm = Crm.open(f"sqlite:///{path}", clock=ManualClock(NOW))
    yield crm
    crm.close()


@pytest.fixture
def make_app(tui_crm: Crm) -> Callable[..., CrmApp]:
    """``make_app(user="alice", lang="en")``: the TUI as that user over ``tui_crm``."""

    def make(user: str = "alice", lang: str = "en", **options: object) -> CrmApp:
        me = next(u for u in tui_crm.list_users("admin") if u.name == user)
        return CrmApp(tui_crm, me, lang=lang, tz=UTC, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def settle() -> Settle:
    """``await settle(app)``: wait until the app's API calls are done."""

    async def settle(app: CrmApp) -> None:
        await asyncio.wait_for(app.settled(), timeout=30)

    return settle
