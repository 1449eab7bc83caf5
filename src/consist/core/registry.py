"""Adapter spec records and the registry that chooses among them.

A spec names its adapter and points at its class with a lazy ``"package.module:Class"``
string, so discovering every installed plugin imports no heavy library; the import happens
only when an adapter is actually chosen.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from consist.core.errors import AdapterNotFoundError, PluginError, redact

AdapterKind = Literal["store", "filesystem", "frame_engine", "executor"]


@dataclass(frozen=True, slots=True)
class AdapterSpec:
    """Base record: a named adapter and a lazy factory."""

    name: str
    factory: str
    requires: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    plugin: str = field(default="", compare=False)
    #: The ``consist[...]`` extra that installs ``requires`` (default: the adapter's name).
    extra: str = field(default="", compare=False)

    def load(self) -> Any:
        """Import and return the adapter class (or factory callable)."""
        module_name, _, attr = self.factory.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            needs = f" (it needs {', '.join(self.requires)})" if self.requires else ""
            raise AdapterNotFoundError(
                f"adapter {self.name!r} from plugin {self.plugin or '?'} cannot be imported"
                f"{needs}: {exc}. Install the matching extra, "
                f"e.g. pip install 'consist[{self.extra or self.name}]'."
            ) from exc
        return getattr(module, attr)


@dataclass(frozen=True, slots=True)
class StoreSpec(AdapterSpec):
    """A metadata store, chosen by URL scheme or file suffix of ``db_path``."""

    schemes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FileSystemSpec(AdapterSpec):
    """A filesystem, chosen by URI protocol."""

    protocols: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FrameEngineSpec(AdapterSpec):
    """A frame engine, chosen by value type, parameter annotation or ``engine=``.

    ``types`` are fully qualified class names (``"pandas.core.frame.DataFrame"``) compared by
    name, so choosing an engine for a value never imports another engine's library.
    """

    drivers: tuple[str, ...] = ()
    types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExecutorSpec(AdapterSpec):
    """An executor, chosen by ``executor=``."""


_KIND_OF: dict[type[AdapterSpec], AdapterKind] = {
    StoreSpec: "store",
    FileSystemSpec: "filesystem",
    FrameEngineSpec: "frame_engine",
    ExecutorSpec: "executor",
}


class Registry:
    """Every adapter spec known to this process, by kind and name."""

    def __init__(self) -> None:
        self._specs: dict[AdapterKind, dict[str, AdapterSpec]] = {k: {} for k in _KIND_OF.values()}

    def add(self, spec: AdapterSpec) -> None:
        kind = _KIND_OF.get(type(spec))
        if kind is None:
            raise PluginError(
                f"plugin {spec.plugin or '?'} returned {type(spec).__name__}, which is not an "
                "adapter spec; return StoreSpec, FileSystemSpec, FrameEngineSpec or ExecutorSpec."
            )
        existing = self._specs[kind].get(spec.name)
        if existing is not None:
            raise PluginError(
                f"two plugins register a {kind} adapter named {spec.name!r}: "
                f"{existing.plugin or '?'} and {spec.plugin or '?'}; uninstall or block one "
                "of them (Tracker(plugins=...) or CONSIST_DISABLE_PLUGIN_AUTOLOAD=1)."
            )
        self._specs[kind][spec.name] = spec

    def extend(self, specs: Iterable[AdapterSpec]) -> None:
        for spec in specs:
            self.add(spec)

    def specs(self, kind: AdapterKind) -> list[AdapterSpec]:
        return list(self._specs[kind].values())

    def get(self, kind: AdapterKind, name: str) -> AdapterSpec:
        try:
            return self._specs[kind][name]
        except KeyError:
            known = ", ".join(sorted(self._specs[kind])) or "none"
            raise AdapterNotFoundError(
                f"no {kind} adapter named {name!r} is installed (installed: {known})."
            ) from None

    def store_for(self, location: str) -> StoreSpec:
        """The store serving ``location``: a URL by scheme, else a path by suffix."""
        scheme, sep, _ = location.partition("://")
        for spec in self._specs["store"].values():
            assert isinstance(spec, StoreSpec)
            if sep and scheme.lower() in spec.schemes:
                return spec
            if not sep and location.lower().endswith(spec.suffixes):
                return spec
        stores = [s for s in self._specs["store"].values() if isinstance(s, StoreSpec)]
        offered = sorted(
            {f"{x}://" for s in stores for x in s.schemes} | {x for s in stores for x in s.suffixes}
        )
        raise AdapterNotFoundError(
            f"no metadata store serves db_path={redact(location)!r}; installed stores accept "
            f"{', '.join(offered) or 'nothing'}. Use e.g. 'provenance.duckdb'."
        )

    def frame_engine_for_type(self, qualified_type_names: Iterable[str]) -> FrameEngineSpec | None:
        """The frame engine whose ``types`` contain one of the given class names."""
        names = set(qualified_type_names)
        for spec in self._specs["frame_engine"].values():
            assert isinstance(spec, FrameEngineSpec)
            if names.intersection(spec.types):
                return spec
        return None
