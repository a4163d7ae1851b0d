"""Converting a record into one of another kind (a qualified lead becomes a customer).

The new record takes the fields both kinds share, the contacts and, if asked,
a first deal; the old one moves to its workflow's won stage. Both keep the
link in their ``converted_to`` / ``converted_from`` fields when their kinds
declare them, and every step is journaled.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from crm_core import deals, records
from crm_core.errors import Conflict, InvalidInput
from crm_core.i18n import _
from crm_core.models import Contact, Deal, Record
from crm_core.records import WriteContext
from crm_core.workflow import engine


def convert(
    ctx: WriteContext,
    source: Record,
    to_kind: str,
    fields: dict[str, Any],
    *,
    title: str | None,
    deal: tuple[str, int, str] | None,
) -> Record:
    """Create the ``to_kind`` record from ``source``; ``deal`` is (title, minor units, currency)."""
    assert source.id is not None
    if source.archived_at is not None:
        raise Conflict(_("record #{source_id} is archived", source_id=source.id))
    if to_kind == source.kind:
        raise InvalidInput(
            _("record #{source_id} is already a {to_kind}", source_id=source.id, to_kind=to_kind)
        )
    if source.data.get("converted_to"):
        raise Conflict(
            _(
                "record #{source_id} was already converted to #{converted_to}",
                source_id=source.id,
                converted_to=source.data["converted_to"],
            )
        )
    target_spec = ctx.registry.kind(to_kind)
    values = {
        k: v for k, v in source.data.items() if k in target_spec.fields and k != "converted_to"
    }
    values.update(fields)
    if "converted_from" in target_spec.fields:
        values["converted_from"] = source.id
    _win(ctx, source)
    stage = engine.first_stage(ctx.session, to_kind)
    # The target kind's title template, when it has one, beats the source's title.
    inherited = None if target_spec.title else source.title
    target = records.create(ctx, to_kind, values, title=title or inherited,
                            owner_id=source.owner_id, stage=stage)  # fmt: skip
    assert target.id is not None
    if "converted_to" in ctx.registry.kind(source.kind).fields:
        records.change(ctx, source, "update", values={"converted_to": target.id})
    _copy_contacts(ctx, source.id, target.id)
    if deal is not None:
        deal_title, amount_minor, currency = deal
        row = Deal(record_id=target.id, title=deal_title, amount_minor=amount_minor,
                   currency=currency, created_at=ctx.now, owner_id=target.owner_id)  # fmt: skip
        deals.enter_stage(row, row.stage, ctx.now)
        ctx.session.add(row)
        ctx.session.flush()
        after = {"title": deal_title, "amount_minor": amount_minor, "currency": currency}
        ctx.journal("deal", row.id or 0, target.id, "create", None, after)
    return target


def _win(ctx: WriteContext, source: Record) -> None:
    """Move the source to its won stage by the workflow's rules; a refusal stops the conversion."""
    wf = engine.applied(ctx.session, source.kind)
    if wf is None:
        return
    won = [s["id"] for s in wf.definition["stages"] if s.get("outcome") == "won"]
    if won and source.stage not in won:
        engine.move(ctx, source, won[0], None)


def _copy_contacts(ctx: WriteContext, source_id: int, target_id: int) -> None:
    query = select(Contact).where(
        Contact.record_id == source_id, col(Contact.archived_at).is_(None)
    )
    for old in ctx.session.exec(query).all():
        new = Contact(record_id=target_id, name=old.name, phone=old.phone, email=old.email,
                      position=old.position, created_at=ctx.now)  # fmt: skip
        ctx.session.add(new)
        ctx.session.flush()
        after = {"name": new.name, "phone": new.phone, "email": new.email, "copied_from": old.id}
        ctx.journal("contact", new.id or 0, target_id, "create", None, after)
