"""Money in record fields ("format": "money"): exact amounts, never float artefacts."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from crm_core import money
from crm_core.api import Crm, FieldError
from crm_core.testing import CLEAN_ENV, invoke_cli


def test_amounts_are_kept_exactly(crm: Crm, db_url: str) -> None:
    rid = crm.add_record("admin", "lead", {"name": "Wang", "phone": "13900001111"}).record.id

    def cli(*args: str) -> tuple[int, str, str]:
        result = invoke_cli(
            ["--db", db_url, "--as", "admin", *args], env=CLEAN_ENV, entry_points=True
        )
        return result.exit_code, result.stdout, result.stderr

    for text, stored in [("1054", 1054), ("99.50", 99.5), ("0.10", 0.1), ("1e3", 1000)]:
        assert cli("record", "update", str(rid), "--set", f"budget={text}")[0] == 0
        shown = json.loads(cli("record", "show", str(rid), "--json")[1])["fields"]["budget"]
        assert shown == stored and type(shown) is type(stored)
        assert money.exact(shown) == Decimal(text)
    assert "1054.0" not in cli("record", "show", str(rid))[1]
    for bad, why in [("12.345", "two decimals"), ("ten", "not a number"),
                     ("1e20", "too large"), ("NaN", "finite")]:  # fmt: skip
        code, _, err = cli("record", "update", str(rid), "--set", f"budget={bad}")
        assert code == 2 and why in err and len(err.strip().splitlines()) == 1, (bad, err)
    assert crm.get_record("admin", rid).fields["budget"] == 1000
    with pytest.raises(FieldError, match="two decimals"):
        crm.update_record("admin", rid, {"budget": 0.1 + 0.2})
    assert crm.get_record("admin", rid).fields["budget"] == 1000


def test_the_format_is_declared_on_the_plugins_money_fields(crm: Crm) -> None:
    schema = {f.name: f.schema for f in crm.kind("lead").fields.values()}
    assert money.is_money(schema["budget"])
