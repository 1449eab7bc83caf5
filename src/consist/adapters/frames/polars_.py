"""The polars frame engine.

Eager frames are written with the ``write_*`` methods; a ``LazyFrame`` is streamed to disk
with the matching ``sink_*`` method where polars has one, so a query larger than memory can
still be logged. Reading returns an eager ``DataFrame`` unless the caller asks for a
``LazyFrame`` (see :meth:`PolarsEngine.read_as`), which then scans the file instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

_DRIVERS = ("parquet", "csv", "json", "feather", "arrow")


class PolarsEngine:
    """Reads and writes polars ``DataFrame``, ``LazyFrame`` and ``Series`` values.

    A ``Series`` is written as a one-column frame, as the pandas engine does.
    """

    name = "polars"
    drivers = _DRIVERS

    def handles(self, value: Any) -> bool:
        return isinstance(value, (pl.DataFrame, pl.LazyFrame, pl.Series))

    # -- writing ---------------------------------------------------------------------------

    def write(self, value: Any, path: Path, driver: str) -> None:
        if driver not in _DRIVERS:
            raise ValueError(
                f"polars cannot write driver {driver!r}; use one of {', '.join(_DRIVERS)}."
            )
        if isinstance(value, pl.Series):
            value = value.to_frame()
        if isinstance(value, pl.LazyFrame):
            _sink(value, path, driver)
            return
        if driver == "parquet":
            value.write_parquet(path)
        elif driver == "csv":
            value.write_csv(path)
        elif driver == "json":
            value.write_json(path)
        else:
            value.write_ipc(path)

    # -- reading ---------------------------------------------------------------------------

    def read(self, path: Path, driver: str, **kwargs: Any) -> pl.DataFrame:
        return self._scan(path, driver, **kwargs).collect()

    def read_as(self, path: Path, driver: str, type_name: str, **kwargs: Any) -> Any:
        """Read ``path`` as the polars type named ``type_name``: a ``LazyFrame`` scans the
        file without loading it; anything else is an eager ``DataFrame``."""
        lazy = self._scan(path, driver, **kwargs)
        return lazy if type_name.rsplit(".", 1)[-1] == "LazyFrame" else lazy.collect()

    def _scan(self, path: Path, driver: str, **kwargs: Any) -> pl.LazyFrame:
        if driver not in _DRIVERS:
            raise ValueError(
                f"polars cannot read driver {driver!r}; use one of {', '.join(_DRIVERS)}."
            )
        # polars reports a missing file lazily and in its own error type; say it up front
        # in the built-in type callers catch.
        if not Path(path).exists():
            raise FileNotFoundError(f"no {driver} file at {path}")
        if driver == "parquet":
            return pl.scan_parquet(path, **kwargs)
        if driver == "csv":
            return pl.scan_csv(path, **kwargs)
        if driver == "json":
            return _read_json(Path(path), **kwargs).lazy()
        return pl.scan_ipc(path, **kwargs)

    # -- capabilities ----------------------------------------------------------------------

    def describe(self, value: Any, driver: str | None = None) -> list[tuple[str, str]] | None:
        """``(column, logical type)`` of a frame, or of a parquet/csv/arrow file's header."""
        if isinstance(value, pl.Series):
            value = value.to_frame()
        if isinstance(value, (pl.DataFrame, pl.LazyFrame)):
            schema = value.collect_schema()
        elif driver in ("parquet", "csv", "feather", "arrow"):
            schema = self._scan(Path(value), driver).collect_schema()
        else:
            return None
        return [(str(name), _logical(dtype)) for name, dtype in schema.items()]

    def to_records(self, value: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of plain Python values (nulls as None)."""
        frame = _eager(value)
        return list(frame.columns), frame.rows()

    def from_records(self, names: list[str], rows: list[tuple[Any, ...]]) -> pl.DataFrame:
        # orient="row" is explicit so a frame of exactly as many rows as columns is not
        # mistaken for column-major data.
        return pl.DataFrame(rows, schema=names, orient="row")

    def collect(self, value: Any) -> Any:
        """An in-memory frame for ``value`` (a ``LazyFrame`` is executed), for consumers that
        cannot scan a query plan, such as a database registering the frame."""
        return _eager(value)


def _eager(value: Any) -> pl.DataFrame:
    if isinstance(value, pl.Series):
        return value.to_frame()
    if isinstance(value, pl.LazyFrame):
        return value.collect()
    return value


def _sink(lazy: pl.LazyFrame, path: Path, driver: str) -> None:
    if driver == "parquet":
        lazy.sink_parquet(path)
    elif driver == "csv":
        lazy.sink_csv(path)
    elif driver in ("feather", "arrow"):
        lazy.sink_ipc(path)
    else:
        # JSON arrays have no streaming writer in polars (only newline-delimited JSON).
        lazy.collect().write_json(path)


def _read_json(path: Path, **kwargs: Any) -> pl.DataFrame:
    try:
        return pl.read_json(path, **kwargs)
    except pl.exceptions.ComputeError:
        # Newline-delimited records are as common as a JSON array in pipelines.
        return pl.read_ndjson(path, **kwargs)


def _logical(dtype: Any) -> str:
    base = dtype.base_type() if hasattr(dtype, "base_type") else dtype
    for types, logical in _TYPE_TABLE:
        if base in types:
            return logical
    return "other"


_TYPE_TABLE: tuple[tuple[tuple[Any, ...], str], ...] = (
    ((pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64), "integer"),
    ((pl.Float32, pl.Float64), "float"),
    ((pl.Boolean,), "boolean"),
    ((pl.String, pl.Categorical, pl.Enum), "string"),
    ((pl.Binary,), "binary"),
    ((pl.Datetime,), "timestamp"),
    ((pl.Date,), "date"),
    ((pl.Time,), "time"),
    ((pl.Duration,), "interval"),
    ((pl.Decimal,), "decimal"),
)
