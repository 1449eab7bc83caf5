"""Manual runs, traced blocks and logging from inside steps, through the public API."""

from __future__ import annotations

import asyncio
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from frame_libs import as_dict, assert_frame_equal, frame_type, make_frame, takes

import consist
from consist import RunStatus, Tracker

PERSONS = {"person": [1, 2, 3], "trips": [2, 0, 5]}
FRAME = pd.DataFrame(PERSONS)


def test_start_run_records_logged_artifacts_and_meta(tracker, raw_csv: Path, lib: str) -> None:
    frame = make_frame(lib, PERSONS)
    with tracker.start_run("calibrate_2030", model="calibrate", config={"alpha": 0.2}) as t:
        assert t is tracker and tracker.current_run.id == "calibrate_2030"
        tracker.log_input(raw_csv, key="observed")
        table = tracker.log_dataframe(frame, key="persons")
        as_csv = consist.log_dataframe(frame, key="persons_csv", driver="csv")
        by_suffix = consist.log_dataframe(frame, key="by_suffix", path="tables/p.csv")
        consist.log_meta(iterations=12, converged=True)
    run = tracker.get_run("calibrate_2030")
    assert run.status is RunStatus.COMPLETED and run.model_name == "calibrate"
    assert run.meta["iterations"] == 12 and run.meta["converged"] is True
    assert tracker.current_run is None
    assert table.path.suffix == ".parquet" and table.driver == "parquet"
    assert as_csv.path.suffix == ".csv" and by_suffix.driver == "csv"
    assert by_suffix.path == tracker.run_dir / "outputs/calibrate/calibrate_2030/tables/p.csv"
    links = tracker.get_artifacts_for_run(run.id)
    assert set(links.inputs) == {"observed"}
    assert set(links.outputs) == {"persons", "persons_csv", "by_suffix"}
    for key in ("persons", "persons_csv", "by_suffix"):
        assert_frame_equal(consist.load(links.outputs[key], engine=lib), frame)


def test_start_run_fails_on_exception_and_reraises(tracker) -> None:
    with pytest.raises(ZeroDivisionError), tracker.start_run("broken_run", model="m"):
        consist.log_dataframe(FRAME, key="partial")
        raise ZeroDivisionError("division by zero")
    run = tracker.get_run("broken_run")
    assert run.status is RunStatus.FAILED and run.error.startswith("ZeroDivisionError")
    assert tracker.find_runs(status="failed")[0].id == "broken_run"


def test_begin_and_end_run(tracker) -> None:
    run = tracker.begin_run("manual_1", "manual", config={"k": 1})
    assert run.status is RunStatus.RUNNING and tracker.current_run is run
    consist.log_dataframe(FRAME, key="table")
    ended = tracker.end_run()
    assert ended.status is RunStatus.COMPLETED
    assert tracker.get_run("manual_1").status is RunStatus.COMPLETED
    failed = tracker.begin_run("manual_2", "manual")
    tracker.end_run("failed", error="gave up")
    assert tracker.get_run(failed.id).error == "gave up"


def test_lifecycle_misuse_raises_specific_errors_and_records_nothing(tracker, lib: str) -> None:
    with pytest.raises(consist.NoActiveRunError, match="begin_run"):
        tracker.end_run()
    with pytest.raises(consist.NoActiveRunError, match="outside any run"):
        consist.log_meta(x=1)
    with pytest.raises(consist.NoActiveRunError, match="open run"):
        tracker.log_dataframe(make_frame(lib, PERSONS), key="x")
    with pytest.raises(consist.NoActiveRunError):
        consist.current_run_dir()
    assert tracker.find_runs() == []

    tracker.begin_run("first", "m")
    with pytest.raises(consist.ActiveRunError, match="'first' is still open"):
        tracker.begin_run("second", "m")
    with pytest.raises(consist.ActiveRunError, match="'first' is open"):
        tracker.run(lambda: None)
    tracker.end_run()
    assert [r.id for r in tracker.find_runs()] == ["first"]


@pytest.mark.parametrize("key", ["", "a/b", "../x"])
def test_invalid_keys_are_refused_and_nothing_is_written(tracker, key, raw_csv, lib) -> None:
    with tracker.trace("keys") as t:
        with pytest.raises(consist.InvalidKeyError, match="key"):
            consist.log_dataframe(make_frame(lib, PERSONS), key=key)
        with pytest.raises(consist.InvalidKeyError):
            t.log_artifact(raw_csv, key=key)
        run_dir = consist.current_run_dir()
    assert list(run_dir.iterdir()) == []
    assert tracker.get_artifacts_for_run(t.find_runs(model="keys")[0].id).outputs == {}
    assert not list(tracker.run_dir.parent.rglob("x.parquet"))


def test_trace_always_executes_and_reuses_identical_outputs(tracker, lib: str) -> None:
    seen = []
    artifacts = []
    for _ in range(2):
        with tracker.trace("summarise", config={"k": 1}):
            seen.append(tracker.is_cached)
            # A frame built anew each time: the same rows are the same bytes.
            artifacts.append(consist.log_dataframe(make_frame(lib, PERSONS), key="summary"))
    assert seen == [False, True]
    assert artifacts[1].id == artifacts[0].id  # the cached artifact, not a new one
    first, second = sorted(tracker.find_runs(model="summarise"), key=lambda r: r.created_at)
    assert second.meta["cache_hit"] and second.meta["cache_source"] == first.id
    assert tracker.get_artifacts_for_run(second.id).outputs["summary"].id == artifacts[0].id


def test_a_different_output_demotes_a_traced_hit(tracker, lib: str) -> None:
    frame = make_frame(lib, PERSONS)
    with tracker.trace("model", config={"k": 1}):
        consist.log_dataframe(frame, key="persons")
        consist.log_dataframe(frame.head(1), key="households")
    demotion = pytest.warns(consist.ConsistWarning, match="ordinary execution")
    with demotion, tracker.trace("model", config={"k": 1}):
        assert tracker.is_cached
        consist.log_dataframe(frame, key="persons")  # same: still the cached artifact
        consist.log_dataframe(frame.tail(1), key="trips")  # new: demotes the hit
        assert not tracker.is_cached
    first, second = sorted(tracker.find_runs(model="model"), key=lambda r: r.created_at)
    assert second.meta["cache_hit"] is False and second.meta["demoted_from"] == first.id
    outputs = tracker.get_artifacts_for_run(second.id).outputs
    assert set(outputs) == {"persons", "trips"}  # the cached "households" link is removed
    assert outputs["trips"].run_id == second.id
    assert tracker.get_artifacts_for_run(first.id).outputs.keys() == {"persons", "households"}


def test_relogging_a_changed_file_at_the_cached_path_demotes(tracker, workdir) -> None:
    result = workdir / "result.txt"
    logged = []
    for content in ("v1", "v1", "v2"):
        result.write_text(content)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tracker.trace("writer", config={"k": 1}):
                was_hit = tracker.is_cached
                logged.append(
                    (was_hit, consist.log_output(result, key="result"), tracker.is_cached)
                )
    (hit1, first, _), (hit2, second, still2), (hit3, third, still3) = logged
    assert (hit1, hit2, hit3) == (False, True, True)
    assert second.id == first.id and still2  # same key, path and bytes: the cached artifact
    assert third.id != first.id and not still3  # new bytes at the same path: demoted
    assert third.digest != first.digest


def test_inject_context_and_run_directories(tracker, raw_csv, lib: str) -> None:
    seen = {}

    @takes(lib, "raw")
    def step(raw, ctx: consist.RunContext):
        seen["dirs"] = (ctx.run_dir, consist.current_run_dir(), tracker.run_artifact_dir())
        seen["exists"] = ctx.run_dir.is_dir()
        seen["inputs"] = sorted(ctx.inputs)
        seen["loaded"] = ctx.load("raw", engine=lib)
        seen["raw"] = raw
        ctx.log_meta(rows=len(raw))
        (ctx.run_dir / "extra.txt").write_text("x")
        ctx.log_output(ctx.run_dir / "extra.txt")
        return {"raw_copy": raw}

    result = tracker.run(step, inputs={"raw": raw_csv}, inject_context="ctx")
    run_dir, module_dir, tracker_dir = seen["dirs"]
    assert run_dir == module_dir == tracker_dir and seen["exists"]
    assert seen["inputs"] == ["raw"] and len(seen["loaded"]) == 4
    assert isinstance(seen["raw"], frame_type(lib)) and isinstance(seen["loaded"], frame_type(lib))
    assert as_dict(consist.load(result["raw_copy"], engine=lib)) == as_dict(seen["raw"])
    assert set(result.outputs) == {"extra", "raw_copy"}  # logged and returned outputs merge
    assert result.run.meta["rows"] == 4

    def default_name(_consist_ctx):
        seen["default"] = isinstance(_consist_ctx, consist.RunContext)

    tracker.run(default_name, inject_context=True)
    assert seen["default"]


def test_capture_outputs_plain_call_and_context_manager(tracker, workdir) -> None:
    folder = workdir / "tool_out"
    folder.mkdir()
    (folder / "old.csv").write_text("written before the run")
    os.utime(folder / "old.csv", ns=(10**9, 10**9))
    seen = {}

    def step(ctx):
        (folder / "early.csv").write_text("1")
        with ctx.capture_outputs(folder, pattern="*.csv") as block:
            (folder / "inside.csv").write_text("2")
            (folder / "inside.txt").write_text("pattern does not match")
        seen["block"] = sorted(block)
        seen["plain"] = sorted(ctx.capture_outputs(folder, pattern="*.csv"))

    result = tracker.run(step, inject_context="ctx")
    assert seen["block"] == ["inside"]
    assert seen["plain"] == ["early", "inside"]
    assert set(result.outputs) == {"early", "inside"}


def test_capture_dir_on_run_and_recursive_keys(tracker, workdir) -> None:
    folder = workdir / "legacy"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()

    def tool():
        (folder / "a" / "out.csv").write_text("1")
        (folder / "b" / "out.csv").write_text("2")
        (folder / "top.csv").write_text("3")

    result = tracker.run(tool, capture_dir=folder, capture_pattern="*.csv")
    assert set(result.outputs) == {"top"}  # not recursive: only the folder itself

    def nested(ctx):
        (folder / "a" / "out.csv").write_text("11")
        (folder / "b" / "out.csv").write_text("22")
        ctx.capture_outputs(folder, pattern="*.csv", recursive=True)

    nested_result = tracker.run(nested, inject_context="ctx")
    assert set(nested_result.outputs) == {"a__out.csv", "b__out.csv"}


def test_files_outside_the_workspace_warn_once(tracker, workdir) -> None:
    (workdir / "one.txt").write_text("1")
    (workdir / "two.txt").write_text("2")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with tracker.trace("outside"):
            first = consist.log_output(workdir / "one.txt")
            consist.log_output(workdir / "two.txt")
    portability = [w for w in caught if "outside run_dir" in str(w.message)]
    assert len(portability) == 1 and "mounts=" in str(portability[0].message)
    assert first.uri == (workdir / "one.txt").as_uri()


def test_explicit_run_id_with_another_signature_conflicts(tracker) -> None:
    with tracker.start_run("fixed_id", model="m", config={"a": 1}):
        pass
    conflict = pytest.raises(consist.RunIdConflictError, match="fixed_id")
    with conflict, tracker.start_run("fixed_id", model="m", config={"a": 2}):
        raise AssertionError("must not run")
    with tracker.start_run("fixed_id", model="m", config={"a": 1}):
        assert tracker.is_cached  # the same run re-opened
    assert len(tracker.find_runs()) == 1


def _worker(root: Path, label: str, suffix: str, errors: list) -> None:
    try:
        with Tracker(run_dir=root / label, db_path=root / f"{label}.{suffix}") as tracker:
            for i in range(5):
                with tracker.trace(f"{label}_step", config={"i": i}):
                    consist.log_meta(owner=label, i=i)
                    consist.log_dataframe(FRAME.assign(owner=label), key=f"{label}_out")
            runs = tracker.find_runs()
            assert len(runs) == 5
            assert {r.meta["owner"] for r in runs} == {label}
            for run in runs:
                assert set(tracker.get_artifacts_for_run(run.id).outputs) == {f"{label}_out"}
    except BaseException as exc:  # surfaced by the main thread
        errors.append(exc)


def test_threads_with_their_own_trackers_do_not_share_runs(workdir, store_kind) -> None:
    errors: list = []
    threads = [
        threading.Thread(target=_worker, args=(workdir, n, store_kind, errors)) for n in "ab"
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


def test_asyncio_tasks_see_only_their_own_current_run(workdir, store_kind) -> None:
    async def task(label: str) -> str:
        db = workdir / f"{label}.{store_kind}"
        with Tracker(run_dir=workdir / label, db_path=db) as tracker:
            with tracker.trace(f"{label}_block"):
                await asyncio.sleep(0.01)  # the other task runs here
                consist.log_meta(owner=label)
                await asyncio.sleep(0.01)
            return tracker.find_runs()[0].meta["owner"]

    async def main() -> list[str]:
        return list(await asyncio.gather(task("x"), task("y")))

    assert asyncio.run(main()) == ["x", "y"]


def test_find_run_and_find_runs_filters(tracker) -> None:
    for year in (2020, 2030):
        with tracker.trace(
            "simulate", year=year, tags=["scenario_header" if year == 2020 else "scenario"]
        ):
            pass
    assert consist.find_run(tracker=tracker, model="simulate", year=2030).year == 2030
    with pytest.raises(LookupError, match="more than one"):
        consist.find_run(tracker=tracker, model="simulate")
    with pytest.raises(LookupError, match="no run matches"):
        tracker.find_run(model="simulate", year=1999)
    assert [r.year for r in tracker.find_runs(tags=["scenario"])] == [2030]
    assert len(tracker.find_runs(limit=None)) == 2
    assert len(tracker.find_runs(limit=1)) == 1
    by_year = consist.find_runs(tracker=tracker, model="simulate", index_by="year")
    assert sorted(by_year) == [2020, 2030] and by_year[2020].year == 2020


def test_log_artifacts_and_manual_run_events(tracker, workdir) -> None:
    events: list[str] = []
    tracker.on_run_start(lambda run: events.append(f"start {run.id}"))
    tracker.on_run_complete(lambda run: events.append(f"complete {run.id}"))
    tracker.on_run_failed(lambda run: events.append(f"failed {run.id}"))
    for name in ("a.csv", "b.csv"):
        (workdir / name).write_text(name)
    with tracker.start_run("bulk", model="bulk"):
        by_stem = consist.log_artifacts([workdir / "a.csv", workdir / "b.csv"])
        by_key = tracker.log_artifacts({"first": workdir / "a.csv"}, direction="input")
    assert set(by_stem) == {"a", "b"} and set(by_key) == {"first"}
    links = tracker.get_artifacts_for_run("bulk")
    assert set(links.outputs) == {"a", "b"} and set(links.inputs) == {"first"}
    assert links.inputs["first"].run_id is None  # an input is not produced by this run
    with pytest.raises(RuntimeError), tracker.start_run("bad", model="bulk", config={"v": 2}):
        raise RuntimeError("boom")
    assert events == ["start bulk", "complete bulk", "start bad", "failed bad"]


def _trips(year: int, lib: str = "pandas") -> Any:
    return make_frame(lib, {"person": [1, 2], "trips": [year % 7, 2]})


def test_year_is_part_of_identity_so_a_loop_never_reuses_another_years_result(
    tracker, lib: str
) -> None:
    for _ in range(2):
        for year in (2020, 2030):
            with tracker.trace("simulate", year=year):
                consist.log_dataframe(_trips(year, lib), key="persons")
    runs = tracker.find_runs(model="simulate")
    assert [r.meta["cache_hit"] for r in runs] == [True, True, False, False]
    for run in runs:
        stored = tracker.get_artifacts_for_run(run.id).outputs["persons"]
        assert_frame_equal(consist.load(stored, engine=lib), _trips(run.year, lib))


def test_a_hit_whose_block_computes_other_data_is_demoted_not_trusted(tracker, lib: str) -> None:
    source = iter([1, 2])  # an iterator: state the signature cannot see
    for trips in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tracker.trace("estimate"):
                art = consist.log_dataframe(make_frame(lib, {"t": [next(source)]}), key="out")
        assert consist.load(art, engine=lib)["t"].to_list() == [trips]
    latest = tracker.find_runs(model="estimate", limit=1)[0]
    assert latest.meta["cache_hit"] is False and latest.meta["demoted_from"]
    assert latest.identity["unseen_reads"] == ["source"]


def test_reopening_an_explicit_run_id_keeps_its_files(tracker, lib: str) -> None:
    for _ in range(2):
        with tracker.start_run("fixed_2020", model="simulate", year=2020):
            art = consist.log_dataframe(_trips(2020, lib), key="persons")
    assert art.path.exists()
    assert_frame_equal(consist.load(art, engine=lib), _trips(2020, lib))
