"""The frame engine port: reading and writing tabular data with one dataframe library."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class FrameEngine(Protocol):
    """Reads and writes the values of one data library: tables (pandas, polars) or
    N-dimensional arrays (xarray), each as files in the formats listed in ``drivers``."""

    name: str
    drivers: tuple[str, ...]

    def handles(self, value: Any) -> bool:
        """Whether ``value`` is a frame (or series) of this engine's library."""
        ...

    def write(self, value: Any, path: Path, driver: str) -> None:
        """Write ``value`` to ``path`` in format ``driver`` (``"parquet"``, ``"csv"``...)."""
        ...

    def read(self, path: Path, driver: str, **kwargs: Any) -> Any:
        """Read ``path`` written in format ``driver``."""
        ...


@runtime_checkable
class FrameDescriber(Protocol):
    """Capability: an engine that can name the columns of a frame or a tabular file."""

    def describe(self, value: Any, driver: str | None = None) -> list[tuple[str, str]] | None:
        """``(column, logical type)`` pairs (see :data:`consist.core.tables.LOGICAL_TYPES`) of
        a frame, or of the file at path ``value`` written as ``driver``; None if unknown."""
        ...


@runtime_checkable
class FrameRecords(Protocol):
    """Capability: an engine that turns frames into plain rows and back (for stores that
    cannot scan frames themselves)."""

    def to_records(self, value: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names, and rows of plain Python values with None for missing ones."""
        ...

    def from_records(self, names: list[str], rows: list[tuple[Any, ...]]) -> Any:
        """A frame of ``rows`` with columns ``names``."""
        ...


@runtime_checkable
class TypedReader(Protocol):
    """Capability: an engine with several in-memory types, read as the one a step's parameter
    asks for (a polars ``LazyFrame`` scans instead of loading; an xarray ``DataArray``)."""

    def read_as(self, path: Path, driver: str, type_name: str, **kwargs: Any) -> Any:
        """Read ``path`` as the engine's type called ``type_name`` (qualified or short)."""
        ...


@runtime_checkable
class FrameCollector(Protocol):
    """Capability: an engine whose values may be lazy query plans, made concrete for
    consumers that need the rows in memory (a database scanning the frame)."""

    def collect(self, value: Any) -> Any:
        """An in-memory frame with the rows of ``value``."""
        ...


@runtime_checkable
class FrameStacker(Protocol):
    """Capability: put one value of several runs side by side along a new dimension."""

    def stack(
        self,
        values: Sequence[Any],
        *,
        dim: str,
        labels: Sequence[str],
        coords: Mapping[str, Sequence[Any]],
        variables: Sequence[str] | None = None,
    ) -> Any:
        """One value holding ``values`` along ``dim`` labelled ``labels``, with ``coords``
        along ``dim``; only ``variables`` when given (``KeyError`` if a value lacks one)."""
        ...
