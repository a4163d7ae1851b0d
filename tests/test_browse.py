"""Record pages for screens (search, filters, sorts, keyset cursors) and an operator's day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from crm_core.api import Crm
from crm_core.clock import ManualClock
from crm_core.errors import InvalidInput, NotFound


def _members(
    crm: Crm, clock: ManualClock, n: int, owner: str = "alice", start: int = 0
) -> list[int]:
    ids = []
    for i in range(start, start + n):
        clock.advance(timedelta(minutes=1))
        plan = "yearly" if i % 3 == 0 else "monthly"
        fields = {"name": f"Member {i:02d}", "phone": f"1380013{i:04d}", "plan": plan,
                  "email": f"m{i}@gym.cn"}  # fmt: skip
        ids.append(crm.add_record(owner, "member", fields, title=f"Member {i:02d}").record.id)
    return ids


def _walk(crm: Crm, actor: str, **kw: object) -> list[int]:
    """Every id of a list, page by page, following the cursors."""
    seen: list[int] = []
    after = None
    while True:
        page = crm.record_page(actor, after=after, limit=4, **kw)  # type: ignore[arg-type]
        seen.extend(r.id for r in page.records)
        if page.next is None:
            return seen
        after = page.next


def test_pages_follow_every_sort_without_gaps_or_repeats(people: Crm, clock: ManualClock) -> None:
    ids = _members(people, clock, 11)
    newest = _walk(people, "alice", kind="member")
    assert newest == sorted(ids, reverse=True)
    assert _walk(people, "alice", kind="member", sort="oldest") == sorted(ids)
    titles = _walk(people, "alice", kind="member", sort="title")
    assert titles == ids  # titles were numbered in creation order
    clock.advance(timedelta(hours=1))
    people.update_record("alice", ids[5], {"visits": 3})
    assert _walk(people, "alice", kind="member", sort="updated")[0] == ids[5]
    people.log_activity("alice", ids[0], "call", note="first call")
    idle = _walk(people, "alice", kind="member", sort="idle")
    assert idle[-1] == ids[0] and idle[0] == ids[1]
    assert sorted(idle) == sorted(ids)


def test_my_work_stops_at_the_limit_and_leaves_out_pooled_and_archived_records(
    people: Crm, clock: ManualClock
) -> None:
    ids = _members(people, clock, 5)
    now = clock()
    people.add_task("alice", ids[4], now, "call back")
    people.release("alice", ids[0], "not reachable", pool="east-pool")
    people.archive_record("admin", ids[1])
    assert [w.record.id for w in people.my_work("alice").records] == [ids[4], ids[2], ids[3]]
    assert [w.record.id for w in people.my_work("alice", limit=1).records] == [ids[4]]
    assert [w.record.id for w in people.my_work("alice", limit=2).records] == [ids[4], ids[2]]


def test_my_work_walks_the_idle_index_instead_of_sorting_every_record(
    people: Crm, clock: ManualClock
) -> None:
    if people.engine.dialect.name != "sqlite":
        pytest.skip("the plan is SQLite's; PostgreSQL picks by its statistics")
    _members(people, clock, 3)
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(people.engine, "before_cursor_execute", keep)
    try:
        people.my_work("alice")
    finally:
        event.remove(people.engine, "before_cursor_execute", keep)
    statement, params = next((q, p) for q, p in seen if "NOT IN" in q)
    with people.engine.connect() as conn:
        plan = " ".join(
            row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
        )
    assert "ix_record_owner_idle" in plan and "TEMP B-TREE" not in plan, plan


def test_search_matches_title_part_any_case_phone_spelling_and_id(
    people: Crm, clock: ManualClock
) -> None:
    ids = _members(people, clock, 12)
    found = people.record_page("alice", kind="member", search="member 1").records
    assert sorted(r.id for r in found) == sorted(ids[10:12])
    by_phone = people.record_page("alice", kind="member", search="+86 138 0013 0007").records
    assert [r.id for r in by_phone] == [ids[7]]
    assert [r.id for r in people.record_page("alice", search=f"#{ids[3]}").records] == [ids[3]]
    assert people.record_page("alice", kind="member", search="100%_").records == []


def test_filters_narrow_by_stage_owner_field_and_respect_permissions(
    people: Crm, clock: ManualClock
) -> None:
    alice = _members(people, clock, 4)
    _members(people, clock, 2, owner="carol", start=50)
    yearly = people.record_page("alice", kind="member", where={"plan": "yearly"}).records
    assert sorted(r.id for r in yearly) == [alice[0], alice[3]]
    assert {r.owner for r in people.record_page("admin", owner="carol").records} == {"carol"}
    assert people.record_page("alice", owner="carol").records == []
    assert len(people.record_page("mia", kind="member").records) == 4  # east team only
    assert people.record_page("admin", owner="-").records == []


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"sort": "best"}, "unknown sort 'best'"),
        ({"after": "garbage"}, "not a page cursor"),
        ({"where": {"plan": "yearly"}}, "needs a kind"),
        ({"kind": "member", "where": {"colour": "red"}}, "no field 'colour'"),
        ({"limit": 0}, "limit must be"),
        ({"sort": "idle", "after": '["newest", "v", 5, 5]'}, "pages the 'newest' sort"),
    ],
)
def test_bad_page_requests_are_refused(people: Crm, kw: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        people.record_page("alice", **kw)  # type: ignore[arg-type]


def test_unknown_pool_or_owner_is_not_found(people: Crm) -> None:
    with pytest.raises(NotFound, match="no pool 'nowhere'"):
        people.record_page("alice", pool="nowhere")
    with pytest.raises(NotFound, match="no user 'zed'"):
        people.record_page("alice", owner="zed")


def test_my_work_puts_tasks_first_then_records_by_next_due_then_idle(
    people: Crm, clock: ManualClock
) -> None:
    ids = _members(people, clock, 4)
    now = clock()
    people.add_task("alice", ids[2], now + timedelta(days=2), "send the price list")
    people.add_task("alice", ids[3], now - timedelta(hours=1), "call back")
    people.add_task("mia", ids[1], now, "manager's own", assignee="mia")
    people.log_activity("alice", ids[0], "call")
    work = people.my_work("alice")
    assert [t.note for t in work.tasks] == ["call back", "send the price list"]
    assert [w.record.id for w in work.records] == [ids[3], ids[2], ids[1], ids[0]]
    assert work.records[0].next_due == now - timedelta(hours=1)
    assert work.records[2].next_due is None
    newest = max(t.id for t in work.tasks)
    assert people.new_tasks("alice", newest) == []
    people.add_task("alice", None, now, "weekly report")
    assert [t.note for t in people.new_tasks("alice", newest)] == ["weekly report"]
