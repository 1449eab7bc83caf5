"""Stable digests of in-memory frames and series, for values that reach a step's function
through ``fn_args``, ``config`` or a captured variable.

Such a value must count for the step's identity; a frame has no canonical form of its own,
so it counts by its content: every row's hash (values and index, from the library's own
hashing), the column names, the dtypes and the shape. Any change to those is a cache miss.
A frame the library cannot hash (cells holding arbitrary objects) is declined, and the step
is refused with the usual error naming the value.
"""

from __future__ import annotations

import hashlib
from typing import Any


def _blake(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=32).hexdigest()


# What pandas infers for object cells that are not plain values.
_OPAQUE = {"mixed", "unknown-array"}


def pandas_standin(obj: Any) -> dict[str, Any] | None:
    """A JSON-like stand-in for a pandas DataFrame, Series or Index, or None."""
    import pandas as pd

    if not isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)):
        return None
    columns = [obj[c] for c in obj.columns] if isinstance(obj, pd.DataFrame) else [obj]
    for column in [*columns, *([obj.index] if not isinstance(obj, pd.Index) else [])]:
        # Object cells are hashed by their text, which need not tell two objects apart:
        # only plain values (text, numbers, dates...) count by content.
        if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) in _OPAQUE:
            return None
    try:
        rows = pd.util.hash_pandas_object(obj, index=not isinstance(obj, pd.Index))
    except (TypeError, ValueError):  # cells the library cannot hash
        return None
    if isinstance(obj, pd.DataFrame):
        names: Any = [repr(c) for c in obj.columns]
        dtypes: Any = [str(t) for t in obj.dtypes]
    else:
        names, dtypes = repr(obj.name), str(obj.dtype)
    return {
        "pandas": type(obj).__name__,
        "shape": list(obj.shape),
        "names": names,
        "dtypes": dtypes,
        "rows": _blake(rows.to_numpy().tobytes()),
    }


def polars_standin(obj: Any) -> dict[str, Any] | None:
    """A JSON-like stand-in for a polars DataFrame or Series, or None (lazy frames are
    queries, not data: they are declined)."""
    import polars as pl

    try:
        if isinstance(obj, pl.DataFrame):
            rows = obj.hash_rows(seed=0)
            names: Any = list(obj.columns)
            dtypes: Any = [str(t) for t in obj.dtypes]
        elif isinstance(obj, pl.Series):
            rows = obj.hash(seed=0)
            names, dtypes = obj.name, str(obj.dtype)
        else:
            return None
    except Exception:  # noqa: BLE001 - types polars cannot hash: decline, the step is refused
        return None
    return {
        "polars": type(obj).__name__,
        "shape": list(obj.shape),
        "names": names,
        "dtypes": dtypes,
        "rows": _blake(rows.to_numpy().tobytes()),
    }


def xarray_standin(obj: Any) -> dict[str, Any] | None:
    """A JSON-like stand-in for an xarray Dataset or DataArray, or None: every variable
    (data and coordinates) by its dimensions, dtype and bytes, plus the attributes. Lazy
    variables are read to be hashed. Variables of Python objects are declined."""
    import numpy as np
    import xarray as xr

    if isinstance(obj, xr.DataArray):
        name = obj.name if isinstance(obj.name, str) else repr(obj.name)
        obj = obj.to_dataset(name=name)
        kind = "DataArray"
    elif isinstance(obj, xr.Dataset):
        kind = "Dataset"
    else:
        return None
    variables: dict[str, Any] = {}
    for name, variable in obj.variables.items():
        values = np.ascontiguousarray(variable.values)
        if values.dtype.hasobject:
            return None
        variables[str(name)] = {
            "dims": [str(d) for d in variable.dims],
            "dtype": values.dtype.str,
            "data": _blake(values.tobytes()),
            "attrs": dict(variable.attrs),
        }
    return {"xarray": kind, "variables": variables, "attrs": dict(obj.attrs)}
