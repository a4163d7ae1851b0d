"""The import entities of one CRM: the core's, then the plugins'.

Plugins add theirs through ``crm_register_import_entities``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm_core.fields import RegistrationError
from crm_core.transfer.bundle.customers import ContactEntity, RecordEntity
from crm_core.transfer.bundle.deals import DealEntity
from crm_core.transfer.bundle.entity import ImportEntity
from crm_core.transfer.bundle.people import PoolEntity, TeamEntity, UserEntity
from crm_core.transfer.bundle.stage_history import StageHistoryEntity
from crm_core.transfer.bundle.touchpoints import ActivityEntity, TaskEntity

CORE = (TeamEntity, UserEntity, PoolEntity, RecordEntity, ContactEntity, DealEntity,
        ActivityEntity, TaskEntity, StageHistoryEntity)  # fmt: skip


def import_entities(host: Any, registry: Any) -> dict[str, ImportEntity]:
    """Every entity an import spec may name, by name, each knowing the field registry."""
    found: dict[str, ImportEntity] = {}
    for entity in (cls() for cls in CORE):
        entity.registry = registry
        found[entity.name] = entity

    def register_for(plugin: str) -> Callable[[ImportEntity], None]:
        def register(entity: ImportEntity) -> None:
            if not isinstance(entity, ImportEntity) or not entity.name:
                raise RegistrationError(f"{plugin}: register() takes an ImportEntity with a name")
            if entity.name in found:
                raise RegistrationError(
                    f"{plugin}: import entity '{entity.name}' is registered already"
                )
            entity.registry = registry
            found[entity.name] = entity

        return register

    host.call_each("crm_register_import_entities", lambda p: {"register": register_for(p)})
    return found
