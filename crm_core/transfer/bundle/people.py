"""The import entities of the organisation: teams, users, pools."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_core.models import ROLES
from crm_core.transfer.bundle.entity import (
    TABLES,
    ImportContext,
    ImportEntity,
    Rejection,
    Row,
    Target,
    insert_returning,
    jsonable,
    simple_find,
    stored_rows,
    taken,
    update_by_id,
)

TEAM = TABLES["team"]
USER = TABLES["crm_user"]
POOL = TABLES["pool"]


def _renamed(row: Row, names: dict[str, str]) -> dict[str, Any]:
    return {names[k]: v for k, v in row.values.items() if k in names}


class TeamEntity(ImportEntity):
    """Teams: ``external_id``, ``name`` (required, the natural key), ``region``."""

    name = "team"
    COLUMNS: ClassVar[dict[str, str]] = {
        "external_id": "external_id",
        "name": "name",
        "region": "region",
    }

    def targets(self, registry: Any, kind: str | None) -> dict[str, Target]:
        """A team's fields."""
        return {"external_id": Target("external_id"), "name": Target("name", required=True),
                "region": Target("region")}  # fmt: skip

    def find(self, session: Session, kind: str | None, by: str, values: list[str]) -> Any:
        """Teams by external id or name."""
        return simple_find(session, TEAM, by, values)

    def current(self, session: Session, kind: str | None, ids: list[int]) -> Any:
        """Stored teams."""
        return stored_rows(session, TEAM, ids, self.COLUMNS)

    def check(self, ctx: ImportContext, kind: str | None, row: Row) -> Rejection | None:
        """A new team's name and external id are free."""
        return taken(ctx.session, TEAM, row, ("name", "external_id"), self.COLUMNS)

    def create(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Insert the teams in one statement."""
        values = [{**_renamed(r, self.COLUMNS), "created_at": ctx.now} for r in rows]
        for row, team_id in zip(rows, insert_returning(ctx.session, TEAM, values), strict=True):
            row.id = team_id
            ctx.journal("team", team_id, None, "create", None, jsonable(row.values), line=row.line)

    def update(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Write the teams' changed fields."""
        _update(ctx, "team", TEAM, rows, self.COLUMNS)

    def rows(self, session: Session, kind: str | None) -> Iterator[dict[str, Any]]:
        """Every team."""
        for row in session.execute(sa.select(TEAM).order_by(TEAM.c.id)).mappings():
            yield {"external_id": row["external_id"] or f"crm:{row['id']}", "name": row["name"],
                   "region": row["region"]}  # fmt: skip


class UserEntity(ImportEntity):
    """Users: name (required), role, team, manager (whose team a user without one joins),
    e-mail, phone, active."""

    name = "user"
    COLUMNS: ClassVar[dict[str, str]] = {
        "external_id": "external_id",
        "name": "name",
        "role": "role",
        "team": "team_id",
        "email": "email",
        "phone": "phone",
        "active": "active",
    }

    def targets(self, registry: Any, kind: str | None) -> dict[str, Target]:
        """A user's fields."""
        return {
            "external_id": Target("external_id"),
            "name": Target("name", required=True),
            "role": Target("role", choices=ROLES),
            "team": Target("team", "ref", ref="team", by=("name", "external_id")),
            "manager": Target("manager", "ref", ref="user", by=("name", "email", "external_id")),
            "email": Target("email"),
            "phone": Target("phone"),
            "active": Target("active", "bool"),
        }

    def key_fields(self, registry: Any, kind: str | None) -> tuple[str, ...]:
        """Users are found by external id, name or e-mail."""
        return ("external_id", "name", "email")

    def find(self, session: Session, kind: str | None, by: str, values: list[str]) -> Any:
        """Users by external id, name or e-mail (e-mails compared lower-cased)."""
        if by != "email":
            return simple_find(session, USER, by, values)
        found = simple_find(session, USER, "email", [v.lower() for v in values])
        return {v: found[v.lower()] for v in values if v.lower() in found}

    def current(self, session: Session, kind: str | None, ids: list[int]) -> Any:
        """Stored users (the manager is not stored: it only gives a team)."""
        return stored_rows(session, USER, ids, self.COLUMNS)

    def check(self, ctx: ImportContext, kind: str | None, row: Row) -> Rejection | None:
        """Normalise the e-mail and phone as ``crm user add`` does."""
        for name in ("email", "phone"):
            if name in row.values:
                try:
                    row.values[name] = ctx.registry.normalize(name, str(row.values[name]))
                except ValueError as exc:
                    return Rejection(name, str(exc))
        refused = taken(ctx.session, USER, row, ("name", "external_id"), self.COLUMNS)
        if refused is not None:
            return refused
        manager = row.values.pop("manager", None)
        if manager is not None and "team" not in row.values:
            team = ctx.session.execute(sa.select(USER.c.team_id).where(USER.c.id == manager))
            row.values["team"] = team.scalar()
        return None

    def create(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Insert the users in one statement (role operator unless given)."""
        values = []
        for row in rows:
            row.values.setdefault("role", "operator")
            row.values.setdefault("active", True)
            values.append({**_renamed(row, self.COLUMNS), "created_at": ctx.now})
        for row, user_id in zip(rows, insert_returning(ctx.session, USER, values), strict=True):
            row.id = user_id
            state = {
                "name": row.values["name"],
                "role": row.values["role"],
                "team_id": row.values.get("team"),
                "active": row.values["active"],
            }
            state.update({k: row.values[k] for k in ("email", "phone") if row.values.get(k)})
            ctx.journal("user", user_id, None, "create", None, state, line=row.line)

    def update(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Write the users' changed fields."""
        _update(ctx, "user", USER, rows, self.COLUMNS)

    def rows(self, session: Session, kind: str | None) -> Iterator[dict[str, Any]]:
        """Every user, the team by its external id."""
        query = sa.select(TEAM.c.id, TEAM.c.external_id)
        teams = {i: e or f"crm:{i}" for i, e in session.execute(query)}
        for row in session.execute(sa.select(USER).order_by(USER.c.id)).mappings():
            yield {
                "external_id": row["external_id"] or f"crm:{row['id']}",
                "name": row["name"],
                "role": row["role"],
                "team": teams.get(row["team_id"]),
                "email": row["email"],
                "phone": row["phone"],
                "active": row["active"],
            }


class PoolEntity(ImportEntity):
    """Pools, found by name (a record's ``pool``); a file of pools adds the missing ones."""

    name = "pool"

    def targets(self, registry: Any, kind: str | None) -> dict[str, Target]:
        """A pool's one field."""
        return {"name": Target("name", required=True)}

    def key_fields(self, registry: Any, kind: str | None) -> tuple[str, ...]:
        """Pools are found by name."""
        return ("name",)

    def find(self, session: Session, kind: str | None, by: str, values: list[str]) -> Any:
        """Pools by name."""
        return simple_find(session, POOL, "name", values)

    def current(self, session: Session, kind: str | None, ids: list[int]) -> Any:
        """Stored pools."""
        return stored_rows(session, POOL, ids, {"name": "name"})

    def create(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """Insert the pools."""
        values = [{"name": r.values["name"], "created_at": ctx.now} for r in rows]
        for row, pool_id in zip(rows, insert_returning(ctx.session, POOL, values), strict=True):
            row.id = pool_id
            ctx.journal("pool", pool_id, None, "create", None, jsonable(row.values), line=row.line)

    def update(self, ctx: ImportContext, kind: str | None, rows: list[Row]) -> None:
        """A pool has nothing to update but its key."""

    def rows(self, session: Session, kind: str | None) -> Iterator[dict[str, Any]]:
        """Every pool."""
        for (name,) in session.execute(sa.select(POOL.c.name).order_by(POOL.c.id)):
            yield {"name": name}


def _update(
    ctx: ImportContext, entity: str, table: sa.Table, rows: list[Row], names: dict[str, str]
) -> None:
    """Write each row's changed values and journal what changed."""
    for row in rows:
        assert row.id is not None and row.before is not None
        after = {names[k]: v for k, v in row.values.items() if k in names}
        before = {names[k]: row.before.get(k) for k in row.values if k in names}
        row.values = after
        ctx.journal(entity, row.id, None, "update", jsonable(before), jsonable(after),
                    line=row.line)  # fmt: skip
    update_by_id(ctx.session, table, rows)
