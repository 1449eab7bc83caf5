"""Steps that speak polars and xarray instead of pandas.

- A polars step returns a ``DataFrame`` (written as parquet); the next step's parameter is
  annotated ``pl.LazyFrame``, so it receives a lazy scan of that file and only the rows its
  query needs are read.
- An xarray step returns a ``Dataset`` (written as a zarr store); a downstream step
  annotated ``xr.Dataset`` receives it opened lazily.
- Two runs of the array step are stacked into one Dataset along a ``run_id`` dimension
  (a matrix view), with each run's year as a coordinate.

Needs ``pip install 'consist[polars,arrays]'``; without them it says which is missing.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

missing = [m for m in ("polars", "xarray", "zarr") if importlib.util.find_spec(m) is None]
if missing:
    print(
        f"skipping: this example needs {', '.join(missing)} (pip install 'consist[polars,arrays]')"
    )
    sys.exit(0)

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import xarray as xr  # noqa: E402

import consist  # noqa: E402
from consist import Tracker  # noqa: E402

workspace = Path("engines-workspace")
shutil.rmtree(workspace, ignore_errors=True)
workspace.mkdir()
tracker = Tracker(run_dir=workspace / "runs", db_path=workspace / "provenance.duckdb")


# -- polars ----------------------------------------------------------------------------------
def survey(config: dict) -> pl.DataFrame:
    rng = np.random.default_rng(config["seed"])
    return pl.DataFrame(
        {"person": range(1000), "km": rng.exponential(8.0, 1000), "mode": ["car", "bike"] * 500}
    )


def long_trips(trips: pl.LazyFrame) -> pl.DataFrame:
    # A lazy scan: the filter and aggregation run inside polars' query engine.
    return (
        trips.filter(pl.col("km") > 10)
        .group_by("mode")
        .agg(pl.len().alias("n"), pl.col("km").mean().alias("mean_km"))
        .sort("mode")
        .collect()
    )


trips = tracker.run(survey, config={"seed": 7}, outputs=["trips"])
summary = tracker.run(long_trips, inputs={"trips": trips["trips"]}, outputs=["long_trips"])
print(f"polars: trips stored as {trips['trips'].uri}")
print(consist.load(summary["long_trips"], engine="polars"))


# -- xarray ----------------------------------------------------------------------------------
def skims(config: dict) -> xr.Dataset:
    zones = np.arange(1, 5)
    base = np.abs(zones[:, None] - zones[None, :]) * 4.0 + 2.0
    growth = 1 + 0.05 * (config["year"] - 2020) / 10
    return xr.Dataset(
        {"time": (("origin", "destination"), base * growth)},
        coords={"origin": zones, "destination": zones},
    )


def accessibility(skim: xr.Dataset) -> xr.Dataset:
    return (1.0 / skim["time"]).sum("destination").to_dataset(name="access")


by_year = {}
for year in (2020, 2040):
    result = tracker.run(skims, config={"year": year}, outputs=["skims"], year=year)
    by_year[year] = result
    access = tracker.run(accessibility, inputs={"skim": result["skims"]}, outputs=["access"])
    values = consist.load(access["access"])["access"].values.round(3)
    print(f"xarray {year}: skims at {result['skims'].uri}; accessibility {values}")

view = consist.MatrixViewFactory(tracker).load_matrix_view(
    "skims", variables=["time"], run_ids=[r.run.id for r in by_year.values()]
)
print(f"matrix view: dims {dict(view.sizes)}, years {[int(y) for y in view['year'].values]}")
print(f"mean travel time by run: {view['time'].mean(['origin', 'destination']).values.round(2)}")
tracker.close()
