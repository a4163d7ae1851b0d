"""Plausible field values, Chinese and English, made from a kind's field schemas.

The demo knows no plugin: it reads each field's JSON Schema and dedupe rule,
so a new plugin's kinds get demo records without demo code of their own.
"""

from __future__ import annotations

import random
from typing import Any

from crm_core.fields import FieldSpec, KindSpec

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "涛", "明", "超", "霞"]
FIRST = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Chloe", "Leo"]
LAST = ["Smith", "Chen", "Garcia", "Müller", "Tanaka", "Brown", "Wang", "Martin", "Lee", "Khan"]
FIRMS = [
    "星河",
    "蓝海",
    "华东",
    "恒信",
    "天成",
    "Northwind",
    "Contoso",
    "Globex",
    "Initech",
    "远航",
]
TRADES = ["科技", "贸易", "物流", "地产", "制造", "Trading", "Systems", "Foods", "医疗", "教育"]
PLACES = ["east", "west", "north", "south", "华东", "华南", "浦东", "朝阳", "海淀", "天河"]
PLACE_WORDS = ("region", "district", "city", "area")
MOBILE_PREFIXES = ["135", "136", "138", "139", "150", "158", "186", "188", "189", "199"]
"""Mobile ranges in use in China: a demo number must be a valid one."""


def person(rng: random.Random) -> str:
    """A person's name: mostly Chinese, some English."""
    if rng.random() < 0.7:
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def company(rng: random.Random, serial: int) -> str:
    """A company name that no other demo record shares."""
    return f"{rng.choice(FIRMS)}{rng.choice(TRADES)} {serial}"


def value(spec: FieldSpec, rng: random.Random, serial: int) -> Any:
    """A value for ``spec`` that its schema accepts; unique where the field is a dedupe key."""
    schema = spec.schema
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if spec.dedupe == "phone":
        return f"{rng.choice(MOBILE_PREFIXES)}{serial:08d}"
    if spec.dedupe == "email":
        return f"demo{serial}@example.com"
    if spec.dedupe == "company" or "company" in spec.name:
        return company(rng, serial)
    if kind == "string":
        if spec.name in ("name", "contact", "title"):
            return person(rng)
        if any(word in spec.name for word in PLACE_WORDS):
            return rng.choice(PLACES)
        return f"{spec.name} {rng.randint(1, 99)}"
    if kind in ("integer", "number"):
        low = schema.get("minimum", 0)
        high = schema.get("maximum", low + (10 if kind == "integer" else 500_000))
        return (
            rng.randint(int(low), int(high)) if kind == "integer" else round(rng.uniform(low, high))
        )
    if kind == "boolean":
        return rng.random() < 0.1
    return None


def record_values(kind: KindSpec, rng: random.Random, serial: int) -> dict[str, Any]:
    """Values for a new record: every required field, most of the others."""
    out = {}
    for spec in kind.fields.values():
        if spec.name.endswith("_id"):
            continue  # links to other records are made by people, not by the demo
        if spec.required or rng.random() < 0.75:
            made = value(spec, rng, serial)
            if made is not None:
                out[spec.name] = made
    return out
