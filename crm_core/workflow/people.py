"""The users a workflow names, and what role and team each would be created with.

A workflow names users as assignment members (plain or with weight and caps),
in routing rules, in ``assign`` actions and as pool members and admins; its
optional ``users:`` section declares a role and team for any of them.
``crm workflow apply --create-users`` creates the ones the database lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NamedUser:
    """A user a workflow names: ``role`` and ``team`` as they would be created."""

    name: str
    role: str
    team: str | None


def named_users(data: dict[str, Any]) -> list[NamedUser]:
    """Every user ``data`` names, in file order, once each.

    The role is the one ``users:`` declares, else ``manager`` for a pool admin
    (admins of a pool manage it), else ``operator``; the team is the declared
    one, else none.
    """
    declared = {u["name"]: u for u in data.get("users", [])}
    order: list[str] = list(declared)
    admins: set[str] = set()
    assignment = data.get("assignment", {})
    scopes = [assignment.get("members", [])]
    scopes += [rule.get("members", []) for rule in assignment.get("rules", [])]
    for entries in scopes:
        order += [e if isinstance(e, str) else e["user"] for e in entries]
    for transition in data.get("transitions", []):
        order += [a["assign"]["user"] for a in transition.get("on_enter", []) if "assign" in a]
    for pool in data.get("pools", []):
        order += pool.get("members", [])
        order += pool.get("admins", [])
        admins.update(pool.get("admins", []))
    out = []
    for name in dict.fromkeys(order):
        spec = declared.get(name, {})
        role = spec.get("role") or ("manager" if name in admins else "operator")
        out.append(NamedUser(name, role, spec.get("team")))
    return out
