"""Who may do what to which record: one table of rules, read by the API, the docs and the tests.

A user's relation to a record is one of:

- ``own``: the user owns it;
- ``team``: another member of the user's team owns it;
- ``pool_member``: nobody owns it and it waits in a pool the user belongs to;
- ``pool_team``: nobody owns it and it waits in a pool where a member of the
  user's team belongs (the pools the team works);
- ``other``: anything else.

:data:`RULES` says, for each role and relation, which actions are allowed.
The API checks one record with :func:`check`, selects many with
:func:`record_filter` (the same rule as SQL), and the README's permission
table is :func:`markdown_table` of the same data, so the three cannot differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from crm_core.errors import InvalidInput, NotFound, PermissionDenied, excerpt
from crm_core.i18n import N_, _

if TYPE_CHECKING:
    # The SQL forms import these when called: `crm record show` reads through
    # sqlite3 alone (crm_core.quickread) and checks with this module.
    from sqlalchemy import ColumnElement
    from sqlmodel import Session

    from crm_core.models import Deal, Record

RELATIONS = ("own", "team", "pool_member", "pool_team", "other")
"""How a user stands to a record, most specific first."""

ACTIONS = (
    "show",
    "update",
    "move",
    "archive",
    "claim",
    "release",
    "assign",
    "reassign",
    "export",
    "report",
    "journal",
)
"""What a user may do to a record.

``show`` reads it (lists, detail, why, contacts, activities); ``update``
changes its fields and logs touchpoints (activities, tasks, contacts, deals);
``move`` changes its stage; ``archive`` archives it; ``claim`` takes it from a
pool within the pool's claim rules; ``release`` gives it back to a pool;
``assign`` gives a record nobody owns to someone; ``reassign`` gives an owned
record to someone else; ``export``, ``report`` and ``journal`` count it in
exports and reports and show its history.
"""

_OWNER = frozenset({"show", "update", "move", "archive", "release", "export", "report", "journal"})
_MANAGED = _OWNER | {"reassign"}
_POOL_READ = frozenset({"show", "report", "journal"})
_POOL_MANAGED = _POOL_READ | {"assign", "archive", "export"}

RULES: dict[str, dict[str, frozenset[str]]] = {
    "operator": {
        "own": _OWNER,
        "team": frozenset(),
        # Claim first: an operator changes a pool record only once it is theirs.
        "pool_member": _POOL_READ | {"claim"},
        "pool_team": frozenset(),
        "other": frozenset(),
    },
    "manager": {
        "own": _MANAGED,
        "team": _MANAGED,
        "pool_member": _POOL_MANAGED | {"claim"},
        "pool_team": _POOL_MANAGED,
        "other": frozenset(),
    },
    "admin": {relation: frozenset(ACTIONS) for relation in RELATIONS},
}
"""role → relation → the actions allowed. Users, teams, pools and workflows are admins' alone."""


@dataclass(frozen=True)
class Actor:
    """The user an API call acts for, with what the permission rules need."""

    id: int
    name: str
    role: str
    team_id: int | None
    pool_ids: frozenset[int]
    team_member_ids: frozenset[int]
    team_pool_ids: frozenset[int]

    @property
    def is_admin(self) -> bool:
        """True for admins, who see and change everything."""
        return self.role == "admin"

    @property
    def is_manager(self) -> bool:
        """True for managers and admins."""
        return self.role in ("manager", "admin")

    @property
    def team_user_ids(self) -> frozenset[int]:
        """The users whose records, tasks and figures this actor manages (always itself)."""
        if self.role == "manager":
            return self.team_member_ids | {self.id}
        return frozenset({self.id})

    @property
    def cause(self) -> str:
        """How the journal names a change this person made."""
        return f"user:{self.name}"


Fetch = Callable[[str, dict[str, Any]], Sequence[Sequence[Any]]]
"""Runs one SQL query with ``:name`` parameters and returns its rows."""

_USER = "SELECT id, name, role, team_id, active FROM crm_user WHERE name = :name"
_POOLS = "SELECT pool_id FROM pool_member WHERE user_id = :user"
_TEAM = "SELECT id FROM crm_user WHERE team_id = :team"
_TEAM_POOLS = (
    "SELECT DISTINCT pool_id FROM pool_member"
    " WHERE user_id IN (SELECT id FROM crm_user WHERE team_id = :team)"
)


def load_actor(session: Session, name: str | None) -> Actor:
    """Resolve the acting user; unknown or inactive users are refused."""
    from sqlalchemy import text

    connection = session.connection()
    return read_actor(lambda sql, params: connection.execute(text(sql), params).all(), name)


def read_actor(fetch: Fetch, name: str | None) -> Actor:
    """Resolve the acting user through ``fetch``, as :func:`load_actor` does through a session."""
    if not name:
        raise InvalidInput(_("no acting user: pass --as USER or set CRM_USER"))
    found = fetch(_USER, {"name": name})
    if not found:
        raise NotFound(
            _("no user '{name}' (an admin adds one with: crm user add)", name=excerpt(name))
        )
    user_id, user_name, role, team_id, active = found[0]
    if not active:
        raise PermissionDenied(_("user '{name}' is inactive", name=name))
    pools = frozenset(row[0] for row in fetch(_POOLS, {"user": user_id}))
    members: frozenset[int] = frozenset()
    team_pools: frozenset[int] = frozenset()
    if team_id is not None:
        members = frozenset(row[0] for row in fetch(_TEAM, {"team": team_id}))
        team_pools = frozenset(row[0] for row in fetch(_TEAM_POOLS, {"team": team_id})) - pools
    return Actor(user_id, user_name, role, team_id, pools, members, team_pools)


def relation(actor: Actor, owner_id: int | None, pool_id: int | None) -> str:
    """How ``actor`` stands to a record owned by ``owner_id`` in pool ``pool_id``."""
    if owner_id is not None:
        if owner_id == actor.id:
            return "own"
        return "team" if owner_id in actor.team_member_ids else "other"
    if pool_id is not None:
        if pool_id in actor.pool_ids:
            return "pool_member"
        if pool_id in actor.team_pool_ids:
            return "pool_team"
    return "other"


def allows(actor: Actor, action: str, owner_id: int | None, pool_id: int | None) -> bool:
    """True when the rules let ``actor`` do ``action`` to such a record."""
    return action in RULES[actor.role][relation(actor, owner_id, pool_id)]


def _relation_sql(actor: Actor, name: str) -> ColumnElement[bool]:
    """The SQL form of one relation; the five are disjoint, as :func:`relation` is."""
    from sqlalchemy import and_, false, or_
    from sqlmodel import col

    from crm_core.models import Record

    owner, pool = col(Record.owner_id), col(Record.pool_id)
    if name == "own":
        return owner == actor.id
    if name == "team":
        return owner.in_(sorted(actor.team_member_ids - {actor.id}))
    if name == "pool_member":
        return and_(owner.is_(None), pool.in_(sorted(actor.pool_ids)))
    if name == "pool_team":
        return and_(owner.is_(None), pool.in_(sorted(actor.team_pool_ids)))
    known = [_relation_sql(actor, r) for r in RELATIONS if r != "other"]
    return ~or_(false(), *known)


def record_filter(actor: Actor, action: str = "show") -> ColumnElement[bool]:
    """The SQL condition that selects the records ``actor`` may ``action``."""
    from sqlalchemy import false, or_, true

    granted = [r for r in RELATIONS if action in RULES[actor.role][r]]
    if len(granted) == len(RELATIONS):
        return true()
    return or_(false(), *(_relation_sql(actor, r) for r in granted))


def deal_relation(actor: Actor, deal: Deal, record: Record) -> str:
    """How ``actor`` stands to a deal: by the deal's owner, else by its record."""
    if deal.owner_id is not None:
        return relation(actor, deal.owner_id, None)
    return relation(actor, record.owner_id, record.pool_id)


def deal_filter(actor: Actor, action: str = "show") -> ColumnElement[bool]:
    """The SQL condition (over ``deal`` joined to its ``record``) of the deals ``actor`` may
    ``action``: an owned deal judged by its owner as :func:`relation` does, else its record."""
    from sqlalchemy import and_, false, or_, true
    from sqlmodel import col

    from crm_core.models import Deal

    if all(action in RULES[actor.role][r] for r in RELATIONS):
        return true()
    granted = [r for r in ("own", "team", "other") if action in RULES[actor.role][r]]
    owner = col(Deal.owner_id)
    by_owner = {
        "own": owner == actor.id,
        "team": owner.in_(sorted(actor.team_member_ids - {actor.id})),
    }
    by_owner["other"] = ~or_(by_owner["own"], by_owner["team"])
    owned = or_(false(), *(by_owner[r] for r in granted))
    return or_(and_(owner.is_not(None), owned), and_(owner.is_(None), record_filter(actor, action)))


def check_deal(actor: Actor, action: str, deal: Deal, record: Record) -> None:
    """Refuse unless ``actor`` may ``action`` this deal (see :func:`deal_relation`)."""
    where = deal_relation(actor, deal, record)
    granted = RULES[actor.role][where]
    if action in granted:
        return
    if "show" not in granted:
        raise PermissionDenied(
            _("deal #{deal_id} is not visible to {actor}", deal_id=deal.id, actor=actor.name)
        )
    raise PermissionDenied(
        _(
            "{actor} ({role}) may not {action} deal #{deal_id}, which {where}",
            actor=actor.name,
            role=actor.role,
            action=action,
            deal_id=deal.id,
            where=_(_WHERE[where]),
        )
    )


_WHERE = {
    "own": N_("is theirs"),
    "team": N_("belongs to their team"),
    "pool_member": N_("waits in their pool"),
    "pool_team": N_("waits in a pool their team works"),
    "other": N_("is neither theirs, their team's nor in their pools"),
}


class Held(Protocol):
    """What :func:`check` reads of a record: who holds it."""

    @property
    def owner_id(self) -> int | None: ...

    @property
    def pool_id(self) -> int | None: ...


HeldRecord = TypeVar("HeldRecord", bound=Held)


def check(
    actor: Actor, action: str, record: HeldRecord | None, record_id: int, owner: str | None = None
) -> HeldRecord:
    """Return ``record`` if ``actor`` may ``action`` it; refuse missing or forbidden records.

    A record the actor may not even see is refused the same way whatever the
    action, so that a refusal tells nothing about records out of sight.
    """
    if record is None:
        raise NotFound(_("no record #{record_id}", record_id=record_id))
    where = relation(actor, record.owner_id, record.pool_id)
    granted = RULES[actor.role][where]
    if action in granted:
        return record
    if "show" not in granted:
        holder = _("owned by {owner}", owner=owner) if owner else _("not in any of your pools")
        raise PermissionDenied(
            _(
                "record #{record_id} is {holder}; {actor} may not use it",
                record_id=record_id,
                holder=holder,
                actor=actor.name,
            )
        )
    hint: str = ""
    if where == "pool_member" and "claim" in granted:
        hint = _(": claim it first (crm pool claim {record_id})", record_id=record_id)
    elif "assign" in granted and action in ("update", "move", "reassign"):
        hint = _(": give it an owner first (crm record update {record_id} --owner NAME)",
                 record_id=record_id)  # fmt: skip
    raise PermissionDenied(
        _(
            "{actor} ({role}) may not {action} record #{record_id}, which {where}{hint}",
            actor=actor.name,
            role=actor.role,
            action=action,
            record_id=record_id,
            where=_(_WHERE[where]),
            hint=hint,
        )
    )


def may_use_pool(actor: Actor, pool_id: int) -> bool:
    """True when ``actor`` may list pool ``pool_id`` and release records into it."""
    return "show" in RULES[actor.role][relation(actor, None, pool_id)]


def require_admin(actor: Actor, what: str) -> None:
    """Refuse unless ``actor`` is an admin."""
    if not actor.is_admin:
        raise PermissionDenied(
            _(
                "only an admin may {what}; {actor} is {role}",
                what=what,
                actor=actor.name,
                role=actor.role,
            )
        )


def check_owner_choice(actor: Actor, owner_id: int | None, owner_name: str) -> None:
    """Refuse giving a record to ``owner`` unless the actor may hand records to them."""
    if actor.is_admin or owner_id == actor.id:
        return
    if actor.role == "manager" and owner_id in actor.team_user_ids:
        return
    scope = "their team" if actor.role == "manager" else "themselves"
    raise PermissionDenied(
        _(
            "{actor} ({role}) may give records only to {scope}, not to {owner_name}",
            actor=actor.name,
            role=actor.role,
            scope=scope,
            owner_name=owner_name,
        )
    )


_OWNERLESS = ("pool_member", "pool_team")


def applies(action: str, relation: str) -> bool:
    """False where the action has no meaning: claiming or assigning an owned record,
    releasing or reassigning one nobody owns."""
    if action in ("claim", "assign"):
        return relation not in ("own", "team")
    if action in ("release", "reassign"):
        return relation not in _OWNERLESS
    return True


def markdown_table() -> str:
    """The rules as the README's Markdown table: a row per role and relation.

    ✓ allowed, – refused, · meaningless there (see :func:`applies`).
    """
    from crm_core.models import ROLES

    head = ["role", "relation", *ACTIONS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for role in ROLES:
        for rel in RELATIONS:
            marks = [
                ("✓" if a in RULES[role][rel] else "–") if applies(a, rel) else "·" for a in ACTIONS
            ]
            lines.append("| " + " | ".join([role, rel.replace("_", " "), *marks]) + " |")
    return "\n".join(lines) + "\n"
