"""The product catalogue and deals' product lines, through the core's public API.

Managers and admins keep the catalogue; whoever may update a deal adds and
removes its lines. A deal with lines is worth the sum of its lines: each
change of lines sets the deal's amount in the same transaction, journaled on
the deal. Money is exact: minor units in the tables, Decimals in the views.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from crm_b2b_accounts.catalogue import deal_line, product
from crm_core.api import Conflict, Crm, InvalidInput, NotFound, PluginWrite
from crm_core.i18n import _

NAME_MAX = 200
MAX_MINOR = 2**63 - 1


@dataclass(frozen=True)
class ProductView:
    """A product of the catalogue; ``list_price`` is exact (None: no list price)."""

    id: int
    name: str
    code: str | None
    series: str | None
    list_price: Decimal | None
    currency: str
    active: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (money as text, exact)."""
        out = asdict(self)
        out["list_price"] = None if self.list_price is None else str(self.list_price)
        return out


@dataclass(frozen=True)
class LineView:
    """One product line of a deal: quantity × unit price = amount."""

    id: int
    deal_id: int
    product: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    currency: str

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (money as text, exact)."""
        out = asdict(self)
        out["unit_price"], out["amount"] = str(self.unit_price), str(self.amount)
        return out


def to_minor(amount: str | Decimal | int, what: str) -> int:
    """``"12.50"`` as 1250; refused unless a finite number >= 0 with at most two decimals."""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise InvalidInput(
            _("{what} {value!r} is not a number", what=what, value=str(amount)[:40])
        ) from None
    minor = value * 100
    if not value.is_finite() or value < 0 or minor != minor.to_integral_value():
        raise InvalidInput(
            _(
                "{what} {value!r} must be >= 0 with at most two decimals",
                what=what,
                value=str(amount)[:40],
            )
        )
    if minor > MAX_MINOR:
        raise InvalidInput(_("{what} {value!r} is too large", what=what, value=str(amount)[:40]))
    return int(minor)


def _major(minor: int | None) -> Decimal | None:
    return None if minor is None else Decimal(minor).scaleb(-2)


def _product_view(row: Any) -> ProductView:
    return ProductView(row.id, row.name, row.code, row.series, _major(row.list_price_minor),
                       row.currency, bool(row.active))  # fmt: skip


def _text(value: str | None, what: str, required: bool = False) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidInput(_("a product needs a {what}", what=what))
        return None
    if len(value) > NAME_MAX:
        raise InvalidInput(
            _(
                "a product's {what} is {length:,} characters long; at most 200",
                what=what,
                length=len(value),
            )
        )
    return value.strip()


def _currency(code: str) -> str:
    if len(code) != 3 or not code.isalpha():
        raise InvalidInput(
            _("currency must be a three-letter code, not {value!r}", value=code[:40])
        )
    return code.upper()


def _insert(w: PluginWrite, table: sa.Table, values: dict[str, Any]) -> int:
    return int(
        w.session.execute(sa.insert(table).values(**values).returning(table.c.id)).scalar_one()
    )


def _product_row(w: PluginWrite, product_id: int) -> Any:
    return w.session.execute(sa.select(product).where(product.c.id == product_id)).one()


def _find(w: PluginWrite, name_or_code: str) -> Any:
    """The product named or coded so (NotFound otherwise)."""
    query = sa.select(product).where(
        sa.or_(product.c.name == name_or_code, product.c.code == name_or_code)
    )
    row = w.session.execute(query.order_by(product.c.id)).first()
    if row is None:
        raise NotFound(
            _("no product {value!r} (see crm b2b product list)", value=name_or_code[:80])
        )
    return row


def _clash(w: PluginWrite, name: str | None, code: str | None, other_than: int | None) -> None:
    for column, value in (("name", name), ("code", code)):
        if value is None:
            continue
        query = sa.select(product.c.id).where(product.c[column] == value)
        found = w.session.execute(query).scalar()
        if found is not None and found != other_than:
            raise Conflict(
                _("a product with {column} {value!r} already exists", column=column, value=value)
            )


def add_product(
    crm: Crm,
    actor: str,
    name: str,
    *,
    code: str | None = None,
    series: str | None = None,
    price: str | Decimal | int | None = None,
    currency: str = "CNY",
) -> ProductView:
    """Add a product to the catalogue (managers and admins); name and code are unique."""
    clean = _text(name, "name", required=True)
    code, series = _text(code, "code"), _text(series, "series")
    minor = None if price is None else to_minor(price, "price")
    cur = _currency(currency)
    with crm.plugin_write(actor) as w:
        w.require_manager("change the product catalogue")
        _clash(w, clean, code, None)
        values = {"name": clean, "code": code, "series": series, "list_price_minor": minor,
                  "currency": cur, "active": True, "created_at": w.now}  # fmt: skip
        new_id = _insert(w, product, values)
        view = _product_view(_product_row(w, new_id))
        w.journal("product", new_id, "create", None, view.to_dict())
        return view


def update_product(
    crm: Crm,
    actor: str,
    name_or_code: str,
    *,
    name: str | None = None,
    code: str | None = None,
    series: str | None = None,
    price: str | Decimal | int | None = None,
    active: bool | None = None,
) -> ProductView:
    """Change a product (managers and admins); an inactive product takes no new lines."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _text(name, "name", required=True)
    if code is not None:
        changes["code"] = _text(code, "code")
    if series is not None:
        changes["series"] = _text(series, "series")
    if price is not None:
        changes["list_price_minor"] = to_minor(price, "price")
    if active is not None:
        changes["active"] = active
    if not changes:
        raise InvalidInput(_("nothing to change: give a name, code, series, price or active"))
    with crm.plugin_write(actor) as w:
        w.require_manager("change the product catalogue")
        row = _find(w, name_or_code)
        _clash(w, changes.get("name"), changes.get("code"), row.id)
        before = _product_view(row).to_dict()
        w.session.execute(sa.update(product).where(product.c.id == row.id).values(**changes))
        view = _product_view(_product_row(w, row.id))
        after = view.to_dict()
        changed = [k for k in after if after[k] != before[k]]
        if not changed:
            raise Conflict(_("product {product!r} already has these values", product=row.name))
        w.journal("product", row.id, "update", {k: before[k] for k in changed},
                  {k: after[k] for k in changed})  # fmt: skip
        return view


def list_products(crm: Crm, actor: str, *, include_inactive: bool = False) -> list[ProductView]:
    """The catalogue, by name (every user may read it)."""
    with crm.plugin_write(actor) as w:
        query = sa.select(product).order_by(product.c.name)
        if not include_inactive:
            query = query.where(product.c.active)
        return [_product_view(r) for r in w.session.execute(query).all()]


def _line_views(w: PluginWrite, deal_id: int) -> list[LineView]:
    query = (
        sa.select(deal_line, product.c.name)
        .join(product, product.c.id == deal_line.c.product_id)
        .where(deal_line.c.deal_id == deal_id)
        .order_by(deal_line.c.id)
    )
    return [
        LineView(
            r.id,
            r.deal_id,
            r.name,
            r.quantity,
            Decimal(r.unit_price_minor).scaleb(-2),
            Decimal(r.amount_minor).scaleb(-2),
            r.currency,
        )
        for r in w.session.execute(query).all()
    ]


def _sum_lines(w: PluginWrite, deal_id: int, reason: str) -> None:
    """Set the deal's amount to the sum of its lines; a deal left without lines keeps its own."""
    lines, total = w.session.execute(
        sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(deal_line.c.amount_minor), 0)
        ).where(deal_line.c.deal_id == deal_id)
    ).one()
    if not lines:
        return
    if int(total) > MAX_MINOR:
        raise InvalidInput(
            _("deal #{deal_id}'s lines would sum to more than the largest amount", deal_id=deal_id)
        )
    w.set_deal_amount(deal_id, int(total), reason)


def add_line(
    crm: Crm,
    actor: str,
    deal_id: int,
    product_name: str,
    *,
    quantity: int = 1,
    unit_price: str | Decimal | int | None = None,
) -> LineView:
    """Add a product line to a deal (default unit price: the list price); the deal's amount
    becomes the sum of its lines, in the same transaction."""
    if quantity < 1:
        raise InvalidInput(_("quantity must be at least 1, not {quantity}", quantity=quantity))
    price = None if unit_price is None else to_minor(unit_price, "unit price")
    with crm.plugin_write(actor) as w:
        deal = w.deal(deal_id, "update")
        row = _find(w, product_name)
        if not row.active:
            raise InvalidInput(_("product {product!r} is inactive", product=row.name))
        if price is None:
            if row.list_price_minor is None:
                raise InvalidInput(
                    _("product {product!r} has no list price: give --unit-price", product=row.name)
                )
            price = int(row.list_price_minor)
        if row.currency != deal.currency:
            raise InvalidInput(
                _(
                    "product {product!r} is priced in {currency}, deal #{deal_id} in {currency2}",
                    product=row.name,
                    currency=row.currency,
                    deal_id=deal_id,
                    currency2=deal.currency,
                )
            )
        amount = price * quantity
        if amount > MAX_MINOR:
            raise InvalidInput(
                _("{quantity} x {value} is too large", quantity=quantity, value=_major(price))
            )
        values = {"deal_id": deal_id, "product_id": row.id, "quantity": quantity,
                  "unit_price_minor": price, "amount_minor": amount,
                  "currency": deal.currency}  # fmt: skip
        line_id = _insert(w, deal_line, values)
        view = next(v for v in _line_views(w, deal_id) if v.id == line_id)
        w.journal("deal_line", line_id, "create", None, view.to_dict(), deal.record_id)
        _sum_lines(w, deal_id, f"line #{line_id} added")
        return view


def remove_line(crm: Crm, actor: str, line_id: int) -> LineView:
    """Remove a product line; the deal's amount becomes the sum of the lines left."""
    with crm.plugin_write(actor) as w:
        found = w.session.execute(sa.select(deal_line.c.deal_id).where(deal_line.c.id == line_id))
        deal_id = found.scalar()
        if deal_id is None:
            raise NotFound(_("no deal line #{line_id}", line_id=line_id))
        deal = w.deal(deal_id, "update")
        view = next(v for v in _line_views(w, deal_id) if v.id == line_id)
        w.session.execute(sa.delete(deal_line).where(deal_line.c.id == line_id))
        w.journal("deal_line", line_id, "delete", view.to_dict(), None, deal.record_id)
        _sum_lines(w, deal_id, f"line #{line_id} removed")
        return view


def deal_lines(crm: Crm, actor: str, deal_id: int) -> list[LineView]:
    """The product lines of a deal the actor may see."""
    with crm.plugin_write(actor) as w:
        w.deal(deal_id, "show")
        return _line_views(w, deal_id)
