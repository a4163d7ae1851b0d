"""The dashboard: charts from the reports, figures and their alerts, the team, plugins' cards."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Select, Static

from crm_core import hookimpl
from crm_core.api import Crm, InvalidInput
from crm_core.tui.app import CrmApp
from crm_core.tui.screens.dashboard import FOLLOW_UP_DAYS, DashboardScreen
from crm_core.tui.widgets.charts import BarChart

SIZE = (120, 40)
ROOT = Path(__file__).resolve().parents[2]
Settle = Callable[[CrmApp], Awaitable[None]]

FIGURES = """\
dashboard: test
figures:
  - id: new-leads
    label: {en: Leads still new, zh: 新线索}
    report: funnel
    kind: lead
    value: {column: records, aggregate: first, where: {stage: new}}
    alert: {above: 5}
  - id: won-leads
    label: Leads signed
    report: funnel
    kind: lead
    value: {column: records, aggregate: first, where: {stage: won}}
    alert: {above: 3}
"""


def _bars(app: CrmApp, chart: str) -> list[tuple[str, float]]:
    return [(b.label, b.value) for b in app.screen.query_one(chart, BarChart).bars]


def _stage_labels(crm: Crm, lang: str = "en") -> dict[str, str]:
    (leads,) = crm.list_workflows("admin")
    return {stage: label[lang] for stage, label in leads.stage_labels.items()}


def _shown(app: CrmApp, selector: str) -> str:
    """The text of a Static as the operator reads it, whatever it holds (text or a table)."""
    widget = app.screen.query_one(selector, Static)
    console = Console(width=widget.content_size.width, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def _line_with(text: str, words: str) -> str:
    return next(line for line in text.splitlines() if words in line)


async def _open_dashboard(app: CrmApp, pilot: Pilot[None], settle: Settle) -> None:
    await settle(app)
    await pilot.press("4")
    await settle(app)
    await pilot.pause()
    assert isinstance(app.screen, DashboardScreen)


async def test_the_funnel_and_growth_charts_show_the_operators_reports(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    funnel = tui_crm.run_report("alice", "funnel", kind="lead")
    growth = tui_crm.run_report("alice", "customer_growth", kind="lead")
    labels = _stage_labels(tui_crm)
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _open_dashboard(app, pilot, settle)
        assert app.screen.query_one("#dash-kind", Select).value == "lead"
        # a pipeline stage's bar is how many reached it; the lost stage's, how many are in it
        assert _bars(app, "#funnel-chart") == [
            (labels[stage], reached if reached is not None else here)
            for stage, here, reached, _conversion, _probability in funnel.rows
        ]
        assert _bars(app, "#trend-chart") == [(month, new) for month, new, _total in growth.rows]
        chart = str(app.screen.query_one("#funnel-chart", BarChart).render())
        stage, here, reached, conversion, _ = funnel.rows[1]
        line = _line_with(chart, f"{labels[stage]} ")
        assert line.endswith(f" {reached}  {here} here · {conversion:.0%} came on")


async def test_f5_runs_the_reports_again(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _open_dashboard(app, pilot, settle)
        before = _bars(app, "#funnel-chart")
        fresh = tui_crm.list_records("alice", owner="alice", stage="new")[0]
        tui_crm.move_record("alice", fresh.id, "contacted")
        await pilot.press("f5")
        await settle(app)
        funnel = tui_crm.run_report("alice", "funnel", kind="lead")
        after = _bars(app, "#funnel-chart")
        assert after != before
        labels = _stage_labels(tui_crm)
        assert after == [
            (labels[row[0]], row[2] if row[2] is not None else row[1]) for row in funnel.rows
        ]


async def test_coming_back_to_the_dashboard_counts_what_was_done_meanwhile(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _open_dashboard(app, pilot, settle)
        await pilot.press("1")
        await settle(app)
        fresh = tui_crm.list_records("alice", owner="alice", stage="new")[0]
        tui_crm.move_record("alice", fresh.id, "contacted")
        await pilot.press("4")
        await settle(app)
        funnel = tui_crm.run_report("alice", "funnel", kind="lead")
        (_stage, here, _reached, _conversion, _probability) = funnel.rows[1]
        contacted = app.screen.query_one("#funnel-chart", BarChart).bars[1]
        assert contacted.note.startswith(f"{here} here")


async def test_figures_show_their_value_threshold_and_the_alerts_that_fired(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle, tmp_path: Path
) -> None:
    board = tmp_path / "board.yaml"
    board.write_text(FIGURES, encoding="utf-8")
    new, won = tui_crm.alerts("alice", board)
    assert (new.alert, won.alert) == (True, False)
    app = make_app("alice", dashboard=board)
    async with app.run_test(size=SIZE) as pilot:
        await _open_dashboard(app, pilot, settle)
        shown = _shown(app, "#figures")
        fired = _line_with(shown, "Leads still new")
        assert f" {new.value} " in fired and "above 5" in fired and "● alert" in fired
        calm = _line_with(shown, "Leads signed")
        assert f" {won.value} " in calm and "above 3" in calm and "✓ ok" in calm
        assert "1 of 2 figures crossed their threshold." in shown
        assert app.screen.query_one("#card-figures").border_subtitle == "board.yaml"


async def test_a_dashboard_file_with_a_mistake_shows_where_it_is(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle, tmp_path: Path
) -> None:
    board = tmp_path / "board.yaml"
    board.write_text(FIGURES.replace("report: funnel", "report: funnels", 1), encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        tui_crm.alerts("alice", board)
    app = make_app("alice", dashboard=board)
    async with app.run_test(size=SIZE) as pilot:
        await _open_dashboard(app, pilot, settle)
        shown = " ".join(_shown(app, "#figures").split())
        assert " ".join(str(refused.value).split()) in shown
        assert "board.yaml:5:" in shown  # file:line:column of `report:`


async def test_a_manager_sees_the_teams_follow_up_compliance_and_an_operator_does_not(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    days = {"days": str(FOLLOW_UP_DAYS)}
    report = tui_crm.run_report("mia", "follow_up_compliance", kind="lead", params=days)
    assert len(report.rows) >= 2
    app = make_app("mia")
    async with app.run_test(size=SIZE) as pilot:
        await _open_dashboard(app, pilot, settle)
        shown = _shown(app, "#compliance")
        for owner, open_, idle, compliant in report.rows:
            assert _line_with(shown, owner).split() == [owner, str(open_), str(idle),
                                                        f"{compliant:.0%}"]  # fmt: skip
        assert f"Idle: no activity for {FOLLOW_UP_DAYS} days." in shown
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _open_dashboard(app, pilot, settle)
        assert not app.screen.query("#card-compliance")


class Cards:
    """A plugin with dashboard cards: one that works, one with a stray tag, one that breaks."""

    @hookimpl
    def crm_register_dashboard_cards(self, register: Callable[..., None]) -> None:
        def records(crm: Crm, actor: str) -> str:
            return f"[b]{crm.count_records(actor)}[/b] records you can see"

        def broken(crm: Crm, actor: str) -> Any:
            raise RuntimeError("no data today")

        register("records", records, label={"en": "My records", "zh": "我的客户"})
        register("raw", lambda crm, actor: "100% [/done]", label="Raw")
        register("broken", broken, label="Broken")


async def test_plugin_cards_render_each_in_its_panel_and_a_failure_stays_there(
    tui_crm: Crm, settle: Settle
) -> None:
    url = tui_crm.engine.url.render_as_string(hide_password=False)
    crm = Crm.open(url, extra_plugins=[("cards", Cards())], clock=tui_crm.clock)
    me = next(u for u in crm.list_users("admin") if u.name == "alice")
    app = CrmApp(crm, me, lang="zh", tz=UTC)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _open_dashboard(app, pilot, settle)
            panel = app.screen.query_one("#plugin-records").parent
            assert isinstance(panel, Widget) and panel.border_title == "我的客户"
            count = crm.count_records("alice")
            assert _shown(app, "#plugin-records").strip() == f"{count} records you can see"
            assert _shown(app, "#plugin-raw").strip() == "100% [/done]"
            broken = _shown(app, "#plugin-broken")
            # the failure speaks the operator's language; the plugin's own error is as it said
            expected = "插件“cards”在 card broken 中出错：RuntimeError：no data today"
            assert "".join(expected.split()) in "".join(broken.split())  # wrapped in the card
    finally:
        crm.close()


async def test_without_a_workflow_or_a_dashboard_file_the_dashboard_says_so(
    tui_crm: Crm, settle: Settle, tmp_path: Path
) -> None:
    crm = Crm.open(f"sqlite:///{tmp_path / 'empty.db'}", clock=tui_crm.clock)
    crm.init("admin")
    me = crm.list_users("admin")[0]
    app = CrmApp(crm, me, tz=UTC)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _open_dashboard(app, pilot, settle)
            assert app.screen.query_one("#dash-kind", Select).disabled
            assert "No workflow is applied" in _shown(app, "#dash-note")
            assert "--dashboard FILE" in _shown(app, "#figures")
            assert _bars(app, "#funnel-chart") == [] and _bars(app, "#trend-chart") == []
    finally:
        crm.close()


async def test_refresh_and_each_kind_are_in_the_palette(
    make_app: Callable[..., CrmApp], settle: Settle
) -> None:
    app = make_app("alice", lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await _open_dashboard(app, pilot, settle)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert [c.title for c in screen.palette_commands()] == ["刷新", "线索仪表盘"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_dashboard_snapshot(
    snap_compare: Callable[..., bool],
    make_app: Callable[..., CrmApp],
    settle: Settle,
    lang: str,
) -> None:
    async def open_dashboard(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, CrmApp)
        await settle(app)
        await pilot.press("4")
        await settle(app)
        await pilot.pause(0.1)
        app.clear_notifications()

    app = make_app("mia", lang=lang, dashboard=ROOT / "dashboards" / "dashboard.yaml")
    assert snap_compare(app, terminal_size=SIZE, run_before=open_dashboard)


NOTHING_WON = """\
dashboard: test
figures:
  - id: won-leads
    label: Leads signed
    report: funnel
    kind: lead
    value: {column: records, aggregate: sum, where: {stage: won}}
    alert: {below: 1}
"""


async def test_nothing_in_scope_raises_no_alert_and_says_so_without_counting_for_an_operator(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle, tmp_path: Path
) -> None:
    tui_crm.add_user("admin", "dave", "operator", "west")  # no record is his or his pools'
    board = tmp_path / "board.yaml"
    board.write_text(NOTHING_WON, encoding="utf-8")
    (won,) = tui_crm.alerts("dave", board)
    assert (won.value, won.alert) == (0, True)  # what read as "0 below 1: alert"
    app = make_app("dave", dashboard=board)
    async with app.run_test(size=SIZE) as pilot:
        await _open_dashboard(app, pilot, settle)
        shown = _shown(app, "#figures")
        line = _line_with(shown, "Leads signed")
        assert "no data in your scope" in line and "alert" not in line
        assert "0 of 1 figures crossed their threshold." in shown
        note = str(app.screen.query_one("#dash-note", Static).content)
        assert note == "No Lead records in your scope: none is yours or in your pools."


async def test_a_manager_who_sees_none_is_told_how_many_exist(
    make_app: Callable[..., CrmApp], tui_crm: Crm, settle: Settle
) -> None:
    tui_crm.add_team("admin", "north")
    tui_crm.add_user("admin", "ned", "manager", "north")
    app = make_app("ned")
    async with app.run_test(size=SIZE) as pilot:
        await _open_dashboard(app, pilot, settle)
        note = str(app.screen.query_one("#dash-note", Static).content)
        assert note == "No Lead records visible to you (24 exist)."
    app = make_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _open_dashboard(app, pilot, settle)
        assert str(app.screen.query_one("#dash-note", Static).content) == ""
