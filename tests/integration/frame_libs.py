"""Frames of either library, for the integration tests that run once per frame library.

The ``lib`` fixture (conftest.py) names the library under test: ``"pandas"`` or
``"polars"``. These helpers build, change, write and compare frames of that library with one
call each, so a test body reads the same for both. polars is imported only when a polars frame
is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

#: The frame libraries the ``lib`` fixture runs a test with.
LIBS = ("pandas", "polars")

F = TypeVar("F", bound=Callable[..., Any])


def _polars() -> Any:
    import polars

    return polars


def is_polars(frame: Any) -> bool:
    return type(frame).__module__.split(".")[0] == "polars"


def frame_type(lib: str) -> type:
    """The eager DataFrame class of ``lib``."""
    return pd.DataFrame if lib == "pandas" else _polars().DataFrame


def make_frame(lib: str, data: dict[str, Any]) -> Any:
    """A DataFrame of ``lib`` from columns (lists or numpy arrays)."""
    return pd.DataFrame(data) if lib == "pandas" else _polars().DataFrame(data)


def read_csv(lib: str, path: Path) -> Any:
    return pd.read_csv(path) if lib == "pandas" else _polars().read_csv(path)


def as_dict(frame: Any) -> dict[str, list[Any]]:
    """A frame's columns as plain lists (a polars LazyFrame is collected first)."""
    if is_polars(frame):
        if isinstance(frame, _polars().LazyFrame):
            frame = frame.collect()
        return frame.to_dict(as_series=False)
    return {str(c): frame[c].tolist() for c in frame.columns}


def assert_frame_equal(got: Any, expected: Any) -> None:
    """Same library, same columns, dtypes and values (each library's own check)."""
    assert type(got) is type(expected), f"{type(got).__name__} is not {type(expected).__name__}"
    if is_polars(expected):
        from polars.testing import assert_frame_equal as polars_equal

        polars_equal(got, expected)
    else:
        pd.testing.assert_frame_equal(got, expected)


def with_column(frame: Any, name: str, value: Any) -> Any:
    """``frame`` with column ``name`` set to ``value`` (a scalar or one value per row)."""
    if not is_polars(frame):
        return frame.assign(**{name: value})
    pl = _polars()
    column = pl.Series(name, value) if isinstance(value, list | pl.Series) else pl.lit(value)
    return frame.with_columns(column.alias(name))


def renamed(frame: Any, mapping: dict[str, str]) -> Any:
    return frame.rename(mapping) if is_polars(frame) else frame.rename(columns=mapping)


def without(frame: Any, *columns: str) -> Any:
    return frame.drop(list(columns)) if is_polars(frame) else frame.drop(columns=list(columns))


def rows_where(frame: Any, mask: Any) -> Any:
    """The rows where the boolean series ``mask`` (e.g. ``frame["value"] > 0.5``) holds."""
    return frame.filter(mask) if is_polars(frame) else frame[mask]


def write_file(frame: Any, path: Path) -> Path:
    """Write ``frame`` with its own library, in the format named by the suffix of ``path``
    (``.parquet``, ``.csv``, or ``.json`` as an array of row objects)."""
    suffix = Path(path).suffix
    if is_polars(frame):
        {".parquet": frame.write_parquet, ".csv": frame.write_csv, ".json": frame.write_json}[
            suffix
        ](path)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records")
    return Path(path)


def takes(lib: str, *params: str) -> Callable[[F], F]:
    """Annotate the step's ``params`` with ``lib``'s DataFrame class, so the step receives
    those inputs loaded by that library."""

    def annotate(fn: F) -> F:
        for name in params:
            fn.__annotations__[name] = frame_type(lib)
        return fn

    return annotate


def persons(seed: int, n: int = 50, lib: str = "pandas") -> Any:
    """``n`` random persons with the usage guide's Person columns, as a frame of ``lib``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return make_frame(
        lib,
        {
            "person_id": np.arange(n),
            "age": rng.integers(0, 90, n),
            "number_of_trips": rng.integers(0, 12, n),
        },
    )
