"""Plugins: discovery, the adapter registry, adapter construction.

This is the only place that names adapter modules, and it names them as dotted strings, so
the api never imports an adapter statically and discovering plugins imports no heavy library.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, cast

import pluggy

from consist.api.arguments import listing
from consist.core import hookspecs
from consist.core.errors import (
    ArgumentTypeError,
    ConsistWarning,
    OptionValueError,
    PluginError,
)
from consist.core.registry import AdapterSpec, Registry

log = logging.getLogger("consist")

DEFAULT_PLUGINS: tuple[str, ...] = (
    "consist.adapters.stores.plugin",
    "consist.adapters.filesystems.plugin",
    "consist.adapters.frames.plugin",
    "consist.adapters.executors.plugin",
)
ENTRY_POINT_GROUP = "consist.plugins"
AUTOLOAD_SWITCH = "CONSIST_DISABLE_PLUGIN_AUTOLOAD"


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    declared = declared_entry_points(ENTRY_POINT_GROUP)
    if declared is None:  # an archive on the path: importlib.metadata reads those
        from importlib.metadata import entry_points

        declared = [(ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    for name, value in declared:
        if pm.get_plugin(name) is not None or pm.is_blocked(name):
            continue
        try:
            pm.register(_load_object(value), name=name)
        except Exception as exc:  # a broken plugin must not take the library down
            warnings.warn(
                f"consist plugin {name!r} ({value}) failed to load and is skipped: "
                f"{type(exc).__name__}: {exc}",
                ConsistWarning,
                stacklevel=2,
            )


def declared_entry_points(group: str) -> list[tuple[str, str]] | None:
    """``(name, "module:object")`` of every entry point in ``group`` that the distributions
    installed on ``sys.path`` declare, read from their ``entry_points.txt`` directly.

    ``importlib.metadata`` answers the same, but it imports ``email``, ``zipfile`` and
    ``csv`` and parses every distribution's metadata for its name: ~28 ms of each process's
    start, paid again by every process of an array job. The name is in the folder's name
    (``<name>-<version>.dist-info``); like ``importlib.metadata``, the first distribution of
    a name on the path wins. None if an entry of the path is an archive (a zip or egg
    file), which only ``importlib.metadata`` reads.
    """
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for entry in sys.path:
        folder = entry or os.getcwd()
        if os.path.isfile(folder):
            return None
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            stem, _, kind = name.rpartition(".")
            if kind not in ("dist-info", "egg-info"):
                continue
            distribution = re.sub(r"[-_.]+", "-", stem.split("-")[0]).lower()
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:  # no entry points (or an egg-info file, not a folder)
                continue
            found += _section(text, group)
    return found


def _section(text: str, group: str) -> list[tuple[str, str]]:
    """``name = value`` pairs of the ``[group]`` section of an ``entry_points.txt``."""
    pairs: list[tuple[str, str]] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == group
        elif inside and "=" in line:
            name, _, value = line.partition("=")
            pairs.append((name.strip(), value.strip()))
    return pairs


def _load_object(value: str) -> Any:
    """The object an entry point's ``module:attribute.path [extras]`` names."""
    target = value.split("[", 1)[0].strip()
    module_name, _, attributes = target.partition(":")
    found: Any = importlib.import_module(module_name.strip())
    for attribute in filter(None, attributes.strip().split(".")):
        found = getattr(found, attribute)
    return found


@lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager with built-in and installed plugins registered."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for dotted in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(dotted), name=dotted)
    if os.environ.get(AUTOLOAD_SWITCH, "").strip() not in ("1", "true", "yes"):
        _load_entry_points(pm)
    _check_pending(pm)
    return pm


def _check_pending(pm: pluggy.PluginManager) -> None:
    """Fail loudly on hook implementations no hookspec declares (a misspelt hook name).

    A built-in plugin that does so is a bug in Consist and raises; a third-party one is
    unregistered with a warning naming it, like a plugin that fails to load.
    """
    while True:
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin)
            if name is None or name in DEFAULT_PLUGINS:
                raise
            pm.unregister(exc.plugin)
            warnings.warn(
                f"consist plugin {name!r} is skipped: it implements a hook Consist does not "
                f"define: {exc}",
                ConsistWarning,
                stacklevel=3,
            )
        else:
            return


def build_registry(pm: pluggy.PluginManager, plugins: Iterable[str] | None = None) -> Registry:
    """Collect adapter specs from every registered plugin (minus the blocked ones).

    ``plugins`` entries starting with ``-`` block that plugin; any other entries form an
    allow-list of third-party plugins (built-in plugins are always on).
    """
    wanted = _plugin_names(plugins)
    installed = [name for name, _ in pm.list_name_plugin()]
    for name in wanted:
        if name.lstrip("-") not in installed:
            # A misspelt name would otherwise allow or block nothing, silently.
            raise OptionValueError(
                "plugins",
                name,
                installed,
                "Prefix a name with '-' to block it.",
            )
    blocked = {p[1:] for p in wanted if p.startswith("-")}
    allowed = {p for p in wanted if not p.startswith("-")}
    registry = Registry()
    providers: tuple[pluggy.HookCaller, ...] = (
        pm.hook.consist_stores,
        pm.hook.consist_filesystems,
        pm.hook.consist_frame_engines,
        pm.hook.consist_executors,
    )
    for hook in providers:
        # One implementation at a time (in registration order), so a plugin whose hook
        # raises is skipped with a warning naming it instead of hiding every other plugin.
        for impl in hook.get_hookimpls():
            name = impl.plugin_name
            if name in blocked or (allowed and name not in allowed and name not in DEFAULT_PLUGINS):
                continue
            try:
                specs = cast("list[AdapterSpec] | None", impl.function()) or []
            except Exception as exc:
                warnings.warn(
                    f"consist plugin {name!r} failed in {hook.name}() and is skipped: {exc}",
                    ConsistWarning,
                    stacklevel=2,
                )
                continue
            registry.extend(_stamp(spec, name) for spec in specs)
    return registry


def _plugin_names(plugins: Iterable[str] | None) -> list[str]:
    """``plugins=`` as a list of names (a bare string would be split into letters)."""
    if plugins is None:
        return []
    names = listing(plugins, "plugins", "['my_plugin'] (allow) or ['-my_plugin'] (block)")
    for name in names:
        if not isinstance(name, str) or not name.strip("-"):
            raise ArgumentTypeError(
                f"plugins holds {name!r:.80}; plugin names are non-empty strings."
            )
    return names


def _stamp(spec: AdapterSpec, plugin_name: str) -> AdapterSpec:
    """Record which plugin supplied a spec, so errors can name it."""
    if spec.plugin:
        return spec
    import dataclasses

    return dataclasses.replace(spec, plugin=plugin_name)


def construct(spec: AdapterSpec, *args: Any, **kwargs: Any) -> Any:
    """Instantiate an adapter from its spec, translating import failures into clear errors."""
    factory = spec.load()
    try:
        return factory(*args, **kwargs)
    except PluginError:
        raise
    except TypeError as exc:
        raise PluginError(
            f"adapter {spec.name!r} from plugin {spec.plugin or '?'} could not be built: {exc}"
        ) from exc
