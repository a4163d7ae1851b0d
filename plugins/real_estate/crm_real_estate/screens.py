"""What buyers add to the operator's screens: list columns, a needs panel, a funnel card.

Each render function gets the :class:`crm_core.api.Crm` and the operator's
name, calls only the public API as that operator, and returns Rich markup.
"""

from __future__ import annotations

from typing import Any

from crm_core.api import Crm, RecordView
from crm_core.i18n import _, localize, say
from crm_real_estate.reports import KIND, VIEWING

COLUMNS = [("district", 12), ("rooms", 6), ("budget_min", 12), ("budget_max", 12),
           ("member_level", 10)]  # fmt: skip
"""The buyer list's columns after id and title: field and width."""


def budget_range(fields: dict[str, Any]) -> str:
    """``1,500,000 – 2,500,000``, ``from 1,500,000``, ``up to 2,500,000`` or ``not given``."""
    low, high = fields.get("budget_min"), fields.get("budget_max")
    if low is not None and high is not None:
        return f"{low:,.0f} – {high:,.0f}"
    if low is not None:
        return say("from {low:,.0f}", low=low)
    if high is not None:
        return say("up to {high:,.0f}", high=high)
    return say("not given")


def needs(crm: Crm, actor: str, record: RecordView) -> str:
    """What the buyer looks for, how many viewings they had, their member level, complaints."""
    f = record.fields
    wanted = [say("Budget {budget}", budget=budget_range(f))]
    if f.get("rooms"):
        wanted.append(say("{n} rooms", n=f["rooms"]))
    wanted.extend(str(f[k]) for k in ("district", "purpose") if f.get(k))
    lines = [" · ".join(wanted)]
    if f.get("property_interest"):
        lines.append(say("Interested in {project}", project=f["property_interest"]))
    viewings = [a for a in crm.list_activities(actor, record.id) if a.type == VIEWING]
    if viewings:
        last = viewings[0].occurred_at.strftime("%Y-%m-%d")  # newest first
        lines.append(say("Viewings: {n} (last {last})", n=len(viewings), last=last))
    else:
        lines.append(say("Viewings: none yet"))
    level = f.get("member_level") or "none"
    if level != "none":
        points = f.get("member_points") or 0
        lines.append(say("Member: [b]{level}[/b], {points:,} points", level=level, points=points))
    if f.get("complaint_open"):
        lines.append(say("[red]A complaint is open[/red]: the buyer stays out of the pool"))
    return "\n".join(lines)


def funnel_card(crm: Crm, actor: str) -> str:
    """The buyer funnel: buyers now in each stage and how many reached it."""
    empty = crm.kind_scope(actor, KIND).empty_note(_("buyers"))
    if empty is not None:
        return f"[dim]{empty.render()}[/dim]"
    result = crm.run_report(actor, "re_funnel")
    lines = []
    for stage, now, _lost_here, reached, conversion in result.rows:
        if reached is None:  # a lost stage: only its count
            lines.append(f"{stage:<13} {now:>5}")
            continue
        rate = f"{conversion:.0%}" if conversion is not None else ""
        lines.append(
            say("{stage:<13} {now:>5}  reached {reached:>5} [b]{rate:>5}[/b]",
                stage=stage, now=now, reached=reached, rate=rate)
        )  # fmt: skip
    lines.extend(f"[dim]{localize(note)}[/dim]" for note in result.notes)
    return "\n".join(lines)
