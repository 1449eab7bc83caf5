"""Registers the built-in frame engines (no dataframe library is imported here)."""

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
    ]
