"""The dashboard: funnel and growth charts, the figures with their alerts, the team's
follow-up compliance (managers), and the cards plugins add."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.markup import MarkupError
from textual.widgets import Header, Select, Static

from crm_core.api import DashboardCard, FigureView, KindScope, ReportResult, WorkflowView
from crm_core.errors import CrmError
from crm_core.tui.base import CrmScreen
from crm_core.tui.messages import said
from crm_core.tui.widgets.charts import Bar, BarChart, number, percent
from crm_core.tui.widgets.footer import CrmFooter

FOLLOW_UP_DAYS = 7  # a record is idle after this many days without an activity
TREND_PERIODS = 12  # the growth chart's last months


def column(result: ReportResult, row: list[Any], name: str) -> Any:
    """The cell of ``row`` under column ``name`` of ``result``."""
    return row[result.columns.index(name)]


class DashboardScreen(CrmScreen):
    """Charts and figures over the records the operator may see, one kind at a time.

    Every report runs as the operator, so an operator's funnel counts their
    own records, a manager's their team's, an admin's everyone's.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("f5", "refresh", "Refresh")]

    def __init__(self) -> None:
        super().__init__()
        self.kinds: list[tuple[str, str]] = []  # (kind, its label in the operator's language)
        self.stage_labels: dict[str, dict[str, dict[str, str]]] = {}  # kind -> stage -> label
        self.cards: list[DashboardCard] = []
        self._first_show = True

    def compose(self) -> ComposeResult:
        """The kind chooser, then a grid of cards."""
        yield Header()
        with Horizontal(id="dash-bar"):
            yield Select[str]([], prompt=self.tr("Kind"), id="dash-kind")
            yield Static("", id="dash-note", classes="hint")
        with VerticalScroll(id="dash-cards"), Grid(id="dash-grid"):
            with Vertical(id="card-funnel", classes="card") as card:
                card.border_title = self.tr("Funnel")
                yield Static(self.tr("Records that reached each stage"), classes="hint")
                yield BarChart(id="funnel-chart")
            with Vertical(id="card-trend", classes="card") as card:
                card.border_title = self.tr("Growth")
                yield Static(self.tr("New records per month"), classes="hint")
                yield BarChart(id="trend-chart")
            with Vertical(id="card-figures", classes="card") as card:
                card.border_title = self.tr("Figures and alerts")
                yield Static("", id="figures")
            if self.crm_app.is_manager:
                with Vertical(id="card-compliance", classes="card") as card:
                    card.border_title = self.tr("Follow-up compliance")
                    yield Static("", id="compliance")
        yield CrmFooter()

    def on_mount(self) -> None:
        """Find the kinds with a workflow and the plugins' cards, then fill every card."""
        crm, actor = self.crm, self.actor
        self.call_api(
            lambda: [(w, crm.kind(w.kind).label) for w in crm.list_workflows(actor)],
            self._show_kinds,
            group="dash-kinds",
        )
        self.call_api(crm.dashboard_cards, self._add_cards, group="dash-cards")
        self._load_figures()

    @property
    def kind(self) -> str | None:
        """The kind the charts show, if any has a workflow."""
        value = self.query_one("#dash-kind", Select).value
        return value if isinstance(value, str) else None

    def _show_kinds(self, workflows: list[tuple[WorkflowView, dict[str, str]]]) -> None:
        self.kinds = [(w.kind, self.tr.label(label, w.kind)) for w, label in workflows]
        self.stage_labels = {w.kind: w.stage_labels for w, _label in workflows}
        choice: Select[str] = self.query_one("#dash-kind", Select)
        choice.set_options((label, k) for k, label in self.kinds)
        if not self.kinds:
            choice.disabled = True
            note = self.tr("No workflow is applied: the funnel has no stages to show.")
            self.query_one("#dash-note", Static).update(note)
            self._load_kind(None)
            return
        # Setting the value posts Select.Changed, which loads the charts.
        choice.value = self.crm_app.pick_kind([k for k, _label in self.kinds]) or self.kinds[0][0]

    def on_screen_resume(self) -> None:
        """Back from another screen: count what was done there (mounting loads the first time)."""
        if not self._first_show:
            self.action_refresh()
        self._first_show = False

    def on_select_changed(self, event: Select.Changed) -> None:
        """Another kind chosen: redraw what depends on it."""
        event.stop()
        self._load_kind(self.kind)

    def action_refresh(self) -> None:
        """Run every report again."""
        self._load_kind(self.kind)
        self._load_figures()
        for card in self.cards:
            self._render_card(card)

    # -- the kind's charts and the team ------------------------------------------

    def _load_kind(self, kind: str | None) -> None:
        crm, actor = self.crm, self.actor
        if kind is not None:
            self.call_api(lambda: crm.kind_scope(actor, kind), self._show_scope, group="dash-scope")
            self.call_api(
                lambda: crm.run_report(actor, "funnel", kind=kind),
                self._show_funnel,
                group="dash-funnel",
            )
        self.call_api(
            lambda: crm.run_report(actor, "customer_growth", kind=kind),
            self._show_trend,
            group="dash-trend",
        )
        if self.crm_app.is_manager:
            days = {"days": str(FOLLOW_UP_DAYS)}
            self.call_api(
                lambda: crm.run_report(actor, "follow_up_compliance", kind=kind, params=days),
                self._show_compliance,
                failed=lambda exc: self._failed_in("#compliance", exc),
                group="dash-compliance",
            )

    def _show_scope(self, scope: KindScope) -> None:
        """Say so when the charts are empty because the operator sees none of the kind."""
        self.query_one("#dash-note", Static).update(self._empty_note(scope) or "")

    def _empty_note(self, scope: KindScope) -> str | None:
        """ "None visible to you" told from "none yet"; a count for managers and admins only."""
        if scope.visible:
            return None
        kind = dict(self.kinds).get(scope.kind, scope.kind)
        if scope.existing is None:
            return self.tr("No {kind} records in your scope: none is yours or in your pools.",
                           kind=kind)  # fmt: skip
        if scope.existing == 0:
            return self.tr("No {kind} records yet.", kind=kind)
        return self.tr("No {kind} records visible to you ({n} exist).", kind=kind,
                       n=number(scope.existing))  # fmt: skip

    def _show_funnel(self, result: ReportResult) -> None:
        labels = self.stage_labels.get(self.kind or "", {})
        bars = []
        for row in result.rows:
            here, reached = column(result, row, "records"), column(result, row, "reached")
            conversion = column(result, row, "conversion")
            note = self.tr("{n} here", n=here)
            if conversion is not None:
                note += " · " + self.tr("{p} came on", p=percent(conversion))
            # A lost stage is off the pipeline: its bar is the records lost, not a reach.
            value = reached if reached is not None else here
            stage = str(column(result, row, "stage"))
            bars.append(Bar(self.tr.label(labels.get(stage, {}), stage), value, note))
        self.query_one("#funnel-chart", BarChart).plot(bars)

    def _show_trend(self, result: ReportResult) -> None:
        rows = result.rows[-TREND_PERIODS:]
        bars = [
            Bar(
                str(column(result, row, "month")),
                column(result, row, "new"),
                self.tr("total {n}", n=number(column(result, row, "total"))),
            )
            for row in rows
        ]
        self.query_one("#trend-chart", BarChart).plot(bars)

    def _show_compliance(self, result: ReportResult) -> None:
        table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False)
        table.add_column(self.tr("Owner"))
        for heading in (self.tr("Open records"), self.tr("Idle records"), self.tr("Kept up")):
            table.add_column(heading, justify="right")
        for row in result.rows:
            table.add_row(
                Text(str(column(result, row, "owner"))),  # as typed, never markup
                number(column(result, row, "open")),
                number(column(result, row, "idle")),
                percent(column(result, row, "compliant")),
            )
        if not result.rows:
            table.add_row(self.tr("No open records."), "", "", "")
        caption = self.tr("Idle: no activity for {n} days.", n=FOLLOW_UP_DAYS)
        table.caption, table.caption_justify = caption, "left"
        self.query_one("#compliance", Static).update(table)

    def _failed_in(self, where: str, exc: CrmError) -> None:
        self.query_one(where, Static).update(Text(said(exc, self.tr), style="red"))

    # -- figures with thresholds -------------------------------------------------

    def _load_figures(self) -> None:
        path = self.crm_app.dashboard_file
        card = self.query_one("#card-figures", Vertical)
        if path is None:
            hint = self.tr("No dashboard file: start with crm tui --dashboard FILE.")
            self.query_one("#figures", Static).update(hint)
            return
        card.border_subtitle = Path(path).name
        crm, actor = self.crm, self.actor

        def read() -> tuple[list[FigureView], dict[str, KindScope]]:
            figures = crm.alerts(actor, path)
            kinds = {f.kind for f in figures if f.kind is not None}
            return figures, {k: crm.kind_scope(actor, k) for k in sorted(kinds)}

        self.call_api(
            read,
            self._show_figures,
            failed=lambda exc: self._failed_in("#figures", exc),
            group="dash-figures",
        )

    def _threshold(self, figure: FigureView) -> str:
        parts = []
        if figure.below is not None:
            parts.append(self.tr("below {v}", v=number(figure.below)))
        if figure.above is not None:
            parts.append(self.tr("above {v}", v=number(figure.above)))
        return self.tr(" or ").join(parts)

    def _show_figures(self, found: tuple[list[FigureView], dict[str, KindScope]]) -> None:
        figures, scopes = found
        # A figure over records the operator sees none of measures nothing: no value, no alert.
        unseen = {k for k, scope in scopes.items() if not scope.visible}
        table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False)
        table.add_column(self.tr("Figure"), ratio=1)
        table.add_column(self.tr("Current"), justify="right")
        table.add_column(self.tr("Alert when"))
        table.add_column("")
        fired = 0
        for figure in figures:
            label = self.tr.label(figure.label, figure.id)
            if figure.kind in unseen:
                mark = Text("– " + self.tr("no data in your scope"), style="dim")
                table.add_row(Text(label), "—", self._threshold(figure), mark)
                continue
            fired += figure.alert
            mark = (
                Text("● " + self.tr("alert"), style="bold red")
                if figure.alert
                else Text("✓ " + self.tr("ok"), style="green")
            )
            table.add_row(Text(label), number(figure.value), self._threshold(figure), mark)
        table.caption = self.tr("{n} of {m} figures crossed their threshold.", n=fired,
                                m=len(figures))  # fmt: skip
        table.caption_justify = "left"
        self.query_one("#figures", Static).update(table)

    # -- plugins' cards ------------------------------------------------------------

    def _add_cards(self, cards: list[DashboardCard]) -> None:
        self.cards = cards
        grid = self.query_one("#dash-grid", Grid)
        for card in cards:
            panel = Vertical(Static("", id=f"plugin-{card.name}"), classes="card")
            panel.border_title = self.tr.label(card.label, card.name)
            grid.mount(panel)
            self._render_card(card)

    def _render_card(self, card: DashboardCard) -> None:
        crm, actor, name = self.crm, self.actor, card.name
        self.call_api(
            lambda: crm.render_card(actor, name),
            lambda shown: self._show_card(name, shown),
            failed=lambda exc: self._failed_in(f"#plugin-{name}", exc),
            group=f"dash-card-{name}",
        )

    def _show_card(self, name: str, shown: Any) -> None:
        body = self.query_one(f"#plugin-{name}", Static)
        try:
            body.update(shown)
        except MarkupError:  # a plugin's text with a stray [ is shown as it is
            body.update(Text(str(shown)))

    def palette_commands(self) -> Iterable[SystemCommand]:
        """Refresh, and a switch to each kind's charts."""
        yield SystemCommand(self.tr("Refresh"), "f5", self.action_refresh)
        for kind, label in self.kinds:
            yield SystemCommand(
                self.tr("Dashboard of {kind}", kind=label),
                self.tr("Funnel, growth and compliance of {kind}", kind=label),
                lambda k=kind: self._choose(k),
            )

    def _choose(self, kind: str) -> None:
        self.query_one("#dash-kind", Select).value = kind
