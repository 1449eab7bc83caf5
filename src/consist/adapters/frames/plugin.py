"""Registers the built-in frame engines: pandas (the default), polars, and xarray for
N-dimensional arrays. No dataframe or array library is imported here."""

from __future__ import annotations

from consist.core.hookspecs import hookimpl
from consist.core.registry import FrameEngineSpec

_PLUGIN = "consist.adapters.frames.plugin"


@hookimpl
def consist_frame_engines() -> list[FrameEngineSpec]:
    return [
        FrameEngineSpec(
            name="pandas",
            factory="consist.adapters.frames.pandas_:PandasEngine",
            drivers=("parquet", "csv", "json", "feather", "arrow"),
            types=(
                "pandas.DataFrame",
                "pandas.Series",
                "pandas.core.frame.DataFrame",
                "pandas.core.series.Series",
            ),
            requires=("pandas", "pyarrow"),
            plugin=_PLUGIN,
        ),
        FrameEngineSpec(
            name="polars",
            factory="consist.adapters.frames.polars_:PolarsEngine",
            drivers=("parquet", "csv", "json", "feather", "arrow"),
            # Short names match annotations written as strings ("pl.LazyFrame"); the
            # qualified ones match values and resolved annotations.
            types=(
                "polars.DataFrame",
                "polars.LazyFrame",
                "polars.Series",
                "polars.dataframe.frame.DataFrame",
                "polars.lazyframe.frame.LazyFrame",
                "polars.series.series.Series",
            ),
            requires=("polars",),
            plugin=_PLUGIN,
        ),
        FrameEngineSpec(
            name="xarray",
            factory="consist.adapters.frames.xarray_:XarrayEngine",
            # The first driver is where a returned Dataset is written (``<key>.zarr``).
            drivers=("zarr", "nc"),
            types=(
                "xarray.Dataset",
                "xarray.DataArray",
                "xarray.core.dataset.Dataset",
                "xarray.core.dataarray.DataArray",
            ),
            requires=("xarray", "zarr"),
            capabilities=("arrays", "stack"),
            plugin=_PLUGIN,
            extra="arrays",
        ),
    ]


@hookimpl
def consist_object_digest(obj: object) -> object | None:
    """Frames, series and xarray datasets count for identity by their content (see
    ``digests.py``); a library is only touched when the value already is one of its
    objects."""
    library = type(obj).__module__.partition(".")[0]
    if library == "pandas":
        from consist.adapters.frames.digests import pandas_standin

        return pandas_standin(obj)
    if library == "polars":
        from consist.adapters.frames.digests import polars_standin

        return polars_standin(obj)
    if library == "xarray":
        from consist.adapters.frames.digests import xarray_standin

        return xarray_standin(obj)
    return None
