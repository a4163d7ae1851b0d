"""The catalogue in import specs: products, and opportunities read twice (as deals, then as
deal lines), on SQLite and PostgreSQL.

One product name in the opportunities is spelled differently from the
catalogue ("GTX Plus Pro" for "GTX Pro"): those lines are rejected naming it,
and the dry run counts it among the unmapped values.
"""

from __future__ import annotations

import csv
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from crm_core.api import Crm

ADMIN = "admin"
WORKFLOW = Path(__file__).resolve().parents[3] / "workflows" / "b2b_sales.yaml"
PRODUCTS = {"GTX Basic": ("GTX-B", "550"), "GTX Pro": ("GTX-P", "4821"),
            "MG Special": ("MG-S", "55"), "GTK 500": ("GTK-5", "26768")}  # fmt: skip
MISSPELLED = "GTX Plus Pro"
STAGES = {"Prospecting": "lead", "Engaging": "proposal", "Won": "won", "Lost": "lost"}


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def _bundle(folder: Path) -> list[dict[str, Any]]:
    """Products, accounts and 120 opportunities; returns the opportunities as written."""
    rng = random.Random(4)
    _write(folder / "products.csv", ["product", "code", "sales_price"],
           [[name, code, price] for name, (code, price) in PRODUCTS.items()])  # fmt: skip
    _write(folder / "accounts.csv", ["account"], [[f"Account {n}"] for n in range(10)])
    deals = []
    for n in range(120):
        stage = rng.choice(list(STAGES))
        name = rng.choice([*PRODUCTS, MISSPELLED])
        value = rng.choice(["1054", "1054.50", "77"]) if stage == "Won" else ""
        deals.append({"id": f"OP{n}", "account": f"Account {n % 10}", "stage": STAGES[stage],
                      "product": name, "value": value, "source_stage": stage})  # fmt: skip
    _write(folder / "sales_pipeline.csv",
           ["opportunity_id", "account", "deal_stage", "product", "close_value"],
           [[d["id"], d["account"], d["source_stage"], d["product"], d["value"]]
            for d in deals])  # fmt: skip
    spec = {"version": 1, "defaults": {"currency": "USD"}, "files": [
        {"path": "products.csv", "entity": "product",
         "columns": {"name": "product", "list_price": "sales_price"}},
        {"path": "accounts.csv", "entity": "record", "kind": "account",
         "columns": {"company": "account"}},
        {"path": "sales_pipeline.csv", "entity": "deal",
         "columns": {"external_id": "opportunity_id", "record": "account",
                     "stage": "deal_stage", "amount": "close_value"},
         "links": {"record": {"by": "company"}}, "values": {"stage": STAGES}},
        {"path": "sales_pipeline.csv", "entity": "deal_line",
         "columns": {"deal": "opportunity_id", "product": "product", "amount": "close_value"},
         "links": {"product": {"by": "name"}}},
    ]}  # fmt: skip
    (folder / "bundle.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return deals


def test_deal_lines_price_the_deals_and_a_product_not_in_the_catalogue_is_named(
    crm: Crm, tmp_path: Path
) -> None:
    # the deal stages name the workflow's stages
    crm.apply_workflow(ADMIN, WORKFLOW, create_users=True)
    deals = _bundle(tmp_path)
    spec = tmp_path / "bundle.yaml"
    dry = crm.import_bundle(ADMIN, spec, dry_run=True)
    misspelled = sum(d["product"] == MISSPELLED for d in deals)
    lines = dry.files[3]
    assert lines.unmapped == {"product": {MISSPELLED: misspelled}}
    assert (lines.created, lines.rejected) == (len(deals) - misspelled, misspelled)
    assert f"product '{MISSPELLED}' not found" in lines.problems[0].reason

    report = crm.import_bundle(ADMIN, spec)
    assert [f.created for f in report.files] == [4, 10, len(deals), len(deals) - misspelled]
    with crm.engine.connect() as conn:
        amounts = dict(conn.execute(sa.text("SELECT external_id, amount_minor FROM deal")).all())
        prices = dict(conn.execute(sa.text(
            "SELECT name, list_price_minor FROM b2b_accounts_product")).all())  # fmt: skip
    assert prices == {name: int(Decimal(price) * 100) for name, (_, price) in PRODUCTS.items()}
    for deal in deals:
        if deal["product"] == MISSPELLED:  # no line: the deal keeps its own amount
            expected = Decimal(deal["value"] or 0)
        else:  # one line: its amount is the close value, else the product's list price
            expected = Decimal(deal["value"] or PRODUCTS[deal["product"]][1])
        assert amounts[deal["id"]] == int(expected * 100), deal

    again = crm.import_bundle(ADMIN, spec)
    assert [(f.created, f.updated) for f in again.files] == [(0, 0)] * 4
    assert again.files[3].unchanged == len(deals) - misspelled

    win = {r[0]: r for r in crm.run_report(ADMIN, "b2b_win_rate_by_owner", kind="account").rows}
    won = [d for d in deals if d["stage"] == "won"]
    lost = [d for d in deals if d["stage"] == "lost"]
    row = win["(nobody)"]
    assert row[1:6] == [len(deals), len(deals) - len(won) - len(lost), len(won), len(lost),
                        round(len(won) / (len(won) + len(lost)), 4)]  # fmt: skip
    assert Decimal(str(row[6])) == sum(Decimal(amounts[d["id"]]) / 100 for d in won)
