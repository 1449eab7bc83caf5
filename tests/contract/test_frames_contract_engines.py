"""The frame engine contract over the optional engines: polars, and xarray (arrays).

The array engine serves the same port but not its tabular capabilities; those tests are
declared gaps, and the contract's tables are carried as one-dimensional Datasets (one
variable per column along a ``row`` dimension) by overriding ``frame``/``records``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from consist.testing.contracts import FrameEngineContract
from consist.testing.contracts.frames import NAMES, ROWS

pl = pytest.importorskip("polars")
xr = pytest.importorskip("xarray")
np = pytest.importorskip("numpy")

from consist.adapters.frames.polars_ import PolarsEngine  # noqa: E402
from consist.adapters.frames.xarray_ import XarrayEngine  # noqa: E402


class TestPolarsEngine(FrameEngineContract):
    notimpl = {
        "test_empty_frame_keeps_its_columns": (
            "the json driver writes an array of records: an empty frame becomes [] and its "
            "column names are lost (as with pandas)"
        ),
    }

    @pytest.fixture
    def engine(self) -> PolarsEngine:
        return PolarsEngine()


class TestXarrayEngine(FrameEngineContract):
    _NO_TABLES = "arrays have no rows or column schema (no FrameRecords/FrameDescriber)"
    notimpl = {
        "test_parquet_round_trip": "arrays are stored as zarr or netCDF, never parquet",
        "test_records_round_trip": _NO_TABLES,
        "test_describes_a_frame": _NO_TABLES,
        "test_describes_a_written_file_or_says_unknown": _NO_TABLES,
    }

    @pytest.fixture
    def engine(self) -> XarrayEngine:
        return XarrayEngine()

    def frame(self, engine: Any, names: list[str], rows: list[tuple[Any, ...]]) -> Any:
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        data = {}
        for name, values in zip(names, columns, strict=True):
            if any(isinstance(v, str) for v in values):
                array = np.array(values, dtype=str)
            elif any(isinstance(v, float) or v is None for v in values) or not values:
                array = np.array([np.nan if v is None else v for v in values], dtype=float)
            else:
                array = np.array(values, dtype=np.int64)
            data[name] = ("row", array)
        return xr.Dataset(data)

    def records(self, engine: Any, value: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        names = list(value.data_vars)
        columns = [[_plain(v) for v in value[n].values.tolist()] for n in names]
        return names, [tuple(row) for row in zip(*columns, strict=True)]


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


# -- what the contract does not cover ---------------------------------------------------------


def test_polars_lazyframe_is_streamed_and_scanned_back(tmp_path: Path) -> None:
    engine = PolarsEngine()
    lazy = pl.DataFrame({"a": list(range(1000))}).lazy().filter(pl.col("a") % 2 == 0)
    assert engine.handles(lazy)
    for driver in ("parquet", "csv", "arrow", "json"):
        path = tmp_path / f"lazy.{driver}"
        engine.write(lazy, path, driver)
        back = engine.read_as(path, driver, "polars.LazyFrame")
        assert isinstance(back, pl.LazyFrame), driver
        assert back.collect()["a"].to_list() == list(range(0, 1000, 2)), driver
    assert isinstance(
        engine.read_as(tmp_path / "lazy.parquet", "parquet", "pl.DataFrame"), pl.DataFrame
    )


def test_polars_series_and_lazy_records(tmp_path: Path) -> None:
    engine = PolarsEngine()
    assert engine.to_records(pl.Series("x", [1, None])) == (["x"], [(1,), (None,)])
    names, rows = engine.to_records(engine.from_records(NAMES, ROWS).lazy())
    assert (names, rows) == (NAMES, ROWS)


def test_xarray_data_array_round_trips_by_annotation(tmp_path: Path) -> None:
    engine = XarrayEngine()
    array = xr.DataArray(np.arange(6.0).reshape(2, 3), dims=("o", "d"), name=None)
    for driver in engine.drivers:
        path = tmp_path / f"a.{driver}"
        engine.write(array, path, driver)
        back = engine.read_as(path, driver, "xarray.DataArray")
        assert isinstance(back, xr.DataArray) and back.name is None, driver
        assert back.equals(array), driver
        assert isinstance(engine.read(path, driver), xr.Dataset), driver


def test_xarray_zarr_store_is_byte_identical_when_rewritten(tmp_path: Path) -> None:
    # The step-output digest is over the store's files; the same data must give the same
    # bytes, or an unchanged step output would look changed downstream.
    engine = XarrayEngine()
    data = xr.Dataset(
        {"skim": (("o", "d"), np.arange(12.0).reshape(3, 4))},
        coords={"o": [1, 2, 3], "d": ["a", "b", "c", "d"]},
        attrs={"units": "minutes"},
    )
    engine.write(data, tmp_path / "one.zarr", "zarr")
    engine.write(data, tmp_path / "two.zarr", "zarr")

    def files(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }

    assert files(tmp_path / "one.zarr") == files(tmp_path / "two.zarr")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_xarray_stack_refuses_a_missing_variable(tmp_path: Path) -> None:
    engine = XarrayEngine()
    one = xr.Dataset({"a": ("x", [1.0])})
    with pytest.raises(KeyError, match="'b'"):
        engine.stack([one], dim="run_id", labels=["r1"], coords={}, variables=["b"])
