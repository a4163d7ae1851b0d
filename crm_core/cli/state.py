"""What every command shares: the database URL, the acting user, and the opened CRM."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import typer

from crm_core.clock import parse_time
from crm_core.errors import InvalidInput, quote
from crm_core.i18n import _

if TYPE_CHECKING:
    from crm_core.api import Crm


@dataclass
class CliState:
    """Global options, with the CRM opened on first use.

    ``extra_plugins`` are ``(name, module)`` pairs registered besides the
    installed ones (or instead of them, when ``entry_points`` is false), for
    both the CRM and the commands plugins add: a test's seam
    (:func:`crm_core.testing.invoke_cli` passes them as the runner's ``obj``).
    """

    db: str | None
    user: str | None
    extra_plugins: Sequence[tuple[str, object]] = ()
    entry_points: bool = True
    process: str = "cli"
    _crm: Crm | None = field(default=None, repr=False)

    @property
    def crm(self) -> Crm:
        """The CRM, opened once per command."""
        if self._crm is None:
            # Imported here: the API pulls in the database layer, which `crm --help` does not need.
            from crm_core.api import Crm

            self._crm = Crm.open(
                self.db,
                extra_plugins=self.extra_plugins,
                entry_points=self.entry_points,
                process=self.process,
            )
        return self._crm

    @property
    def actor(self) -> str:
        """The acting user's name; refused when none was given."""
        if not self.user:
            raise InvalidInput(_("no acting user: pass --as USER or set CRM_USER"))
        return self.user


def state(ctx: typer.Context) -> CliState:
    """Return the shared state of the running command."""
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState(os.environ.get("CRM_DATABASE_URL"), os.environ.get("CRM_USER"))
        ctx.find_root().obj = obj
    return obj


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    """Split ``FIELD=VALUE`` options; a pair without ``=`` is refused."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(_("expected FIELD=VALUE, got {pair}", pair=quote(pair)))
        out[name.strip()] = value
    return out


def parse_when(text: str, option: str) -> datetime:
    """Parse an ISO time given to ``option``; refused with the format expected."""
    try:
        return parse_time(text)
    except ValueError:
        raise InvalidInput(
            _(
                "{option}: {text} is not an ISO time like 2026-12-01T09:30",
                option=option,
                text=quote(text),
            )
        ) from None
