"""What accounts add to the operator's screens: list columns, a value panel, a pipeline card.

Each render function gets the :class:`crm_core.api.Crm` and the operator's
name, calls only the public API as that operator, and returns Rich markup.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from crm_b2b_accounts.opportunities import deal_motions
from crm_b2b_accounts.reports import ACCOUNT
from crm_core.api import Crm, InvalidInput, RecordView
from crm_core.i18n import _, localize, say

COLUMNS = [("company", 22), ("industry", 14), ("region", 10), ("type", 12)]
"""The account list's columns after id and title: field and width."""

CLASSES = ("A", "B")
"""The ABC classes asked for one by one; an account with won revenue in neither is C."""


def abc_class(crm: Crm, actor: str, account_id: int, currency: str) -> str:
    """The account's ABC class by won revenue in ``currency`` (``b2b_pareto``)."""
    for name in CLASSES:
        result = crm.run_report(actor, "b2b_pareto", params={"class": name, "currency": currency})
        if any(row[0] == account_id for row in result.rows):
            return name
    return "C"


def value(crm: Crm, actor: str, record: RecordView) -> str:
    """The account's value: ABC class, won revenue, open pipeline, deals by sales motion."""
    deals = crm.list_deals(actor, record.id)
    won: defaultdict[str, Decimal] = defaultdict(Decimal)
    pipeline: defaultdict[str, Decimal] = defaultdict(Decimal)
    for deal in deals:
        if deal.stage == "won":
            won[deal.currency] += deal.amount
        elif deal.stage != "lost":
            pipeline[deal.currency] += deal.amount
    lines = []
    if won:
        # The class ranks revenue of one currency: the account's biggest.
        currency = max(won, key=lambda c: (won[c], c))
        klass = abc_class(crm, actor, record.id, currency)
        lines.append(
            say("[b]Class {klass}[/b] by won revenue ({currency})", klass=klass, currency=currency)
        )
    else:
        lines.append(say("[b]No class yet[/b]: no won revenue"))
    lines.append(
        say(
            "Won: {won}   Open pipeline: {pipeline}", won=_amounts(won), pipeline=_amounts(pipeline)
        )
    )
    motions = Counter(deal_motions(record).get(d.id, "new") for d in deals)
    lines.append(
        say("Deals: {n} ({new} new business, {cross_sell} cross-sell, {up_sell} up-sell)",
            n=len(deals), new=motions["new"], cross_sell=motions["cross_sell"],
            up_sell=motions["up_sell"])
    )  # fmt: skip
    if record.fields.get("margin") is not None:
        lines.append(say("Gross margin: {margin:.0%}", margin=record.fields["margin"]))
    if record.fields.get("key_account"):
        lines.append(say("[yellow]Key account[/yellow]: never returned to the pool"))
    return "\n".join(lines)


def _amounts(by_currency: dict[str, Decimal]) -> str:
    if not by_currency:
        return "0"
    return ", ".join(f"{by_currency[c]:,.2f} {c}" for c in sorted(by_currency))


def pipeline_card(crm: Crm, actor: str) -> str:
    """Open deals per account stage, with their amount weighted by the stage's probability."""
    empty = crm.kind_scope(actor, ACCOUNT).empty_note(_("accounts"))
    if empty is not None:
        return f"[dim]{empty.render()}[/dim]"
    try:
        result = crm.run_report(actor, "b2b_pipeline")
    except InvalidInput as exc:  # no account workflow yet, or several currencies
        return f"[dim]{exc}[/dim]"
    if not result.rows:
        return "[dim]" + say("No open deals.") + "[/dim]"
    lines = [
        say("{stage:<12} {deals:>4} deals  {amount:>12}  weighted [b]{weighted:>12}[/b]",
            stage=stage, deals=deals, amount=amount, weighted=weighted)
        for stage, deals, amount, weighted in result.rows
    ]  # fmt: skip
    total = sum((Decimal(row[3]) for row in result.rows), Decimal(0))
    lines.append(say("[b]Weighted pipeline: {total:,.2f}[/b]", total=total))
    lines.extend(f"[dim]{localize(note)}[/dim]" for note in result.notes)
    return "\n".join(lines)
