"""Charts drawn with block characters: one bar per line, readable in any language.

Bars are text, not plotted pixels, so a chart renders the same on every
terminal (and in every snapshot), and Chinese labels line up by their cell
width rather than their length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

# A cell split in eighths: a bar of 3.25 cells ends in a quarter block.
EIGHTHS = " ▏▎▍▌▋▊▉"
FULL = "█"
MIN_BAR = 8
MAX_LABEL = 24


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its length as a number, and a note after the number."""

    label: str
    value: int | float
    note: str = ""


def number(value: int | float | None) -> str:
    """A figure as people read it: whole numbers with separators, fractions to two places."""
    if value is None:
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def percent(share: float | None) -> str:
    """A share (0.1538) as a whole percentage (15%); nothing known as a dash."""
    return "—" if share is None else f"{share:.0%}"


def bar_cells(value: float, top: float, width: int) -> str:
    """The blocks of a bar ``value`` long on a scale where ``top`` fills ``width`` cells."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(value / top * width * 8)
    full, rest = divmod(max(eighths, 1), 8)
    return FULL * full + (EIGHTHS[rest] if rest else "")


def draw(
    bars: list[Bar], width: int, bar_style: Style | str = "", note_style: Style | str = ""
) -> Text:
    """``bars`` as lines of ``label  ████▌ value  note`` fitting ``width`` cells."""
    if not bars:
        return Text()
    label_w = min(max(cell_len(b.label) for b in bars), MAX_LABEL)
    values = [number(b.value) for b in bars]
    value_w = max(len(v) for v in values)
    note_w = max(cell_len(b.note) for b in bars)
    bar_w = max(width - label_w - value_w - note_w - 4, MIN_BAR)
    top = max(b.value for b in bars)
    out = Text(no_wrap=True, overflow="ellipsis")
    for i, (bar, shown) in enumerate(zip(bars, values, strict=True)):
        if i:
            out.append("\n")
        out.append(set_cell_size(bar.label, label_w) + " ", style="bold")
        out.append(bar_cells(bar.value, top, bar_w).ljust(bar_w), style=bar_style)
        out.append(f" {shown.rjust(value_w)}")
        if bar.note:
            out.append(f"  {bar.note}", style=note_style)
    return out


class BarChart(Widget):
    """A horizontal bar chart as tall as its bars; :meth:`plot` replaces them.

    The stylesheet colours the bars and notes through the component classes
    ``barchart--bar`` and ``barchart--note``.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"barchart--bar", "barchart--note"}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.bars: list[Bar] = []

    def plot(self, bars: list[Bar]) -> None:
        """Show ``bars`` (in the order given), resizing the chart to fit them."""
        self.bars = bars
        self.refresh(layout=True)

    def render(self) -> RenderResult:
        """The bars, scaled to the chart's width."""
        bar = self.get_component_rich_style("barchart--bar")
        note = self.get_component_rich_style("barchart--note")
        return draw(self.bars, self.content_size.width or 60, bar, note)
