"""The catalogue in import specs: ``product`` and ``deal_line`` entities for ``crm import``.

A product is found by external id, name or code. A deal line names its deal
(by external id) and its product (by name, code or external id); a product
the catalogue does not have rejects the row, naming it. A line is found again
by its deal and product, so a second run changes nothing. When a deal has
lines, its amount becomes the sum of its lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_b2b_accounts.catalogue import deal_line, product
from crm_core import hookimpl
from crm_core.api import (
    ImportContext,
    ImportEntity,
    Rejection,
    Row,
    Target,
    insert_returning,
    jsonable,
    simple_find,
    taken,
)

DEAL = sa.table(
    "deal",
    sa.column("id"),
    sa.column("record_id"),
    sa.column("external_id"),
    sa.column("amount_minor"),
    sa.column("currency"),
    sa.column("updated_at"),
)


def _minor(amount: Decimal) -> int:
    return int(amount.scaleb(2))


def _major(minor: int | None) -> str | None:
    return None if minor is None else f"{Decimal(minor).scaleb(-2):.2f}"


class ProductEntity(ImportEntity):
    """The product catalogue: name (required), code, series, list price, currency, active."""

    name = "product"
    COLUMNS: ClassVar[dict[str, str]] = {
        "external_id": "external_id",
        "name": "name",
        "code": "code",
        "series": "series",
        "list_price": "list_price_minor",
        "currency": "currency",
        "active": "active",
    }

    def targets(self, registry: Any, kind: str | None) -> dict[str, Target]:
        """A product's fields."""
        return {
            "external_id": Target("external_id"),
            "name": Target("name", required=True),
            "code": Target("code"),
            "series": Target("series"),
            "list_price": Target("list_price", "money"),
            "currency": Target("currency"),
            "active": Target("active", "bool"),
        }

    def key_fields(self, registry: Any, kind: str | None) -> tuple[str, ...]:
        """Products are found by external id, name or code."""
        return ("external_id", "name", "code")

    def find(self, session: Session, kind: str | None, by: str, values: list[str]) -> Any:
        """Products by external id, name or code."""
        return simple_find(session, product, by, values)

    def current(self, session: Session, kind: str | None, ids: list[int]) -> Any:
        """Stored products; the list price in minor units, as :meth:`check` leaves it."""
        query = sa.select(product.c.id, *[product.c[c] for c in self.COLUMNS.values()])
        rows = session.execute(query.where(product.c.id.in_(ids)))
        return {r[0]: dict(zip(self.COLUMNS, r[1:], strict=True)) for r in rows}

    def check(self, ctx: ImportContext, kind: str | None, row: Row) -> Rejection | None:
        """A new product's name, code and external id are free; the list price in minor
        units; a three-letter currency."""
        refused = taken(ctx.session, product, row, ("name", "code", "external_id"), {})
        if refused is not None:
            return refused
        if isinstance(row.values.get("list_price"), Decimal):
            row.values["list_price"] = _minor(row.values["list_price"])
        currency = str(row.values.get("currency", ctx.currency)).upper()
        if len(currency) != 3 or not currency.isalpha():
            return Rejection("currency", f"currency must be a three-letter code, not '{currency}'")
        if row.id is None or "currency" in row.values:
            row.values["currency"] = currency
        return None

    def create(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Insert the products in one statement (active unless said otherwise)."""
        values = []
        for row in rows:
            row.values.setdefault("active", True)
            named = {self.COLUMNS[k]: v for k, v in row.values.items()}
            values.append({**named, "created_at": ctx.now})
        for row, product_id in zip(
            rows, insert_returning(ctx.session, product, values), strict=True
        ):
            row.id = product_id
            ctx.journal("product", product_id, None, "create", None, jsonable(row.values),
                        line=row.line)  # fmt: skip

    def update(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Write the products' changed fields."""
        for row in rows:
            assert row.before is not None and row.id is not None
            named = {self.COLUMNS[k]: v for k, v in row.values.items()}
            ctx.session.execute(sa.update(product).where(product.c.id == row.id).values(named))
            before = jsonable({k: row.before.get(k) for k in row.values})
            ctx.journal("product", row.id, None, "update", before, jsonable(row.values),
                        line=row.line)  # fmt: skip

    def rows(self, session: Session, kind: str | None) -> Iterator[dict[str, Any]]:
        """Every product, the list price exact in major units."""
        for row in session.execute(sa.select(product).order_by(product.c.id)).mappings():
            yield {
                "external_id": row["external_id"] or f"crm:{row['id']}",
                "name": row["name"],
                "code": row["code"],
                "series": row["series"],
                "list_price": _major(row["list_price_minor"]),
                "currency": row["currency"],
                "active": row["active"],
            }


class DealLineEntity(ImportEntity):
    """Product lines of deals: deal, product, quantity (default 1), unit price, amount."""

    name = "deal_line"
    keyed = False  # a line is its deal and its product: create() finds it again

    def targets(self, registry: Any, kind: str | None) -> dict[str, Target]:
        """A deal line's fields; amount = quantity × unit price when absent."""
        return {
            "deal": Target("deal", "ref", required=True, ref="deal"),
            "product": Target(
                "product", "ref", required=True, ref="product", by=("name", "code", "external_id")
            ),
            "quantity": Target("quantity", "int"),
            "unit_price": Target("unit_price", "money"),
            "amount": Target("amount", "money"),
        }

    def natural_key(self, registry: Any, kind: str | None) -> str:
        """A line is found again by its deal (and product)."""
        return "deal"

    def key_fields(self, registry: Any, kind: str | None) -> tuple[str, ...]:
        """See :meth:`natural_key`."""
        return ("deal",)

    def find(self, session: Session, kind: str | None, by: str, values: list[str]) -> Any:
        """Lines are not referenced by other files."""
        return {}

    def current(self, session: Session, kind: str | None, ids: list[int]) -> Any:
        """Lines are compared in :meth:`create`."""
        return {}

    def check(self, ctx: ImportContext, kind: str | None, row: Row) -> Rejection | None:
        """A positive quantity; the unit price and amount follow from each other (or from the
        product's list price)."""
        values = row.values
        quantity = values.setdefault("quantity", 1)
        if quantity < 1:
            return Rejection("quantity", f"quantity must be at least 1, not {quantity}")
        unit, amount = values.get("unit_price"), values.get("amount")
        if unit is None and amount is None:
            price = ctx.session.execute(
                sa.select(product.c.list_price_minor).where(product.c.id == values["product"])
            ).scalar()
            if price is None:
                return Rejection("unit_price", "no unit price, amount or list price to price it")
            unit = Decimal(price).scaleb(-2)
        if amount is None:
            amount = unit * quantity
        if unit is None:
            unit = (amount / quantity).quantize(Decimal("0.01"))
        values["unit_price"], values["amount"] = unit, amount
        return None

    def create(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Insert the new lines, update the changed ones, then re-total their deals."""
        deals = sorted({r.values["deal"] for r in rows})
        stored = {
            (r.deal_id, r.product_id): r
            for r in ctx.session.execute(sa.select(deal_line).where(deal_line.c.deal_id.in_(deals)))
        }
        currency = dict(
            ctx.session.execute(
                sa.select(DEAL.c.id, DEAL.c.currency).where(DEAL.c.id.in_(deals))
            ).all()
        )
        new, fresh = [], []
        seen: dict[tuple[int, int], int] = {}
        last_line: dict[int, int] = {}
        for row in rows:
            values = row.values
            line = {
                "deal_id": values["deal"],
                "product_id": values["product"],
                "quantity": values["quantity"],
                "unit_price_minor": _minor(values["unit_price"]),
                "amount_minor": _minor(values["amount"]),
                "currency": currency[values["deal"]],
            }
            key = (values["deal"], values["product"])
            if key in seen:
                row.problem = f"same deal and product as line {seen[key]}"
                continue
            seen[key] = last_line[values["deal"]] = row.line
            old = stored.get(key)
            if old is None:
                new.append(line)
                fresh.append(row)
                continue
            row.id = old.id
            before = {k: getattr(old, k) for k in line}
            if before == line:
                row.skipped = True
                continue
            ctx.session.execute(sa.update(deal_line).where(deal_line.c.id == old.id).values(line))
            row.changed = True
            ctx.journal("deal_line", old.id, None, "update", before, line, line=row.line)
        for row, line_id in zip(fresh, insert_returning(ctx.session, deal_line, new), strict=True):
            row.id = line_id
            ctx.journal("deal_line", line_id, None, "create", None, jsonable(row.values),
                        line=row.line)  # fmt: skip
        _total(ctx, last_line)

    def update(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Lines are updated in :meth:`create`."""

    def rows(self, session: Session, kind: str | None) -> Iterator[dict[str, Any]]:
        """Every line: its deal by external id, its product by name, money exact."""
        query = (
            sa.select(deal_line, DEAL.c.external_id, product.c.name)
            .join(DEAL, DEAL.c.id == deal_line.c.deal_id)
            .join(product, product.c.id == deal_line.c.product_id)
            .order_by(deal_line.c.id)
        )
        for row in session.execute(query).mappings():
            yield {
                "deal": row["external_id"] or f"crm:{row['deal_id']}",
                "product": row["name"],
                "quantity": row["quantity"],
                "unit_price": _major(row["unit_price_minor"]),
                "amount": _major(row["amount_minor"]),
            }


def _total(ctx: ImportContext, last_line: dict[int, int]) -> None:
    """Set each deal's amount to the sum of its lines, journaling the ones that change (as
    caused by the deal's last line in the file)."""
    deals = sorted(last_line)
    sums = (
        sa.select(deal_line.c.deal_id, sa.func.sum(deal_line.c.amount_minor))
        .where(deal_line.c.deal_id.in_(deals))
        .group_by(deal_line.c.deal_id)
    )
    totals = dict(ctx.session.execute(sums).all())
    query = sa.select(DEAL.c.id, DEAL.c.record_id, DEAL.c.amount_minor).where(DEAL.c.id.in_(deals))
    for deal_id, record_id, amount in ctx.session.execute(query).all():
        total = int(totals.get(deal_id, amount))
        if total == amount:
            continue
        ctx.session.execute(
            sa.update(DEAL)
            .where(DEAL.c.id == deal_id)
            .values(amount_minor=total, updated_at=ctx.now)
        )
        ctx.journal("deal", deal_id, record_id, "update", {"amount": _major(amount)},
                    {"amount": _major(total)}, line=last_line[deal_id])  # fmt: skip


@hookimpl
def crm_register_import_entities(register: Callable[..., None]) -> None:
    """The catalogue's ``product`` and the deals' ``deal_line`` in import specs."""
    register(ProductEntity())
    register(DealLineEntity())
