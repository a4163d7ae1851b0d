"""What plugins add to the operator's screens: list columns, detail panels, dashboard cards,
and talking points per stage.

The core keeps only the registrations; the TUI asks :class:`crm_core.api.Crm`
for them and renders them, so a plugin never imports the TUI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crm_core.fields import NAME, KindSpec, Label, RegistrationError, label_of
from crm_core.plugins import PluginHost


@dataclass(frozen=True)
class ListColumn:
    """A field shown as a column in lists of its kind.

    Attributes:
        kind: The kind whose lists show it.
        field: The field shown.
        label: The heading, ``{"en": ..., "zh": ...}`` (the field's label).
        width: The column's width in characters, or None to fit.
        plugin: The plugin that registered it.
    """

    kind: str
    field: str
    label: Label
    width: int | None
    plugin: str


@dataclass(frozen=True)
class DetailPanel:
    """A panel on a record's detail screen: ``render(crm, actor, record)`` gives its text.

    Attributes:
        kind: The kind whose detail screen shows it.
        name: Its name, unique within the kind.
        label: Its heading, ``{"en": ..., "zh": ...}``.
        render: ``render(crm, actor, record)`` returns Rich markup or a renderable.
        plugin: The plugin that registered it.
    """

    kind: str
    name: str
    label: Label
    render: Callable[..., Any]
    plugin: str


@dataclass(frozen=True)
class DashboardCard:
    """A card on the dashboard: ``render(crm, actor)`` gives its text.

    Attributes:
        name: Its unique name.
        label: Its heading, ``{"en": ..., "zh": ...}``.
        render: ``render(crm, actor)`` returns Rich markup or a renderable.
        plugin: The plugin that registered it.
    """

    name: str
    label: Label
    render: Callable[..., Any]
    plugin: str


@dataclass(frozen=True)
class TalkingPoint:
    """One line of a call script for records of a kind in a stage.

    Attributes:
        kind: The kind of the records it is about.
        stage: The workflow stage it is for.
        text: The line, ``{"en": ..., "zh": ...}``.
        plugin: The plugin that registered it.
    """

    kind: str
    stage: str
    text: Label
    plugin: str


@dataclass
class ScreenParts:
    """Every column, panel, card and talking point the plugins registered, checked
    against the kinds."""

    columns: dict[str, list[ListColumn]] = field(default_factory=dict)
    panels: dict[str, list[DetailPanel]] = field(default_factory=dict)
    cards: list[DashboardCard] = field(default_factory=list)
    points: dict[tuple[str, str], list[TalkingPoint]] = field(default_factory=dict)

    @classmethod
    def collect(cls, host: PluginHost, kinds: dict[str, KindSpec]) -> ScreenParts:
        """Call the screen hooks of every plugin (after the kinds are known)."""
        parts = cls()
        host.call_each("crm_register_list_columns", lambda p: {"register": parts._column(p, kinds)})
        host.call_each("crm_register_detail_panels", lambda p: {"register": parts._panel(p, kinds)})
        host.call_each("crm_register_dashboard_cards", lambda p: {"register": parts._card(p)})
        host.call_each(
            "crm_register_talking_points", lambda p: {"register": parts._points(p, kinds)}
        )
        return parts

    def _column(self, plugin: str, kinds: dict[str, KindSpec]) -> Callable[..., None]:
        def register(kind: str, name: str, *, width: int | None = None) -> None:
            who = f"plugin '{plugin}' column '{kind}.{name}'"
            if kind not in kinds or name not in kinds[kind].fields:
                raise RegistrationError(f"{who}: no such field")
            if width is not None and not 3 <= width <= 80:
                raise RegistrationError(f"{who}: width must be between 3 and 80")
            shown = self.columns.setdefault(kind, [])
            if any(c.field == name for c in shown):
                raise RegistrationError(f"{who}: already a column")
            label = kinds[kind].fields[name].label
            shown.append(ListColumn(kind, name, label, width, plugin))

        return register

    def _panel(self, plugin: str, kinds: dict[str, KindSpec]) -> Callable[..., None]:
        def register(
            kind: str, name: str, render: Callable[..., Any], *, label: Any = None
        ) -> None:
            who = f"plugin '{plugin}' panel '{name}'"
            if kind not in kinds:
                raise RegistrationError(f"{who}: no kind '{kind}'")
            self._check(who, name, render, [p.name for p in self.panels.get(kind, [])])
            panel = DetailPanel(kind, name, label_of(label, name, who), render, plugin)
            self.panels.setdefault(kind, []).append(panel)

        return register

    def _card(self, plugin: str) -> Callable[..., None]:
        def register(name: str, render: Callable[..., Any], *, label: Any = None) -> None:
            who = f"plugin '{plugin}' card '{name}'"
            self._check(who, name, render, [c.name for c in self.cards])
            self.cards.append(DashboardCard(name, label_of(label, name, who), render, plugin))

        return register

    def _points(self, plugin: str, kinds: dict[str, KindSpec]) -> Callable[..., None]:
        def register(kind: str, stage: str, points: Any) -> None:
            who = f"plugin '{plugin}' talking points '{kind}.{stage}'"
            if kind not in kinds:
                raise RegistrationError(f"{who}: no kind '{kind}'")
            if not isinstance(stage, str) or not stage:
                raise RegistrationError(f"{who}: a stage is a workflow's stage id")
            if isinstance(points, (str, dict)) or not isinstance(points, (list, tuple)):
                raise RegistrationError(f"{who}: points must be a list of lines")
            lines = [TalkingPoint(kind, stage, label_of(p, "", who), plugin) for p in points]
            if any(not line.text["en"].strip() for line in lines):
                raise RegistrationError(f"{who}: a line needs text")
            self.points.setdefault((kind, stage), []).extend(lines)

        return register

    @staticmethod
    def _check(who: str, name: str, render: Any, taken: list[str]) -> None:
        if not NAME.match(name):
            raise RegistrationError(f"{who}: a name is lower case letters, digits and _")
        if name in taken:
            raise RegistrationError(f"{who}: already registered")
        if not callable(render):
            raise RegistrationError(f"{who}: render must be callable")
