"""Frame IO over the registered frame engines, chosen by value type or annotation."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from consist.api.plugins import construct
from consist.core.errors import AdapterNotFoundError, OptionValueError
from consist.core.ports.frames import (
    FrameCollector,
    FrameDescriber,
    FrameRecords,
    FrameStacker,
    TypedReader,
)
from consist.core.registry import FrameEngineSpec, Registry
from consist.core.tables import Column, TableSchema

log = logging.getLogger("consist")

DEFAULT_ENGINE = "pandas"
# Libraries whose engines ship with Consist, and the extra that installs each.
_KNOWN_EXTRAS = {
    "pandas": "pandas pyarrow",
    "polars": "'consist[polars]'",
    "xarray": "'consist[arrays]'",
}


def _type_names(value: Any) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in type(value).__mro__]


class FrameIO:
    """Reads and writes tables through whichever engine fits; engines load on first use."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._engines: dict[str, Any] = {}
        self._default_drivers: tuple[str, ...] | None = None

    def engine(self, name: str) -> Any:
        if name not in self._engines:
            self._engines[name] = construct(self._registry.get("frame_engine", name))
        return self._engines[name]

    def _engine_for_value(self, value: Any) -> Any | None:
        # Only modules already imported can have produced the value: never import a library
        # just to ask whether a value belongs to it.
        # The registry narrows by type name (without importing any frame library); the
        # engine itself has the last word on whether the value is one of its frames.
        spec = self._registry.frame_engine_for_type(_type_names(value))
        if spec is None:
            return None
        engine = self.engine(spec.name)
        return engine if engine.handles(value) else None

    def is_frame(self, value: Any) -> bool:
        return self._engine_for_value(value) is not None

    def write(self, value: Any, path: Path, driver: str) -> None:
        self.check_writable(value, driver)
        engine = self._engine_for_value(value)
        if engine is None:
            raise AdapterNotFoundError(f"no frame engine handles {type(value).__name__} values.")
        engine.write(value, path, driver)

    def check_writable(self, value: Any, driver: str) -> None:
        """Refuse a frame no engine can write as ``driver``, before any file is touched."""
        spec = self._registry.frame_engine_for_type(_type_names(value))
        if spec is None:
            raise AdapterNotFoundError(f"no frame engine handles {type(value).__name__} values.")
        if driver not in spec.drivers:
            example = "csv" if "csv" in spec.drivers else spec.drivers[-1]
            raise OptionValueError(
                "driver",
                driver,
                spec.drivers,
                f"The {spec.name} engine writes these formats; pick one with driver= or a "
                f"path suffix such as '.{example}'.",
            )

    def check_engine(self, name: object) -> None:
        """Refuse an ``engine=`` name no installed frame engine answers to."""
        names = [spec.name for spec in self._registry.specs("frame_engine")]
        if name not in names:
            raise OptionValueError("engine", name, names)

    def engine_name_for(self, frame_type: str) -> str:
        if not frame_type:
            return DEFAULT_ENGINE
        spec = self._registry.frame_engine_for_type([frame_type])
        if spec is not None:
            return spec.name
        library = frame_type.split(".", 1)[0]
        if library in _KNOWN_EXTRAS:
            # The library's own engine is not registered (e.g. blocked by Tracker(plugins=)).
            raise AdapterNotFoundError(
                f"a parameter annotated {frame_type} needs the {library} engine, which is not "
                f"registered; pip install {_KNOWN_EXTRAS[library]} and do not block "
                "consist.adapters.frames.plugin."
            )
        return DEFAULT_ENGINE

    def check_available(self, frame_type: str) -> None:
        """Refuse an annotation whose engine's libraries are not installed, without
        importing them (a run is refused before anything about it is recorded)."""
        spec = self._registry.get("frame_engine", self.engine_name_for(frame_type))
        missing = [m for m in spec.requires if importlib.util.find_spec(m) is None]
        if missing:
            raise AdapterNotFoundError(
                f"a parameter annotated {frame_type} needs the {spec.name} engine, which "
                f"needs {', '.join(missing)} (not installed); "
                f"pip install 'consist[{spec.extra or spec.name}]'."
            )

    def read(self, path: Path, driver: str, frame_type: str = "", **kwargs: Any) -> Any:
        """Read ``path``: as ``frame_type`` when given (an annotation), else with the default
        engine, or the first engine that reads ``driver`` (e.g. xarray for zarr)."""
        if frame_type:
            name = self.engine_name_for(frame_type)
        else:
            name = self._engine_name_for_driver(driver)
        return self.read_with(name, path, driver, frame_type, **kwargs)

    def read_with(
        self, name: str, path: Path, driver: str, frame_type: str = "", **kwargs: Any
    ) -> Any:
        """Read ``path`` with the engine called ``name`` (``consist.load(engine=...)``)."""
        self.check_engine(name)
        spec = self._registry.get("frame_engine", name)
        assert isinstance(spec, FrameEngineSpec)
        if driver not in spec.drivers:
            able = [s.name for s in self._frame_specs() if driver in s.drivers]
            raise OptionValueError(
                "driver",
                driver,
                spec.drivers,
                f"The {name} engine reads these formats; "
                + (f"read {driver!r} with engine={able[0]!r}." if able else "no engine reads it."),
            )
        engine = self.engine(name)
        if frame_type and isinstance(engine, TypedReader):
            return engine.read_as(path, driver, frame_type, **kwargs)
        return engine.read(path, driver, **kwargs)

    def drivers_of(self, name: str) -> tuple[str, ...]:
        """The formats engine ``name`` reads and writes (no engine is imported)."""
        self.check_engine(name)
        spec = self._registry.get("frame_engine", name)
        return spec.drivers if isinstance(spec, FrameEngineSpec) else ()

    def _frame_specs(self) -> list[FrameEngineSpec]:
        return [s for s in self._registry.specs("frame_engine") if isinstance(s, FrameEngineSpec)]

    def _engine_name_for_driver(self, driver: str) -> str:
        if self._reads_by_default(driver):
            return DEFAULT_ENGINE
        for spec in self._frame_specs():
            if driver in spec.drivers:
                return spec.name
        return DEFAULT_ENGINE  # read_with names the formats the default engine reads

    def _reads_by_default(self, driver: str) -> bool:
        if self._default_drivers is None:
            spec = self._registry.get("frame_engine", DEFAULT_ENGINE)
            assert isinstance(spec, FrameEngineSpec)
            self._default_drivers = spec.drivers
        return driver in self._default_drivers

    def can_read(self, driver: str | None) -> bool:
        """Whether some registered engine reads ``driver`` (no engine is imported)."""
        if driver is None:
            return False
        return self._reads_by_default(driver) or any(
            driver in spec.drivers for spec in self._frame_specs()
        )

    def default_driver(self, value: Any) -> str:
        """The format a value is written in when nothing names one: its engine's first
        driver (parquet for frames, zarr for arrays)."""
        spec = self._registry.frame_engine_for_type(_type_names(value))
        return spec.drivers[0] if spec is not None and spec.drivers else "parquet"

    def is_table(self, value: Any) -> bool:
        """Whether ``value`` is a frame whose rows can be ingested (not, e.g., an array)."""
        return isinstance(self._engine_for_value(value), FrameRecords)

    def collect(self, value: Any) -> Any:
        """An in-memory frame for ``value``: a lazy query plan is executed by its engine."""
        engine = self._engine_for_value(value)
        return engine.collect(value) if isinstance(engine, FrameCollector) else value

    def stack(self, name: str, values: list[Any], **kwargs: Any) -> Any:
        """Values of engine ``name`` side by side along a new dimension (matrix views)."""
        engine = self.engine(name)
        if not isinstance(engine, FrameStacker):
            raise AdapterNotFoundError(f"engine {name!r} cannot stack values of several runs.")
        return engine.stack(values, **kwargs)

    def describe(self, value: Any, driver: str | None = None) -> TableSchema | None:
        """The column schema of a frame, or of a tabular file at path ``value``; None when
        no engine can tell. Capturing a schema never fails the caller's logging."""
        engine = self._engine_for_value(value) if driver is None else None
        if engine is None and driver is not None and self.can_read(driver):
            engine = self.engine(DEFAULT_ENGINE)
        if not isinstance(engine, FrameDescriber):
            return None
        try:
            pairs = engine.describe(value, driver)
        except Exception:  # an unreadable header is the reader's problem, later
            log.debug("consist: could not capture the schema of %r", value, exc_info=True)
            return None
        return None if pairs is None else TableSchema(tuple(Column(n, t) for n, t in pairs))

    def _records_engine(self, value: Any = None) -> FrameRecords:
        engine = self._engine_for_value(value) if value is not None else None
        engine = engine or self.engine(DEFAULT_ENGINE)
        if not isinstance(engine, FrameRecords):
            raise AdapterNotFoundError(f"frame engine {engine.name!r} cannot convert rows.")
        return engine

    def to_records(self, frame: Any) -> tuple[TableSchema, list[tuple[Any, ...]]]:
        """A frame's column schema and its rows as plain tuples."""
        names, rows = self._records_engine(frame).to_records(frame)
        described = self.describe(frame)
        types = {c.name: c.type for c in described.columns} if described else {}
        return TableSchema(tuple(Column(n, types.get(n, "other")) for n in names)), rows

    def from_records(self, names: list[str], rows: list[tuple[Any, ...]]) -> Any:
        """A frame (of the default engine) from column names and rows."""
        return self._records_engine().from_records(names, rows)
