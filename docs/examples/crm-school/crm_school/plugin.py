"""The school plugin: the module the ``crm.plugins`` entry point names.

crm-core registers this module and calls the ``@hookimpl`` functions it
holds; each step of the tutorial wrote them in a module of its own, gathered
here.
"""

from crm_school.channel import crm_register_channels
from crm_school.commands import crm_register_commands
from crm_school.kind import crm_register_kinds
from crm_school.reports import crm_register_reports
from crm_school.routing import crm_register_assignment_strategies
from crm_school.rules import crm_validate_record
from crm_school.screens import (
    crm_register_dashboard_cards,
    crm_register_detail_panels,
    crm_register_list_columns,
)
from crm_school.settings import crm_register_settings
from crm_school.trials import crm_register_actions, crm_register_migrations

__all__ = [
    "crm_register_actions",
    "crm_register_assignment_strategies",
    "crm_register_channels",
    "crm_register_commands",
    "crm_register_dashboard_cards",
    "crm_register_detail_panels",
    "crm_register_kinds",
    "crm_register_list_columns",
    "crm_register_migrations",
    "crm_register_reports",
    "crm_register_settings",
    "crm_validate_record",
]
