"""The frame engine port: reading and writing tabular data with one dataframe library."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class FrameEngine(Protocol):
    """Reads and writes tables for one dataframe library (pandas, polars, ...)."""

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
