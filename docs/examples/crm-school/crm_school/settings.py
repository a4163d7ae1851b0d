"""The plugin's settings: the ``[plugins.school]`` table of ``crm.toml``."""

from __future__ import annotations

from collections.abc import Callable

from crm_core import hookimpl

SCHEMA = {
    "type": "object",
    "properties": {
        "campus": {
            "type": "string",
            "default": "Main campus",
            "description": "Where the trial lessons take place.",
        },
        "seats": {
            "type": "integer",
            "minimum": 1,
            "default": 8,
            "description": "Trial lesson seats a day.",
        },
    },
}


@hookimpl
def crm_register_settings(register: Callable[..., None]) -> None:
    """Declare ``campus`` and ``seats``; read them with ``crm.settings("school")``."""
    register(SCHEMA)
