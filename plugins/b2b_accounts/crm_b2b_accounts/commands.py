"""``crm product …`` (the catalogue) and ``crm deal-line …`` (the product lines of deals)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from crm_core import hookimpl
from crm_core.commands import cli, emit_json, table

if TYPE_CHECKING:
    from types import ModuleType


def _products() -> ModuleType:
    """The catalogue's API, imported when a command runs: `crm --help` lists these cheaply."""
    from crm_b2b_accounts import products

    return products


product_app = typer.Typer(help="The product catalogue (b2b_accounts).", no_args_is_help=True)
line_app = typer.Typer(help="Product lines of deals (b2b_accounts).", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print exact JSON.")
PRODUCT_COLUMNS = ["id", "name", "code", "series", "list_price", "currency", "active"]
LINE_COLUMNS = ["id", "deal_id", "product", "quantity", "unit_price", "amount", "currency"]


@product_app.command("add")
def product_add(
    ctx: typer.Context,
    name: str,
    code: str | None = typer.Option(None, "--code", help="A unique product code."),
    series: str | None = typer.Option(None, "--series", help="The product's series."),
    price: str | None = typer.Option(None, "--price", help="List price, e.g. 1054 or 99.50."),
    currency: str = typer.Option("CNY", "--currency"),
) -> None:
    """Add a product to the catalogue (managers and admins)."""
    s = cli(ctx)
    view = _products().add_product(s.crm, s.actor, name, code=code, series=series, price=price,
                                currency=currency)  # fmt: skip
    typer.echo(f"product #{view.id} {view.name} added")


@product_app.command("update")
def product_update(
    ctx: typer.Context,
    product: str = typer.Argument(..., help="The product's name or code."),
    name: str | None = typer.Option(None, "--name"),
    code: str | None = typer.Option(None, "--code"),
    series: str | None = typer.Option(None, "--series"),
    price: str | None = typer.Option(None, "--price"),
    active: bool | None = typer.Option(None, "--active/--inactive"),
) -> None:
    """Change a product (managers and admins); an inactive one takes no new lines."""
    s = cli(ctx)
    view = _products().update_product(s.crm, s.actor, product, name=name, code=code, series=series,
                                   price=price, active=active)  # fmt: skip
    typer.echo(f"product #{view.id} {view.name} updated")


@product_app.command("list")
def product_list(
    ctx: typer.Context,
    include_inactive: bool = typer.Option(False, "--all", help="Include inactive _products()."),
    as_json: bool = JSON,
) -> None:
    """List the catalogue by name."""
    s = cli(ctx)
    found = _products().list_products(s.crm, s.actor, include_inactive=include_inactive)
    rows = [p.to_dict() for p in found]
    if as_json:
        emit_json(rows)
    else:
        table(rows, PRODUCT_COLUMNS, title="products")


@line_app.command("add")
def line_add(
    ctx: typer.Context,
    deal_id: int,
    product: str = typer.Argument(..., help="The product's name or code."),
    quantity: int = typer.Option(1, "--quantity"),
    unit_price: str | None = typer.Option(
        None, "--unit-price", help="Default: the product's list price."
    ),
) -> None:
    """Add a product line to a deal; the deal's amount becomes the sum of its lines."""
    s = cli(ctx)
    line = _products().add_line(s.crm, s.actor, deal_id, product, quantity=quantity,
                             unit_price=unit_price)  # fmt: skip
    deal = s.crm.get_deal(s.actor, deal_id)
    typer.echo(f"line #{line.id}: {line.quantity} x {line.product} = {line.amount}; "
               f"deal #{deal_id} is now {deal.amount} {deal.currency}")  # fmt: skip


@line_app.command("remove")
def line_remove(ctx: typer.Context, line_id: int) -> None:
    """Remove a product line; the deal's amount becomes the sum of the lines left."""
    s = cli(ctx)
    line = _products().remove_line(s.crm, s.actor, line_id)
    typer.echo(f"line #{line.id} removed from deal #{line.deal_id}")


@line_app.command("list")
def line_list(ctx: typer.Context, deal_id: int, as_json: bool = JSON) -> None:
    """List a deal's product lines."""
    s = cli(ctx)
    rows = [line.to_dict() for line in _products().deal_lines(s.crm, s.actor, deal_id)]
    if as_json:
        emit_json(rows)
    else:
        table(rows, LINE_COLUMNS, title=f"lines of deal #{deal_id}")


@hookimpl
def crm_register_commands(register: Callable[..., None]) -> None:
    """Add ``crm product …`` and ``crm deal-line …``."""
    register("product", product_app)
    register("deal-line", line_app)
