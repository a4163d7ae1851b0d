"""crm-core: a plugin-based CRM core.

Integrators use :mod:`crm_core.api` and the hook contract in
:mod:`crm_core.hookspecs`; ``hookimpl`` below marks a plugin's hook functions.
"""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("crm")
"""Decorator that marks a function as an implementation of a crm hook."""
