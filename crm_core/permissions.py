"""Who may see and change which records, as one rule with a SQL and a Python form.

Operators: their own records and the records in pools they belong to.
Managers: those, plus every record owned by a member of their team.
Admins: everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import Session, col, select

from crm_core.errors import InvalidInput, NotFound, PermissionDenied
from crm_core.models import PoolMember, Record, User


@dataclass(frozen=True)
class Actor:
    """The user an API call acts for, with what the permission rule needs."""

    id: int
    name: str
    role: str
    team_id: int | None
    pool_ids: frozenset[int]
    team_user_ids: frozenset[int]

    @property
    def is_admin(self) -> bool:
        """True for admins, who see and change everything."""
        return self.role == "admin"

    @property
    def is_manager(self) -> bool:
        """True for managers and admins."""
        return self.role in ("manager", "admin")

    @property
    def cause(self) -> str:
        """How the journal names a change this person made."""
        return f"user:{self.name}"


def load_actor(session: Session, name: str | None) -> Actor:
    """Resolve the acting user; unknown or inactive users are refused."""
    if not name:
        raise InvalidInput("no acting user: pass --as USER or set CRM_USER")
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None or user.id is None:
        raise NotFound(f"no user '{name}' (an admin adds one with: crm user add)")
    if not user.active:
        raise PermissionDenied(f"user '{name}' is inactive")
    pools = session.exec(select(PoolMember.pool_id).where(PoolMember.user_id == user.id)).all()
    team: set[int] = set()
    if user.role == "manager" and user.team_id is not None:
        rows = session.exec(select(User.id).where(User.team_id == user.team_id)).all()
        team = {i for i in rows if i is not None}
    team.add(user.id)
    return Actor(user.id, user.name, user.role, user.team_id, frozenset(pools), frozenset(team))


def record_filter(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition that selects the records ``actor`` may see."""
    if actor.is_admin:
        return true()
    clauses = [col(Record.owner_id).in_(sorted(actor.team_user_ids))]
    if actor.pool_ids:
        clauses.append(col(Record.pool_id).in_(sorted(actor.pool_ids)))
    return or_(false(), *clauses)


def may_access(actor: Actor, owner_id: int | None, pool_id: int | None) -> bool:
    """The Python form of :func:`record_filter` for one record."""
    if actor.is_admin:
        return True
    return owner_id in actor.team_user_ids or (pool_id is not None and pool_id in actor.pool_ids)


def check_record(actor: Actor, record: Record | None, record_id: int, owner: str | None) -> Record:
    """Return ``record`` if ``actor`` may use it; refuse missing or foreign records."""
    if record is None:
        raise NotFound(f"no record #{record_id}")
    if not may_access(actor, record.owner_id, record.pool_id):
        holder = f"owned by {owner}" if owner else "not in any of your pools"
        raise PermissionDenied(f"record #{record_id} is {holder}; {actor.name} may not use it")
    return record


def require_admin(actor: Actor, what: str) -> None:
    """Refuse unless ``actor`` is an admin."""
    if not actor.is_admin:
        raise PermissionDenied(f"only an admin may {what}; {actor.name} is {actor.role}")


def check_owner_choice(actor: Actor, owner_id: int | None, owner_name: str) -> None:
    """Refuse giving a record to ``owner`` unless the actor may hand records to them."""
    if actor.is_admin or owner_id == actor.id:
        return
    if actor.role == "manager" and owner_id in actor.team_user_ids:
        return
    scope = "their team" if actor.role == "manager" else "themselves"
    raise PermissionDenied(
        f"{actor.name} ({actor.role}) may give records only to {scope}, not to {owner_name}"
    )
