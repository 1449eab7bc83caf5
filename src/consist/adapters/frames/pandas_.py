"""The pandas frame engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


class PandasEngine:
    """Reads and writes pandas DataFrames (a Series is written as a one-column frame)."""

    name = "pandas"
    drivers = ("parquet", "csv", "json", "feather", "arrow")

    def handles(self, value: Any) -> bool:
        return isinstance(value, (pd.DataFrame, pd.Series))

    def write(self, value: Any, path: Path, driver: str) -> None:
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        if driver == "parquet":
            frame.to_parquet(path, index=_keeps_index(frame))
        elif driver == "csv":
            frame.to_csv(path, index=False)
        elif driver == "json":
            frame.to_json(path, orient="records")
        elif driver in ("feather", "arrow"):
            frame.reset_index(drop=True).to_feather(path)
        else:
            raise ValueError(
                f"pandas cannot write driver {driver!r}; use one of {', '.join(self.drivers)}."
            )

    def read(self, path: Path, driver: str, **kwargs: Any) -> Any:
        if driver == "parquet":
            return pd.read_parquet(path, **kwargs)
        if driver == "csv":
            return pd.read_csv(path, **kwargs)
        if driver == "json":
            return _read_json(path, **kwargs)
        if driver in ("feather", "arrow"):
            return pd.read_feather(path, **kwargs)
        raise ValueError(
            f"pandas cannot read driver {driver!r}; use one of {', '.join(self.drivers)}."
        )

    def describe(self, value: Any, driver: str | None = None) -> list[tuple[str, str]] | None:
        """``(column, logical type)`` of a frame, or of a parquet/csv file's header."""
        if isinstance(value, (pd.DataFrame, pd.Series)):
            frame = value.to_frame() if isinstance(value, pd.Series) else value
            return [(str(name), _logical(dtype)) for name, dtype in frame.dtypes.items()]
        if driver == "parquet":
            import pyarrow.parquet as pq

            schema = pq.read_schema(value)
            return [
                (f.name, _arrow_logical(f.type)) for f in schema if f.name != "__index_level_0__"
            ]
        if driver == "csv":
            sample = pd.read_csv(value, nrows=1000)
            return [(str(name), _logical(dtype)) for name, dtype in sample.dtypes.items()]
        return None

    def to_records(self, value: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of plain Python values (missing values as None)."""
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        plain = frame.astype(object).where(frame.notna(), None)
        return [str(c) for c in frame.columns], [
            tuple(row) for row in plain.itertuples(index=False)
        ]

    def from_records(self, names: list[str], rows: list[tuple[Any, ...]]) -> pd.DataFrame:
        return pd.DataFrame.from_records(rows, columns=names)


_KIND_TYPES = {"i": "integer", "u": "integer", "f": "float", "b": "boolean", "M": "timestamp"}
_KIND_TYPES.update({"m": "interval", "O": "string", "U": "string", "S": "binary"})


def _logical(dtype: Any) -> str:
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
        return "string"
    return _KIND_TYPES.get(getattr(dtype, "kind", ""), "other")


def _arrow_logical(arrow_type: Any) -> str:
    import pyarrow.types as t

    checks = (
        (t.is_integer, "integer"),
        (t.is_floating, "float"),
        (t.is_decimal, "decimal"),
        (t.is_boolean, "boolean"),
        (lambda x: t.is_string(x) or t.is_large_string(x) or t.is_dictionary(x), "string"),
        (lambda x: t.is_binary(x) or t.is_large_binary(x), "binary"),
        (t.is_timestamp, "timestamp"),
        (t.is_date, "date"),
        (t.is_time, "time"),
        (t.is_duration, "interval"),
    )
    return next((name for check, name in checks if check(arrow_type)), "other")


def _keeps_index(frame: pd.DataFrame) -> bool:
    # A default RangeIndex carries no information; anything else is data worth keeping.
    return not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None


def _read_json(path: Path, **kwargs: Any) -> pd.DataFrame:
    try:
        return pd.read_json(path, **kwargs)
    except ValueError:
        # Newline-delimited records are as common as a JSON array in pipelines.
        return pd.read_json(path, lines=True, **kwargs)
