"""Calls of the original library's public API that workflows written against it make, each
through our public API, on both stores."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select

import consist
from consist.models import Run as RunRow
from consist.models import pivot_facets


def write_step(out: str = "out.csv"):
    def step(raw: Path, config=None):
        frame = pd.read_csv(raw)
        return {"out": frame}

    return step


# -- queries -------------------------------------------------------------------------------
def test_run_query_returns_rows_with_names(tracker, raw_csv) -> None:
    tracker.run(write_step(), inputs={"raw": raw_csv}, config={"k": 1})
    rows = consist.run_query(select(RunRow.id, RunRow.model_name), tracker=tracker)
    assert rows and rows[0].model_name == "step" and rows[0]._mapping["id"] == rows[0][0]
    ids = consist.run_query(select(RunRow.id), tracker=tracker)
    assert isinstance(ids[0], str)  # one column: its values
    as_rows = consist.run_query(select(RunRow.id), tracker=tracker, scalars=False)
    assert as_rows[0].id == ids[0]
    firsts = consist.run_query(select(RunRow.id, RunRow.status), tracker=tracker, scalars=True)
    assert firsts == ids


def test_find_run_errors_are_lookup_and_value_errors(tracker, raw_csv) -> None:
    with pytest.raises(ValueError, match="no run matches"):
        tracker.find_run(model="nothing")
    for k in (1, 2):
        tracker.run(write_step(), inputs={"raw": raw_csv}, config={"k": k})
    with pytest.raises(LookupError, match="more than one run matches"):
        consist.find_run(tracker=tracker, model="step")
    with pytest.raises(consist.RunMatchError):
        tracker.find_run(model="step")


def test_a_scenario_name_addresses_its_newest_generation(tracker) -> None:
    headers = []
    for generation in (1, 2, 3):
        with consist.scenario("baseline", tracker=tracker) as sc:
            headers.append(sc.run_id)
            with sc.trace(name="simulate", year=2030):
                consist.log_meta(generation=generation)
    assert headers == ["baseline", "baseline#2", "baseline#3"]
    newest = consist.find_run(tracker=tracker, parent_id="baseline", model="simulate")
    assert newest.meta["generation"] == 3
    assert tracker.find_run(parent_id="baseline#2", model="simulate").meta["generation"] == 2
    assert tracker.find_run(parent_id="baseline#1", model="simulate").meta["generation"] == 1
    assert len(tracker.find_runs(parent_id="baseline", limit=5)) == 1


def test_tutorial_run_helpers(tracker, raw_csv, workdir) -> None:
    step = write_step()
    first = tracker.run(step, inputs={"raw": raw_csv}, config={"alpha": 1, "mode": "car"})
    second = tracker.run(
        step, inputs={"raw": raw_csv}, config={"alpha": 2, "mode": "car", "beta": 0}
    )
    assert tracker.find_latest_run(model="step").id == second.run.id
    assert tracker.find_latest_run(model="missing") is None
    assert tracker.get_latest_run_id(model="step") == second.run.id
    with pytest.raises(ValueError, match="no completed run"):
        tracker.get_latest_run_id(model="missing")
    assert set(tracker.get_run_outputs(first.run.id)) == {"out"}
    assert set(tracker.get_run_inputs(first.run.id)) == {"raw"}
    assert tracker.get_run_config(first.run.id) == {"alpha": 1, "mode": "car"}
    changes = tracker.diff_runs(first.run.id, second.run.id)["changes"]
    assert changes["alpha"] == {"status": "changed", "left": 1, "right": 2}
    assert changes["mode"]["status"] == "same"
    assert changes["beta"] == {"status": "added", "left": None, "right": 0}
    out = first.outputs["out"]
    assert tracker.resolve_uri(out.uri) == out.path and out.path.exists()


def test_explain_compares_with_the_closest_earlier_run(tracker, raw_csv) -> None:
    step = write_step()
    for alpha, beta in ((1, 1), (2, 1), (5, 5)):  # the newest differs in both parameters
        tracker.run(step, inputs={"raw": raw_csv}, config={"alpha": alpha, "beta": beta})
    miss = tracker.run(step, inputs={"raw": raw_csv}, config={"alpha": 2, "beta": 2})
    text = str(tracker.explain(miss.run.id))
    assert "beta: 1 -> 2" in text and "alpha" not in text  # compared with (2, 1)


def test_pivot_facets_over_every_model(tracker, raw_csv) -> None:
    tracker.run(write_step(), inputs={"raw": raw_csv}, config={"a": 1}, facet={"alpha": 0.5})
    with tracker.trace("other", facet={"alpha": 0.7}):
        pass
    pivot = pivot_facets(keys=["alpha"])
    values = sorted(v for _, v in consist.run_query(select(pivot), tracker=tracker))
    assert values == [0.5, 0.7]


# -- the tracker's options ------------------------------------------------------------------
def test_hashing_strategy_is_another_name_for_hashing(make_tracker) -> None:
    assert make_tracker(hashing_strategy="fast").hashing == "fast"
    with pytest.raises(consist.OptionValueError, match="hashing_strategy"):
        make_tracker(hashing="full", hashing_strategy="fast")


def test_access_modes(make_tracker, raw_csv, workdir) -> None:
    writer = make_tracker()
    made = writer.run(write_step(), inputs={"raw": raw_csv})
    analysis = make_tracker(access_mode="analysis")
    assert analysis.access_mode == "analysis" and not analysis.read_only
    for refused in (
        lambda: analysis.run(write_step(), inputs={"raw": raw_csv}),
        lambda: analysis.trace("x").__enter__(),
        lambda: consist.scenario("s", tracker=analysis).__enter__(),
    ):
        with pytest.raises(consist.ReadOnlyError, match="access_mode='standard'"):
            refused()
    assert analysis.ingest(made.outputs["out"]).rows == 4  # analysis may ingest
    reader = make_tracker(access_mode="read_only")
    assert reader.read_only
    with pytest.raises(consist.ReadOnlyError, match="read_only"):
        reader.ingest(made.outputs["out"])
    assert make_tracker(read_only=True).access_mode == "read_only"
    with pytest.raises(consist.OptionValueError, match="access_mode"):
        make_tracker(access_mode="write")
    with pytest.raises(consist.OptionValueError, match="one or the other"):
        make_tracker(read_only=True, access_mode="analysis")


# -- scenarios ------------------------------------------------------------------------------
def test_scenario_run_id_and_add_input(tracker, raw_csv) -> None:
    def total(raw: pd.DataFrame) -> dict:
        return {"total": raw[["value"]].sum().to_frame()}

    with consist.scenario("base", tracker=tracker) as sc:
        assert sc.run_id == sc.header.id == "base" and sc.id == "base"
        added = sc.add_input(raw_csv, key="raw")
        assert sc.coupler.require("raw").id == added.id
        result = sc.run(total, input_keys=["raw"])
    assert "raw" in tracker.get_artifacts_for_run("base").inputs
    assert tracker.get_run_inputs(result.run.id)["raw"].digest == added.digest
    with consist.scenario("again", tracker=tracker) as sc:
        sc.add_input(added)  # an artifact recorded earlier, under its own key
        assert sc.coupler.require("raw").digest == added.digest
    with pytest.raises(consist.NoActiveRunError):
        sc.add_input(raw_csv)


# -- declared outputs, capture, context -----------------------------------------------------
def test_an_output_declared_before_it_is_written(tracker, workdir) -> None:
    target = workdir / "later.csv"
    with tracker.trace("writes-later") as t:
        declared = consist.log_artifact(target, key="later", direction="output")
        assert declared.digest is None
        target.write_text("a\n1\n")
        run_id = t.current_run.id
    recorded = tracker.get_artifacts_for_run(run_id).outputs["later"]
    assert recorded.digest and recorded.digest.startswith("blake3:")


@pytest.mark.parametrize("entry", ["trace", "run", "sc.trace", "sc.run"])
def test_a_declared_output_still_missing_follows_output_missing(tracker, workdir, entry) -> None:
    def step():
        consist.log_artifact(workdir / "never.csv", key="never", direction="output")

    def attempt(policy: str, tag: int) -> None:
        kwargs = {"output_missing": policy, "config": {"tag": tag}}
        if entry == "trace":
            with tracker.trace("declares", **kwargs):
                step()
        elif entry == "run":
            tracker.run(step, **kwargs)
        else:
            with consist.scenario(f"sc{tag}", tracker=tracker) as sc:
                if entry == "sc.run":
                    sc.run(step, **kwargs)
                else:
                    with sc.trace("declares", **kwargs):
                        step()

    with pytest.warns(consist.ConsistWarning, match="never"):
        attempt("warn", 1)
    with pytest.raises(RuntimeError, match="never") as info:
        attempt("error", 2)
    assert isinstance(info.value, consist.OutputMissingError)
    failed = tracker.find_runs(status="failed")
    assert failed and "OutputMissingError" in failed[0].error
    with warnings.catch_warnings():
        warnings.simplefilter("error", consist.ConsistWarning)
        attempt("ignore", 3)


def test_capture_outputs_as_a_module_function_and_a_method(tracker, workdir) -> None:
    folder = workdir / "tool-out"
    folder.mkdir()
    with tracker.trace("tool") as t:
        with consist.capture_outputs(folder, pattern="*.csv"):
            (folder / "a.csv").write_text("x\n1\n")
        with t.capture_outputs(folder, pattern="*.txt"):
            (folder / "b.txt").write_text("note")
        run_id = t.current_run.id
    assert set(tracker.get_run_outputs(run_id)) == {"a", "b"}
    with pytest.raises(consist.NoActiveRunError):
        consist.capture_outputs(folder)


def test_inject_context_without_a_parameter_to_receive_it(tracker) -> None:
    def step(alpha=1):
        return None

    with pytest.raises(ValueError, match="_consist_ctx"):
        tracker.run(step, inject_context=True)
    with pytest.raises(consist.BindingError, match="'ctx'"):
        tracker.run(step, inject_context="ctx")
    assert tracker.find_runs() == []


def test_facet_index_and_artifact_dir(tracker, raw_csv, workdir) -> None:
    plain = tracker.run(
        write_step(), inputs={"raw": raw_csv}, facet={"alpha": 1}, facet_index=False
    )
    assert plain.run.meta["facet"] == {"alpha": 1}
    assert tracker.find_runs(facet={"alpha": 1}) == []
    indexed = tracker.run(write_step(), inputs={"raw": raw_csv}, facet={"alpha": 2})
    assert [r.id for r in tracker.find_runs(facet={"alpha": 2})] == [indexed.run.id]
    placed = tracker.run(
        write_step(), inputs={"raw": raw_csv}, config={"p": 1}, artifact_dir="custom/place"
    )
    assert placed.outputs["out"].path.parent == tracker.run_dir / "custom" / "place"


def test_numpy_scalars_in_metadata_become_python_values(tracker, raw_csv) -> None:
    with tracker.trace("np") as t:
        consist.log_meta(flag=np.bool_(True), count=np.int64(3), ratio=np.float32(0.5))
        artifact = t.log_artifact(raw_csv, key="raw", direction="input", weight=np.float64(2))
        run_id = t.current_run.id
    meta = tracker.get_run(run_id).meta
    assert meta["flag"] is True and meta["count"] == 3 and type(meta["count"]) is int
    assert meta["ratio"] == 0.5
    assert tracker.get_run_inputs(run_id)["raw"].meta["weight"] == 2.0
    assert artifact.meta["weight"] == 2.0


def test_materialize_artifacts(tracker, raw_csv, workdir) -> None:
    result = tracker.run(write_step(), inputs={"raw": raw_csv})
    copied = consist.materialize_artifacts(
        tracker, [(result.outputs["out"], workdir / "c.parquet")]
    )
    assert copied == {"out": workdir / "c.parquet"} and (workdir / "c.parquet").exists()
    with pytest.raises(consist.ArgumentTypeError, match="pairs"):
        consist.materialize_artifacts(tracker, [result.outputs["out"]])
