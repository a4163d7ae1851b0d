"""Opportunities on accounts: new business, cross-sell (交叉销售) and up-sell (高级销售).

An opportunity is a core deal (``Crm.add_deal``) on an account. The core's
deal has no type, so the account says which of its deals are cross-sell or
up-sell, in its list fields ``cross_sell_deals`` and ``up_sell_deals`` (deal
ids); every other deal of the account is new business. The lists are ordinary
validated, journaled fields: ``crm record show`` prints them, ``crm journal``
says who tagged a deal and when, and a report can join them to the deals.

From the command line the same convention is two steps::

    crm deal add 7 "Spare parts contract" --amount 80000     # prints deal #31
    crm record update 7 --set cross_sell_deals='[31]'
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from crm_core.api import Conflict, Crm, DealView, RecordView
from crm_core.i18n import _

MOTIONS = {"new": None, "cross_sell": "cross_sell_deals", "up_sell": "up_sell_deals"}
"""A deal's sales motion and the account field that lists deals of that motion."""


def add_opportunity(
    crm: Crm,
    actor: str,
    account_id: int,
    title: str,
    *,
    motion: str = "new",
    amount: str | Decimal | int = 0,
    currency: str = "CNY",
    stage: str = "open",
    expected_close: date | None = None,
) -> DealView:
    """Add a deal to an account and, for ``cross_sell``/``up_sell``, list it on the account.

    Two writes of the public API: the deal, then the account's list (retried
    when someone else changed the account in between). Should the second fail,
    the deal stays as new business and the error is raised; :func:`tag_deal`
    tags it again.
    """
    if motion not in MOTIONS:
        raise ValueError(
            _(
                "motion must be one of {names}, not {motion!r}",
                names=", ".join(MOTIONS),
                motion=motion,
            )
        )
    deal = crm.add_deal(
        actor, account_id, title, amount=amount, currency=currency, stage=stage,
        expected_close=expected_close,
    )  # fmt: skip
    if motion != "new":
        tag_deal(crm, actor, account_id, deal.id, motion)
    return deal


def tag_deal(crm: Crm, actor: str, account_id: int, deal_id: int, motion: str) -> RecordView:
    """Mark deal ``deal_id`` of an account as ``cross_sell``, ``up_sell`` or ``new`` business."""
    if motion not in MOTIONS:
        raise ValueError(
            _(
                "motion must be one of {names}, not {motion!r}",
                names=", ".join(MOTIONS),
                motion=motion,
            )
        )
    if deal_id not in {d.id for d in crm.list_deals(actor, account_id)}:
        raise ValueError(
            _(
                "deal #{deal_id} is not a deal of account #{account_id}",
                deal_id=deal_id,
                account_id=account_id,
            )
        )
    for attempt in range(3):
        account = crm.get_record(actor, account_id)
        values: dict[str, list[int] | None] = {}
        for name, field in MOTIONS.items():
            if field is None:
                continue
            ids = [i for i in account.fields.get(field) or [] if i != deal_id]
            if name == motion:
                ids.append(deal_id)
            values[field] = sorted(ids) or None
        try:
            return crm.update_record(actor, account_id, values, expected_version=account.version)
        except Conflict:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def deal_motions(account: RecordView) -> dict[int, str]:
    """The cross-sell and up-sell deal ids of an account (a deal not listed is ``new``)."""
    out: dict[int, str] = {}
    for name, field in MOTIONS.items():
        if field is not None:
            out.update(dict.fromkeys(account.fields.get(field) or [], name))
    return out
