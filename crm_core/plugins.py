"""Finding plugins (entry-point group ``crm.plugins``) and calling their hooks."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy
from pluggy import HookImpl

from crm_core import __version__, hookspecs, i18n
from crm_core.errors import ConfigError, PluginError

ENTRY_POINT_GROUP = "crm.plugins"
CORE_PLUGIN = "core"
# Hooks crm-core had and no longer calls, with what a plugin should do instead.
REMOVED_HOOKS = {
    "crm_notify": "it ran inside the transaction, dry runs included; deliver notices "
    "through crm_register_channels instead (see crm_core/hookspecs.py)",
}


class UnknownHook(PluginError):
    """A plugin implements a hook crm-core does not have, or no longer calls (exit 6)."""

    def __init__(self, plugin: str, hook: str) -> None:
        advice = REMOVED_HOOKS.get(hook, "no such hook (see crm_core/hookspecs.py)")
        super().__init__(plugin, hook, LookupError(advice))
        what = "which crm-core no longer calls" if hook in REMOVED_HOOKS else "unknown to crm-core"
        self.args = (f"plugin '{plugin}' implements {hook}, {what}: {advice}",)


@dataclass
class PluginInfo:
    """What ``crm plugins list`` shows about one plugin."""

    name: str
    version: str
    hooks: list[str]
    kinds: list[str] = field(default_factory=list)
    disabled: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the stable JSON form."""
        return {
            "name": self.name,
            "version": self.version,
            "hooks": self.hooks,
            "kinds": self.kinds,
            "disabled": self.disabled,
        }


class PluginHost:
    """The pluggy manager of one CRM, with the core's built-ins registered first."""

    def __init__(
        self,
        disabled: Iterable[str] = (),
        extra: Iterable[tuple[str, object]] = (),
        entry_points: bool = True,
    ) -> None:
        from crm_core import builtin

        self.disabled = frozenset(disabled)
        self.pm = pluggy.PluginManager("crm")
        self.pm.add_hookspecs(hookspecs)
        self.pm.register(builtin, name=CORE_PLUGIN)
        for name in self.disabled:
            self.pm.set_blocked(name)
        self.versions: dict[str, str] = {CORE_PLUGIN: __version__}
        extra = list(extra)
        if entry_points:
            # An extra plugin stands in for the installed one of its name: a plugin's
            # own tests register its module whether or not it is installed.
            self._load_entry_points(skip={name for name, _ in extra})
        for name, plugin in extra:
            if name not in self.disabled:
                self.pm.register(plugin, name=name)
        self._refuse_unknown_hooks()
        self._register_messages()

    def _register_messages(self) -> None:
        """Hand each plugin's catalogues to :mod:`crm_core.i18n` (loaded only when used)."""

        def register_for(plugin: str) -> dict[str, Any]:
            return {"register": lambda lang, entries: i18n.add_catalogue(plugin, lang, entries)}

        self.call_each("crm_register_messages", register_for)

    def _refuse_unknown_hooks(self) -> None:
        """Refuse a hook implementation that matches no hookspec, rather than never call it.

        pluggy accepts such implementations silently; a plugin written for a
        removed hook (``crm_notify``) would then lose its behaviour unnoticed.
        """
        for hook, caller in vars(self.pm.hook).items():
            if hook.startswith("_") or caller.has_spec():
                continue
            for impl in caller.get_hookimpls():
                if not impl.optionalhook:
                    raise UnknownHook(impl.plugin_name, hook)

    def _load_entry_points(self, skip: set[str]) -> None:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in self.disabled or ep.name in skip or self.pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must not look like a core crash
                raise PluginError(ep.name, "import", exc) from exc
            self.pm.register(plugin, name=ep.name)
            self.versions[ep.name] = ep.dist.version if ep.dist else "unknown"

    def call_each(
        self, hook: str, kwargs: Callable[[str], dict[str, Any]] | dict[str, Any]
    ) -> list[tuple[str, Any]]:
        """Call every implementation of ``hook`` in registration order, one at a time.

        The core is registered first, so a plugin that registers a name the
        core already took is the one blamed.

        ``kwargs`` may be a function of the plugin name, so registration hooks
        can hand each plugin a ``register`` callback that knows who called it.
        Returns ``(plugin name, result)`` pairs; an exception is re-raised as
        :class:`PluginError` naming the plugin.
        """
        if not callable(kwargs):
            return self.caller(hook)(kwargs)
        results = []
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            results.append((impl.plugin_name, _call(hook, impl, kwargs(impl.plugin_name))))
        return results

    def caller(self, hook: str) -> Callable[[dict[str, Any]], list[tuple[str, Any]]]:
        """:meth:`call_each` of ``hook``, its implementations looked up once, to call it often.

        An import checks thousands of rows a batch with one; plugins registered
        after it was made are not called by it.
        """
        impls = getattr(self.pm.hook, hook).get_hookimpls()

        def call(kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
            return [(impl.plugin_name, _call(hook, impl, kwargs)) for impl in impls]

        return call

    def implemented(self, hook: str) -> bool:
        """True when some plugin other than the core implements ``hook``."""
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        return any(impl.plugin_name != CORE_PLUGIN for impl in impls)

    def infos(self, kinds_by_plugin: dict[str, list[str]]) -> list[PluginInfo]:
        """Describe every registered plugin, and every disabled one by name."""
        out = []
        for name, plugin in sorted(self.pm.list_name_plugin()):
            if plugin is None:
                continue
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            version = self.versions.get(name, "unknown")
            out.append(PluginInfo(name, version, hooks, sorted(kinds_by_plugin.get(name, []))))
        out.extend(PluginInfo(n, "", [], [], disabled=True) for n in sorted(self.disabled))
        return out


def _call(hook: str, impl: HookImpl, kwargs: dict[str, Any]) -> Any:
    """Call one implementation; an exception is re-raised as :class:`PluginError` naming it,
    except a :class:`ConfigError` (the admin's settings, not the plugin, are at fault)."""
    try:
        return impl.function(*[kwargs[a] for a in impl.argnames])
    except (PluginError, ConfigError):  # a bad crm.toml is the admin's to fix, not a crash
        raise
    except Exception as exc:
        raise PluginError(impl.plugin_name, hook, exc) from exc
