"""Data engines: a frame's write + load round trip with pandas and with polars, and opening a
matrix view over many runs' zarr stores.

For each row count, ``log_dataframe`` (parquet, digest included) and ``consist.load`` are
timed separately for a pandas and a polars frame of the same columns; the median of
``--repeat`` rounds is printed with the polars/pandas ratio. Then ``--runs`` steps each return
an ``xarray.Dataset`` (``--zones``² origin-destination pairs × 3 modes), and opening the
matrix view over all of them is timed (it opens each store lazily; no array data is read).

Run: ``python benchmarks/engines.py`` (``--rows 100000 1000000 --runs 20``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def frame(lib: str, rows: int) -> Any:
    rng = np.random.default_rng(0)
    data = {
        "person_id": np.arange(rows),
        "age": rng.integers(0, 90, rows),
        "income": rng.random(rows) * 1e5,
        "mode": rng.choice(np.array(["car", "bus", "walk", "bike"]), rows),
    }
    if lib == "pandas":
        import pandas as pd

        return pd.DataFrame(data)
    import polars as pl

    return pl.DataFrame(data)


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def round_trip(lib: str, rows: int, repeat: int) -> tuple[float, float]:
    """Median ms of ``log_dataframe`` and of ``consist.load`` for ``rows`` rows."""
    import consist

    data = frame(lib, rows)
    with tempfile.TemporaryDirectory() as tmp, consist.Tracker(Path(tmp) / "runs") as tracker:
        logged: list[Any] = []
        counter = iter(range(10**9))

        def write() -> None:
            with tracker.start_run(f"{lib}_{next(counter)}", model="bench"):
                logged.append(consist.log_dataframe(data, key="persons"))

        write_ms = median_ms(write, repeat)
        artifact = logged[-1]
        read_ms = median_ms(lambda: consist.load(artifact, engine=lib), repeat)
    return write_ms, read_ms


def skims(scale: float, zones: int) -> Any:
    import xarray as xr

    values = np.arange(zones * zones * 3, dtype=float).reshape(zones, zones, 3) * scale
    return xr.Dataset(
        {"time": (("o", "d", "mode"), values)},
        coords={"o": np.arange(zones), "d": np.arange(zones), "mode": ["car", "bus", "walk"]},
    )


def matrix_view(runs: int, zones: int, repeat: int) -> tuple[float, float]:
    """Median ms to open the matrix view over ``runs`` runs, and to sum one mode from it."""
    import consist

    with tempfile.TemporaryDirectory() as tmp, consist.Tracker(Path(tmp) / "runs") as tracker:
        for i in range(runs):
            tracker.run(skims, name="assign", config={"scale": float(i)}, fn_args={"zones": zones})
        factory = consist.MatrixViewFactory(tracker)
        open_ms = median_ms(lambda: factory.load_matrix_view("output", ["time"]), repeat)
        view = factory.load_matrix_view("output", ["time"])
        sum_ms = median_ms(lambda: float(view["time"].sel(mode="car").sum()), repeat)
    return open_ms, sum_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--zones", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    for rows in args.rows:
        results = {lib: round_trip(lib, rows, args.repeat) for lib in ("pandas", "polars")}
        for lib, (write_ms, read_ms) in results.items():
            print(
                f"{rows:>9,} rows  {lib:<6}  log_dataframe {write_ms:8.1f} ms   "
                f"load {read_ms:8.1f} ms   round trip {write_ms + read_ms:8.1f} ms"
            )
        pandas_total, polars_total = (sum(results[lib]) for lib in ("pandas", "polars"))
        print(f"{rows:>9,} rows  polars/pandas round trip: {polars_total / pandas_total:.2f}")

    open_ms, sum_ms = matrix_view(args.runs, args.zones, args.repeat)
    print(
        f"matrix view over {args.runs} runs ({args.zones}x{args.zones}x3 each): "
        f"open {open_ms:.1f} ms, sum of one mode {sum_ms:.1f} ms"
    )


if __name__ == "__main__":
    main()
