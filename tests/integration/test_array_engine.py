"""xarray arrays through the public API: Datasets returned by steps (zarr), zarr and netCDF
artifacts logged by hand, loading and binding them, identity of array stores, and matrix
views across runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import consist
from consist import Tracker

xr = pytest.importorskip("xarray")
np = pytest.importorskip("numpy")
pytest.importorskip("zarr")

# The tests write stores with xarray directly, as users do; zarr's notes on its format are
# not what they check.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*Zarr V3 specification"),
    pytest.mark.filterwarnings("ignore:Consolidated metadata"),
]


def skims(scale: float = 1.0, zones: int = 3) -> xr.Dataset:
    shape = (zones, zones, 2)
    values = np.arange(np.prod(shape), dtype=float).reshape(shape) * scale
    return xr.Dataset(
        {"time": (("o", "d", "mode"), values), "dist": (("o", "d"), np.ones(shape[:2]))},
        coords={"o": np.arange(zones), "d": np.arange(zones), "mode": ["car", "bus"]},
        attrs={"units": "minutes"},
    )


def make_skims(scale: float) -> xr.Dataset:
    return skims(scale)


# -- steps returning arrays --------------------------------------------------------------------


def test_returned_dataset_is_a_zarr_artifact_that_hits_and_loads(tracker: Tracker) -> None:
    first = tracker.run(make_skims, config={"scale": 1.0}, outputs=["skims"])
    artifact = first.outputs["skims"]
    assert not first.cache_hit
    assert artifact.driver == "zarr" and artifact.uri.endswith("/skims.zarr")
    assert artifact.path.is_dir() and (artifact.path / "zarr.json").exists()

    again = tracker.run(make_skims, config={"scale": 1.0}, outputs=["skims"])
    assert again.cache_hit and again.outputs["skims"].id == artifact.id
    loaded = consist.load(artifact)
    assert isinstance(loaded, xr.Dataset)
    assert loaded.identical(skims(1.0))

    changed = tracker.run(make_skims, config={"scale": 2.0}, outputs=["skims"])
    assert not changed.cache_hit and changed.outputs["skims"].digest != artifact.digest


def test_same_array_written_by_two_runs_has_one_digest(tracker: Tracker) -> None:
    # cache_mode="overwrite" re-executes: the store is rewritten with new file mtimes.
    first = tracker.run(make_skims, config={"scale": 1.0}, outputs=["skims"])
    redo = tracker.run(make_skims, config={"scale": 1.0}, outputs=["skims"], cache_mode="overwrite")
    assert not redo.cache_hit
    assert redo.outputs["skims"].uri != first.outputs["skims"].uri
    assert redo.outputs["skims"].digest == first.outputs["skims"].digest


def test_a_returned_data_array_round_trips(tracker: Tracker) -> None:
    def field() -> xr.DataArray:
        return xr.DataArray(np.eye(3), dims=("y", "x"), name="temperature")

    made = tracker.run(field, outputs=["grid"])
    seen = {}

    def read(grid: xr.DataArray) -> None:
        seen["grid"] = grid

    tracker.run(read, inputs={"grid": made.outputs["grid"]})
    assert isinstance(seen["grid"], xr.DataArray) and seen["grid"].name == "temperature"
    assert seen["grid"].equals(field())


# -- stores logged by hand, and their identity -------------------------------------------------


def test_logged_zarr_and_netcdf_load_and_bind(tracker: Tracker, workdir: Path) -> None:
    skims(1.0).to_zarr(workdir / "base.zarr", mode="w")
    skims(2.0).to_netcdf(workdir / "base.nc", engine="h5netcdf")
    with tracker.start_run("logged", model="import"):
        store = consist.log_artifact(workdir / "base.zarr", key="skims")
        netcdf = consist.log_artifact(workdir / "base.nc", key="grid")
    assert (store.driver, netcdf.driver) == ("zarr", "nc")
    assert consist.load(store).identical(skims(1.0))
    assert consist.load(netcdf).identical(skims(2.0))

    seen = {}

    def model(skims, grid: xr.Dataset, raw: Path) -> None:
        seen.update(skims=skims, grid=grid, raw=raw)

    tracker.run(model, inputs={"skims": store, "grid": netcdf, "raw": store})
    assert isinstance(seen["skims"], xr.Dataset) and isinstance(seen["grid"], xr.Dataset)
    assert float(seen["grid"]["time"].sum()) == float(skims(2.0)["time"].sum())
    assert Path(seen["raw"]).is_dir()

    paths = {}
    tracker.run(
        lambda skims: paths.setdefault("skims", skims),
        name="paths",
        inputs={"skims": store},
        load_inputs=False,
    )
    assert Path(paths["skims"]).name == "base.zarr"


def test_zarr_input_identity_is_its_content(tracker: Tracker, workdir: Path) -> None:
    path = workdir / "input.zarr"
    calls = []

    def assign(skims: xr.Dataset) -> None:
        calls.append(1)

    def write(data: xr.Dataset) -> None:
        data.to_zarr(path, mode="w")

    write(skims(1.0))
    assert not tracker.run(assign, inputs={"skims": path}).cache_hit
    write(skims(1.0))  # rewritten: same data, new files and mtimes
    for file in path.rglob("*"):
        os.utime(file, ns=(1, 1))
    assert tracker.run(assign, inputs={"skims": path}).cache_hit
    changed = skims(1.0)
    changed["time"][0, 0, 0] = 99.0
    write(changed)
    assert not tracker.run(assign, inputs={"skims": path}).cache_hit
    assert len(calls) == 2


def test_zarr_v2_metadata_files_count_for_identity(tracker: Tracker, workdir: Path) -> None:
    # zarr format 2 keeps attributes and dtypes in dot-named files (.zattrs, .zarray).
    path = workdir / "v2.zarr"
    skims(1.0).to_zarr(path, mode="w", zarr_format=2, consolidated=False)
    assert (path / ".zattrs").exists()

    def assign(skims: xr.Dataset) -> None:
        return None

    assert not tracker.run(assign, inputs={"skims": path}).cache_hit
    relabelled = skims(1.0)
    relabelled.attrs["units"] = "hours"  # only .zattrs changes
    relabelled.to_zarr(path, mode="w", zarr_format=2, consolidated=False)
    assert not tracker.run(assign, inputs={"skims": path}).cache_hit


# -- matrix views ------------------------------------------------------------------------------


def three_scenario_runs(tracker: Tracker) -> dict[str, float]:
    scales = {}
    for name, scale, year in (("base", 1.0, 2020), ("toll", 2.0, 2030), ("transit", 3.0, 2040)):
        with consist.scenario(name, tracker=tracker) as sc:
            result = sc.run(
                fn=make_skims,
                name="assign",
                run_id=f"{name}_assign",
                config={"scale": scale},
                outputs=["skims"],
                year=year,
                iteration=0,
            )
        scales[result.run.id] = scale
    return scales


def test_matrix_view_stacks_three_runs_by_run_id(tracker: Tracker) -> None:
    scales = three_scenario_runs(tracker)
    view = consist.MatrixViewFactory(tracker).load_matrix_view("skims", variables=["time"])
    assert list(view["run_id"].values) == list(scales)  # oldest first
    assert list(view.data_vars) == ["time"]
    assert list(view["scenario"].values) == ["base", "toll", "transit"]
    assert list(view["year"].values) == [2020, 2030, 2040]
    assert list(view["iteration"].values) == [0, 0, 0]
    for run_id, scale in scales.items():
        expected = skims(scale)["time"]
        assert (
            view["time"]
            .sel(run_id=run_id)
            .drop_vars(["run_id", "scenario", "year", "iteration", "model"])
            .equals(expected)
        )


def test_matrix_view_of_chosen_runs_in_their_order(tracker: Tracker) -> None:
    three_scenario_runs(tracker)
    factory = consist.MatrixViewFactory(tracker)
    view = factory.load_matrix_view("skims", run_ids=["transit_assign", "base_assign"])
    assert list(view["run_id"].values) == ["transit_assign", "base_assign"]
    assert set(view.data_vars) == {"time", "dist"}
    # A cache hit names the run that reused the store: it is stacked like its source.
    with consist.scenario("again", tracker=tracker) as sc:
        hit = sc.run(
            fn=make_skims,
            name="assign",
            config={"scale": 1.0},
            outputs=["skims"],
            year=2020,
            iteration=0,
        )
    assert hit.cache_hit
    view = factory.load_matrix_view("skims", run_ids=[hit.run.id])
    assert float(view["time"].sum()) == float(skims(1.0)["time"].sum())


def test_matrix_view_errors_say_what_to_fix(tracker: Tracker) -> None:
    three_scenario_runs(tracker)
    factory = consist.MatrixViewFactory(tracker)
    with pytest.raises(KeyError, match="no completed run produced"):
        factory.load_matrix_view("skimz")
    with pytest.raises(KeyError, match="'speed'.*time"):
        factory.load_matrix_view("skims", variables=["speed"])
    with pytest.raises(LookupError, match="nope"):
        factory.load_matrix_view("skims", run_ids=["nope"])
    with pytest.raises(ValueError, match="more than once"):
        factory.load_matrix_view("skims", run_ids=["base_assign", "base_assign"])
    with pytest.raises(TypeError, match="list of non-empty names"):
        factory.load_matrix_view("skims", variables="time")
    with tracker.start_run("table", model="other"):
        consist.log_dataframe(__import__("pandas").DataFrame({"a": [1]}), key="skims")
    with pytest.raises(ValueError, match="parquet.*tracker.views"):
        factory.load_matrix_view("skims", run_ids=["table"])
    with pytest.raises(KeyError, match="has no output 'skims'"):
        factory.load_matrix_view("skims", run_ids=["base"])  # the scenario header


def test_matrix_view_is_lazy(tracker: Tracker) -> None:
    pytest.importorskip("dask")
    three_scenario_runs(tracker)
    view = consist.MatrixViewFactory(tracker).load_matrix_view("skims")
    assert all(type(v.data).__module__.startswith("dask") for v in view.data_vars.values())


def test_matrix_view_filters_by_scenario_model_and_status(tracker: Tracker) -> None:
    three_scenario_runs(tracker)
    factory = consist.MatrixViewFactory(tracker)
    toll = factory.load_matrix_view("skims", parent_id="toll")
    assert list(toll["run_id"].values) == ["toll_assign"]
    assert factory.load_matrix_view("skims", model="assign")["run_id"].size == 3
    with pytest.raises(KeyError, match="of model 'skimmer'"):
        factory.load_matrix_view("skims", model="skimmer")
    with pytest.raises(ValueError, match="'finished'.*'completed'"):
        factory.load_matrix_view("skims", status="finished")
    with pytest.raises(ValueError, match="scenario 'base', not 'toll'"):
        factory.load_matrix_view("skims", run_ids=["base_assign"], parent_id="toll")

    def broken() -> xr.Dataset:
        raise RuntimeError("solver diverged")

    with pytest.raises(RuntimeError):
        tracker.run(broken, outputs=["skims"])
    assert factory.load_matrix_view("skims")["run_id"].size == 3  # failed runs stay out


def test_log_dataframe_writes_arrays_where_asked_and_refuses_table_formats(
    tracker: Tracker,
) -> None:
    with tracker.start_run("arrays", model="logger"):
        grid = consist.log_dataframe(skims(1.0), key="grid", path="grid.nc")
        store = consist.log_dataframe(skims(1.0)["time"], key="time")
        with pytest.raises(ValueError, match=r"'zarr', 'nc'.*'\.nc'"):
            consist.log_dataframe(skims(1.0), key="bad", path="bad.parquet")
        assert not (tracker.run_artifact_dir() / "bad.parquet").exists()
    assert (grid.driver, store.driver) == ("nc", "zarr")
    assert consist.load(grid).identical(skims(1.0))
    assert consist.load(store)["time"].equals(skims(1.0)["time"])


def test_array_stores_are_hydrated_and_bundled(make_tracker, workdir: Path) -> None:
    first = make_tracker()
    made = first.run(make_skims, config={"scale": 1.0}, outputs=["skims"])
    again = first.run(
        make_skims, config={"scale": 1.0}, outputs=["skims"], cache_hydration="outputs-all"
    )
    assert again.cache_hit
    copies = sorted((workdir / "runs" / "outputs").rglob("skims.zarr"))
    assert len(copies) == 2  # the cached store, and its verified copy for the hit

    # Another workspace on the same database copies the store in before its step runs.
    other = make_tracker(run_dir=workdir / "elsewhere")
    seen = {}
    used = other.run(
        lambda skims: seen.setdefault("skims", skims),
        name="use",
        inputs={"skims": made.outputs["skims"]},
        cache_hydration="inputs-missing",
    )
    assert seen["skims"].identical(skims(1.0))
    bundle = other.load_input_bundle(used.run.id)
    assert isinstance(bundle["skims"], xr.Dataset) and bundle["skims"].identical(skims(1.0))


def test_without_xarray_stores_are_still_recorded_and_errors_name_the_extra(
    workdir: Path, store_kind: str
) -> None:
    import subprocess
    import sys
    import textwrap

    skims(1.0).to_zarr(workdir / "skims.zarr", mode="w")
    code = f"""
        import sys
        sys.modules["xarray"] = None  # as if it were not installed
        import consist
        with consist.Tracker("runs", db_path="p.{store_kind}") as t:
            with t.start_run("import", model="m"):
                art = consist.log_artifact("skims.zarr")
            print(art.driver, art.digest.startswith("blake3:"))
            for attempt in (
                lambda: consist.load(art),
                lambda: consist.MatrixViewFactory(t).load_matrix_view("skims"),
            ):
                try:
                    attempt()
                except consist.ConsistError as exc:
                    print(exc)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        env={"CONSIST_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": ""},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "zarr True"
    assert len(lines) == 3, done.stdout
    assert all("xarray" in line and "consist[arrays]" in line for line in lines[1:])


def test_matrix_views_from_the_core_module_as_the_tutorials_import_them(tracker: Tracker) -> None:
    from consist.core.matrix import MatrixViewFactory

    three_scenario_runs(tracker)
    view = MatrixViewFactory(tracker).load_matrix_view("skims", run_ids=["base_assign"])
    assert list(view["run_id"].values) == ["base_assign"]
    with pytest.raises(TypeError, match=r"MatrixViewFactory\(tracker\)"):
        MatrixViewFactory(None)
