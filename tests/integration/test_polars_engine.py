"""polars frames through the public API, beside pandas: returned and logged frames, loading,
parameter annotations, hot tables and views, identity, and installs without polars.

Frame-bearing tests run once per frame library (the ``lib`` fixture, conftest.py) and once per
store.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from frame_libs import as_dict, make_frame, write_file
from pydantic import BaseModel
from sqlmodel import func, select

import consist
from consist import Tracker

pl = pytest.importorskip("polars")


class Trip(BaseModel):
    trip_id: int
    mode: str
    km: float


def trips(lib: str, scale: float = 1.0) -> Any:
    return make_frame(
        lib, {"trip_id": [1, 2, 3], "mode": ["car", "bus", "walk"], "km": [4.0 * scale, 2.5, 0.5]}
    )


# -- returned frames, loading and identity ---------------------------------------------------


def test_returned_frame_is_parquet_hits_and_loads_with_either_engine(
    tracker: Tracker, lib: str
) -> None:
    def make_trips(scale: float) -> Any:
        return trips(lib, scale)

    first = tracker.run(make_trips, config={"scale": 1.0}, outputs=["trips"])
    artifact = first.outputs["trips"]
    assert not first.cache_hit and artifact.driver == "parquet"
    assert artifact.uri.endswith("/trips.parquet")

    again = tracker.run(make_trips, config={"scale": 1.0}, outputs=["trips"])
    assert again.cache_hit and again.outputs["trips"].digest == artifact.digest
    changed = tracker.run(make_trips, config={"scale": 2.0}, outputs=["trips"])
    assert not changed.cache_hit and changed.outputs["trips"].digest != artifact.digest

    expected = as_dict(trips(lib))
    as_polars = consist.load(artifact, engine="polars")
    assert isinstance(as_polars, pl.DataFrame) and as_dict(as_polars) == expected
    by_default = consist.load(artifact)  # pandas stays the default engine
    assert isinstance(by_default, pd.DataFrame) and as_dict(by_default) == expected


def test_annotations_choose_what_a_parameter_receives(tracker: Tracker, lib: str) -> None:
    made = tracker.run(lambda: trips(lib), name="make", outputs=["trips"])
    seen: dict[str, type] = {}

    def consume(
        eager: pl.DataFrame, lazy: pl.LazyFrame, frame: pd.DataFrame, plain, path: Path
    ) -> None:
        seen.update(eager=type(eager), lazy=type(lazy), frame=type(frame), plain=type(plain))
        seen["path"] = type(path)
        assert as_dict(lazy) == as_dict(eager) == as_dict(frame)

    art = made.outputs["trips"]
    tracker.run(
        consume, inputs={"eager": art, "lazy": art, "frame": art, "plain": art, "path": art}
    )
    assert seen["eager"] is pl.DataFrame and seen["lazy"] is pl.LazyFrame
    assert seen["frame"] is pd.DataFrame and seen["plain"] is pd.DataFrame
    assert issubclass(seen["path"], Path)


def test_a_lazy_frame_returned_or_logged_is_written_and_counts_for_identity(
    tracker: Tracker,
) -> None:
    def lazy_step(n: int) -> Any:
        return pl.LazyFrame({"a": list(range(n))}).with_columns(b=pl.col("a") * 2)

    first = tracker.run(lazy_step, config={"n": 5}, outputs=["table"])
    assert consist.load(first.outputs["table"], engine="polars")["b"].to_list() == [
        0,
        2,
        4,
        6,
        8,
    ]
    with tracker.start_run("manual", model="logger"):
        logged = consist.log_dataframe(lazy_step(5), key="table")
    # Same rows written the same way: the same bytes, whichever call wrote them.
    assert logged.digest == first.outputs["table"].digest


def test_changed_input_frame_misses_and_unchanged_one_hits(
    tracker: Tracker, workdir: Path, lib: str
) -> None:
    path = workdir / "trips.parquet"
    calls: list[int] = []

    def total_km(trips: pl.DataFrame) -> None:
        calls.append(1)

    def write(scale: float) -> None:
        write_file(trips(lib, scale), path)

    write(1.0)
    assert not tracker.run(total_km, inputs={"trips": path}).cache_hit
    write(1.0)  # rewritten with the same rows
    assert tracker.run(total_km, inputs={"trips": path}).cache_hit
    write(3.0)
    assert not tracker.run(total_km, inputs={"trips": path}).cache_hit
    assert len(calls) == 2


def test_csv_by_suffix_and_series(tracker: Tracker) -> None:
    with tracker.start_run("csvs", model="logger"):
        table = consist.log_dataframe(trips("polars"), key="trips", path="out/trips.csv")
        series = consist.log_dataframe(pl.Series("km", [1.0, 2.0]), key="km")
    assert table.driver == "csv" and table.uri.endswith("out/trips.csv")
    assert as_dict(consist.load(table, engine="polars")) == as_dict(trips("polars"))
    assert consist.load(series, engine="polars").columns == ["km"]


# -- hot tables and views --------------------------------------------------------------------


def test_schema_logged_frames_feed_the_view(make_tracker, lib: str) -> None:
    tracker = make_tracker(schemas=[Trip])
    for year, scale in ((2020, 1.0), (2030, 2.0)):
        with tracker.start_run(f"y{year}", model="sim", year=year):
            frame = trips(lib, scale)
            consist.log_dataframe(frame.lazy() if lib == "polars" else frame, "trip", Trip)
    view = tracker.views.Trip
    total = consist.run_query(select(func.sum(view.km)), tracker=tracker)[0]
    assert total == pytest.approx(4.0 + 2.5 + 0.5 + 8.0 + 2.5 + 0.5)
    years = consist.run_query(select(view.consist_year).distinct(), tracker=tracker)
    assert sorted(years) == [2020, 2030]


def test_ingest_takes_polars_rows_and_refuses_arrays(tracker: Tracker, hot_table) -> None:
    with tracker.start_run("ingest", model="sim"):
        artifact = consist.log_dataframe(trips("pandas"), key="trip")
    result = tracker.ingest(artifact, data=trips("polars").lazy(), schema=Trip)
    assert result.rows == 3
    xr = pytest.importorskip("xarray")
    with pytest.raises(TypeError, match="no rows"):
        tracker.ingest(artifact, data=xr.Dataset({"a": ("x", [1])}), schema=Trip)


# -- errors ----------------------------------------------------------------------------------


def test_unknown_engine_names_the_installed_ones(tracker: Tracker) -> None:
    made = tracker.run(lambda: trips("pandas"), name="make", outputs=["trips"])
    with pytest.raises(ValueError, match="polars") as info:
        consist.load(made.outputs["trips"], engine="polarss")
    assert "polarss" in str(info.value) and "pandas" in str(info.value)


def test_polars_cannot_read_an_array_store(tracker: Tracker) -> None:
    xr = pytest.importorskip("xarray")
    made = tracker.run(lambda: xr.Dataset({"a": ("x", [1.0])}), name="arr", outputs=["grid"])
    with pytest.raises(ValueError, match="engine='xarray'"):
        consist.load(made.outputs["grid"], engine="polars")


# -- imports and installs without polars -----------------------------------------------------


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"CONSIST_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": ""},
    )


def test_engines_are_imported_only_when_used(workdir: Path, store_kind: str) -> None:
    done = _python(
        f"""
        import sys
        import consist
        heavy = ("polars", "xarray", "zarr")
        assert not [m for m in sys.modules if m.split(".")[0] in heavy], "import consist"
        import pandas as pd
        with consist.Tracker("runs", db_path="p.{store_kind}") as t:
            r = t.run(lambda: pd.DataFrame({{"a": [1]}}), name="make", outputs=["a"])
            assert list(consist.load(r.outputs["a"])["a"]) == [1]
            assert not [m for m in sys.modules if m.split(".")[0] in heavy], "pandas run"
        print("ok")
        """,
        workdir,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_pandas_only_install_keeps_working(workdir: Path, store_kind: str) -> None:
    # sys.modules[name] = None makes ``import polars`` raise ImportError, as if absent.
    done = _python(
        f"""
        import sys
        sys.modules["polars"] = None
        import pandas as pd
        import consist
        with consist.Tracker("runs", db_path="p.{store_kind}") as t:
            r = t.run(lambda: pd.DataFrame({{"a": [1]}}), name="make", outputs=["a"])
            assert list(consist.load(r.outputs["a"])["a"]) == [1]
            try:
                consist.load(r.outputs["a"], engine="polars")
            except consist.ConsistError as exc:
                print(exc)
            def wants_polars(a: "pl.DataFrame"):
                return None
            try:
                t.run(wants_polars, inputs={{"a": r.outputs["a"]}})
            except consist.ConsistError as exc:
                print(exc)
            assert t.find_runs(model="wants_polars") == [], "refused before recording"
        """,
        workdir,
    )
    assert done.returncode == 0, done.stderr
    messages = done.stdout.strip().splitlines()
    assert len(messages) == 2, done.stdout
    for message in messages:
        assert "polars" in message and "pip install 'consist[polars]'" in message
