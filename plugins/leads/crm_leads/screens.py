"""What leads add to the operator's screens: list columns, a qualification panel, a card.

Each render function gets the :class:`crm_core.api.Crm` and the operator's
name, calls only the public API as that operator, and returns Rich markup.
"""

from __future__ import annotations

from typing import Any

from crm_core.api import Crm, CrmError, RecordView
from crm_core.i18n import N_, _, say, translate
from crm_leads.reports import (
    BUDGET_POINTS,
    MAX_TOUCHES,
    SOME_BUDGET_POINTS,
    SOURCE_POINTS,
    TOUCH_POINTS,
)

KIND = "lead"
COLUMNS = [("company", 18), ("phone", 14), ("source", 12), ("budget", 10)]
"""The lead list's columns after id and title: field and width."""

TALKING_POINTS: dict[str, list[dict[str, str]]] = {
    "new": [
        {"en": "Say who you are and why you call", "zh": "说明你是谁、为什么来电"},
        {"en": "Ask whether now is a good time", "zh": "询问现在是否方便通话"},
        {"en": "Confirm the phone and e-mail", "zh": "确认电话和邮箱"},
    ],
    "contacted": [
        {"en": "Ask about the budget and when they buy", "zh": "了解预算和购买时间"},
        {"en": "Ask which region it is for", "zh": "询问所在地区"},
        {"en": "Agree on the next call", "zh": "约定下次通话时间"},
    ],
    "qualified": [
        {"en": "Recap what they need", "zh": "复述客户的需求"},
        {"en": "Propose the offer and a date to decide", "zh": "给出方案并约定决定日期"},
    ],
    "won": [
        {"en": "Thank them; ask for a referral", "zh": "致谢，并请客户转介绍"},
    ],
}
"""What to say on a call to a lead in each stage of ``workflows/leads.yaml``."""

QUALIFY_BUDGET = 10_000
"""The budget ``workflows/leads.yaml`` asks for before a lead may be qualified (识别真客户)."""


def score(fields: dict[str, Any], activities: int) -> tuple[int, int, int]:
    """A lead's score in its three parts: budget, source and follow-ups.

    The same points as the ``lead_scores`` report, for one lead in Python.
    """
    budget = fields.get("budget") or 0
    budget_points = next((p for least, p in BUDGET_POINTS if budget >= least), 0)
    if not budget_points and budget > 0:
        budget_points = SOME_BUDGET_POINTS
    source_points = SOURCE_POINTS.get(fields.get("source") or "", 0)
    return budget_points, source_points, TOUCH_POINTS * min(activities, MAX_TOUCHES)


def _check(ok: bool, text: str) -> str:
    return f"[green]✓[/] {text}" if ok else f"[red]✗[/] {text}"


def qualification(crm: Crm, actor: str, record: RecordView) -> str:
    """The lead's score, what it still lacks to be qualified, and where it came from."""
    activities = crm.list_activities(actor, record.id)
    fields = record.fields
    budget, source, touches = score(fields, len(activities))
    lines = [
        say("[b]Score {score}[/b] = budget {budget} + source {source} ({name}) + follow-ups "
            "{touches} ({n} of {max})", score=budget + source + touches, budget=budget,
            source=source, name=fields.get("source") or say("none"), touches=touches,
            n=min(len(activities), MAX_TOUCHES), max=MAX_TOUCHES),
    ]  # fmt: skip
    calls = sum(1 for a in activities if a.type == "call")
    checks = [
        _check(
            (fields.get("budget") or 0) >= QUALIFY_BUDGET,
            say("budget of {budget:,}", budget=QUALIFY_BUDGET),
        ),
        _check(calls > 0, say("a call logged")),
        _check(bool(fields.get("region")), say("region")),
    ]
    lines.append(say("To qualify: {checks}", checks="  ".join(checks)))
    for key, what in (("referrer_id", N_("Referred by")), ("converted_to", N_("Converted to"))):
        if fields.get(key):
            lines.append(f"{translate(what)} {_record_name(crm, actor, fields[key])}")
    return "\n".join(lines)


def _record_name(crm: Crm, actor: str, record_id: int) -> str:
    """``#id title``, or just ``#id`` for a record the operator may not see."""
    try:
        return f"#{record_id} {crm.get_record(actor, record_id).title}"
    except CrmError:
        return f"#{record_id}"


def conversion_card(crm: Crm, actor: str) -> str:
    """Conversion by source of the leads the operator sees, best first."""
    empty = crm.kind_scope(actor, KIND).empty_note(_("leads"))
    if empty is not None:
        return f"[dim]{empty.render()}[/dim]"
    result = crm.run_report(actor, "lead_conversion_by_source")
    rows = sorted(result.rows, key=lambda r: (-(r[4] or 0), -r[1], r[0] or ""))
    lines = []
    for source, leads, converted, _dropped, rate in rows:
        shown = f"{rate:.0%}" if rate is not None else "–"
        name = source or say("(none)")
        lines.append(
            say("{source:<14} {converted:>4} of {leads:<5} [b]{rate:>4}[/b]",
                source=name, converted=converted, leads=leads, rate=shown)
        )  # fmt: skip
    return "\n".join(lines)
