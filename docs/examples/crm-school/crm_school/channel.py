"""The ``school_sms`` channel: notices to the person's phone, through a gateway file.

The school's SMS gateway picks up one line per message from a spool file;
``[channels.school_sms] spool = "/var/spool/sms/out.tsv"`` in ``crm.toml``
names it. Without that table the channel is not registered.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from crm_core import hookimpl
from crm_core.api import OutboxMessage, Undeliverable


@hookimpl
def crm_register_channels(register: Callable[..., None], config: dict[str, Any]) -> None:
    """Register ``school_sms`` when ``crm.toml`` has a ``[channels.school_sms]`` table."""
    if "school_sms" not in config:
        return
    spool = Path(config["school_sms"].text("spool", required=True))

    def deliver(message: OutboxMessage) -> None:
        if not message.phone:
            raise Undeliverable(f"{message.user_name} has no phone")
        # One line per notice; the id lets the gateway drop a notice sent twice.
        with spool.open("a", encoding="utf-8") as out:
            out.write(f"{message.id}\t{message.phone}\t{message.message}\n")

    register("school_sms", deliver)
