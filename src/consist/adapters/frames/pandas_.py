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


def _keeps_index(frame: pd.DataFrame) -> bool:
    # A default RangeIndex carries no information; anything else is data worth keeping.
    return not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None


def _read_json(path: Path, **kwargs: Any) -> pd.DataFrame:
    try:
        return pd.read_json(path, **kwargs)
    except ValueError:
        # Newline-delimited records are as common as a JSON array in pipelines.
        return pd.read_json(path, lines=True, **kwargs)
