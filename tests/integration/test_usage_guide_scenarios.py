"""The usage guide's scenario, query and loading snippets, verbatim, with stand-in models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from frame_libs import as_dict, frame_type, make_frame, takes
from pydantic import BaseModel

import consist
from consist import RunStatus

SNIPPETS = Path(__file__).parent / "snippets"


class Population(BaseModel):
    person_id: int
    age: int


class Person(BaseModel):
    person_id: int
    age: int
    number_of_trips: int


def load_population() -> pd.DataFrame:
    return pd.DataFrame({"person_id": [1, 2, 3], "age": [34, 51, 8]})


def run_model(year: int) -> pd.DataFrame:
    return load_population().assign(number_of_trips=lambda d: (d.age + year) % 5)


class Calls:
    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def snippet(run_snippet):
    def run(name: str, **names: Any) -> dict[str, Any]:
        return run_snippet(SNIPPETS / name, consist=consist, **names)

    return run


def test_multi_year_scenario_and_the_query_snippets(workdir: Path, snippet) -> None:
    env = {"load_population": load_population, "run_model": run_model}
    first = snippet("scenario_years.py", Population=Population, Person=Person, **env)
    tracker = first["tracker"]
    sc = first["sc"]
    assert sc.header.id == "baseline" and sc.header.status is RunStatus.COMPLETED
    steps = tracker.find_runs(parent_id="baseline")
    assert {r.id for r in steps} == {
        "baseline_init",
        "baseline_2020",
        "baseline_2030",
        "baseline_2040",
    }
    assert all(r.scenario_id == "baseline" for r in steps)
    assert {r.meta["scenario_run"] for r in steps} == {"baseline"}  # the header generation
    assert sc.coupler.keys() == ["population", "persons"]
    persons = tracker.get_artifacts_for_run("baseline_2030").outputs["persons"]
    assert persons.meta["schema"] == "person"  # the table name the schema names

    found = snippet("finding_runs.py", tracker=tracker)
    assert found["run"].id == "baseline_2030"
    assert sorted(found["runs_by_year"]) == [2020, 2030, 2040]
    assert found["result_2030"].id == "baseline_2030"

    loaded = snippet("loading_artifacts.py", tracker=tracker, run=found["run"])
    pd.testing.assert_frame_equal(loaded["df"], run_model(2030))

    # The header records every step's inputs and outputs: the scenario's lineage in one query.
    header = tracker.get_artifacts_for_run("baseline")
    assert {a.run_id for a in header.outputs.values()} == {r.id for r in steps}
    tracker.close()

    # A second pass is a new generation; the explicit step ids are the same runs, reused.
    second = snippet("scenario_years.py", Population=Population, Person=Person, **env)
    tracker = second["tracker"]
    assert second["sc"].header.id == "baseline#2"
    hits = tracker.find_runs(parent_id="baseline", model="simulate")
    assert {r.meta["scenario_run"] for r in hits} == {"baseline"}  # explicit ids: same runs
    assert tracker.get_run("baseline").status is RunStatus.COMPLETED  # untouched
    assert len(tracker.find_runs(parent_id="baseline")) == 4
    assert len(tracker.find_runs(tags=["scenario_header"])) == 2
    assert snippet("finding_runs.py", tracker=tracker)["run"].id == "baseline_2030"
    tracker.close()


def test_passing_data_between_steps(tracker, workdir: Path, snippet) -> None:
    frame = pd.DataFrame({"zone": [1, 2], "jobs": [10, 20]})
    env = snippet("scenario_coupler.py", tracker=tracker, preprocess_data=lambda: frame)
    sc = env["sc"]
    pd.testing.assert_frame_equal(env["df"], frame)
    preprocess = tracker.find_run(model="preprocess")
    simulate = tracker.find_run(model="simulate")
    produced = tracker.get_artifacts_for_run(preprocess.id).outputs["processed"]
    consumed = tracker.get_artifacts_for_run(simulate.id).inputs
    assert consumed["data"].id == produced.id
    assert simulate.meta["cache_hydration"] == "inputs-missing"  # passed to every step
    assert sc.coupler.require("data").id == produced.id


def test_mixing_runs_and_scenarios(tracker, workdir: Path, snippet) -> None:
    (workdir / "network.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    processed_df = pd.DataFrame({"link": [1, 2], "capacity": [900, 1800]})
    results = []
    for _ in range(2):
        env = snippet("scenario_mixing.py", tracker=tracker, Path=Path, processed_df=processed_df)
        results.append(env["preprocess"])
        assert env["sc"].coupler.require("processed").id == results[0]["processed"].id
    assert [r.cache_hit for r in results] == [False, True]  # ran once across two passes
    assert results[1].run.parent_run_id == "baseline"


class BeamPreprocessor:
    def __init__(self) -> None:
        self.calls = 0

    def run(self, data: Path) -> None:
        self.calls += 1
        rows = Path(data).read_text().split()
        pd.DataFrame({"row": rows}).to_parquet(consist.current_run_dir() / "beam_inputs.parquet")


def test_function_shaped_scenario_steps(tracker, workdir: Path, snippet) -> None:
    (workdir / "data").write_text("a b c")
    beam = BeamPreprocessor()
    required = []
    for _ in range(2):
        env = snippet("scenario_function_steps.py", tracker=tracker, beamPreprocessor=beam)
        required.append(env["beam_inputs"])
    assert beam.calls == 1  # skipped on the second pass
    assert required[0].id == required[1].id
    assert len(consist.load(required[1])) == 3


def test_coupler_inputs_and_namespaces(tracker, lib: str) -> None:
    with consist.scenario("coupled", tracker=tracker) as sc:
        with sc.trace(name="produce"):
            consist.log_dataframe(make_frame(lib, {"a": [1]}), key="households")
        sc.coupler.view("land_use").set("zones", sc.coupler["households"])
        assert "land_use/zones" in sc.coupler and sc.coupler.view("land_use").keys() == ["zones"]
        with pytest.raises(KeyError, match="'households', 'land_use/zones'"):
            sc.coupler.require("persons")
        with sc.trace(
            name="consume",
            input_keys=["households", "land_use/zones"],
            optional_input_keys=["persons", "households"],
        ):
            pass

        @takes(lib, "households")
        def uses_coupler_string(households):
            assert isinstance(households, frame_type(lib))
            return {"copy": households}

        result = sc.run(fn=uses_coupler_string, inputs={"households": "households"})
    consume = tracker.find_run(model="consume")
    assert set(tracker.get_artifacts_for_run(consume.id).inputs) == {"households", "zones"}
    assert result.run.parent_run_id == "coupled"
    assert sc.coupler.require("copy").run_id == result.run.id
    assert as_dict(consist.load(result["copy"], engine=lib)) == {"a": [1]}


def test_function_steps_are_shared_across_scenarios_traced_blocks_are_not(
    tracker, lib: str
) -> None:
    calls = []

    def step(config):
        calls.append(config["v"])
        return {"out": make_frame(lib, {"v": [config["v"]]})}

    results, traced = {}, {}
    for name in ("baseline", "high_gas"):
        with tracker.scenario(name, config={"price": 1}) as sc:
            results[name] = sc.run(fn=step, config={"v": 1})
            with sc.trace(name="block", config={"v": 1}):
                traced[name] = tracker.is_cached
    # The same code, config and inputs in another scenario: content-addressed, a hit.
    assert calls == [1] and results["high_gas"].cache_hit
    assert results["high_gas"]["out"].id == results["baseline"]["out"].id
    assert results["high_gas"].run.parent_run_id == "high_gas"
    # A traced block reads ambient state: it is scoped to its scenario.
    assert traced == {"baseline": False, "high_gas": False}
    assert tracker.get_run("baseline").id != tracker.get_run("high_gas").id
    with tracker.scenario("baseline", config={"price": 2}) as sc:
        with sc.trace(name="block", config={"v": 1}):
            assert not tracker.is_cached  # a changed scenario config is a new scope
        assert sc.run(fn=step, config={"v": 1}).cache_hit
    with (
        tracker.scenario("baseline", config={"price": 1}) as sc,
        sc.trace(name="block", config={"v": 1}),
    ):
        assert tracker.is_cached


def test_a_failing_step_fails_the_header_and_names_the_step(tracker) -> None:
    with (
        pytest.raises(RuntimeError, match="no convergence"),
        consist.scenario("bad", tracker=tracker) as sc,
    ):
        with sc.trace(name="warmup"):
            pass
        with sc.trace(name="assign", year=2030):
            raise RuntimeError("no convergence")
    header = tracker.get_run("bad")
    assert header.status is RunStatus.FAILED
    assert "step 'assign'" in header.error and "no convergence" in header.error
    assert tracker.find_run(model="assign").status is RunStatus.FAILED
    assert tracker.find_run(model="warmup").status is RunStatus.COMPLETED


def test_default_step_ids_never_collide_across_generations(tracker) -> None:
    ids = set()
    for _ in range(3):
        with consist.scenario("sweep", tracker=tracker) as sc:
            for i in range(5):
                with sc.trace(name="step", iteration=i):
                    pass
    runs = tracker.find_runs(model="step")
    ids = {r.id for r in runs}
    assert len(runs) == 15 and len(ids) == 15
    generations = [r.meta["scenario_run"] for r in runs]
    assert sorted(set(generations)) == ["sweep", "sweep#2", "sweep#3"]
    assert all(generations.count(g) == 5 for g in set(generations))
    assert {r.id for r in tracker.find_runs(tags=["scenario_header"])} == {
        "sweep",
        "sweep#2",
        "sweep#3",
    }


def test_misuse_is_refused(tracker) -> None:
    inner = consist.scenario("inner", tracker=tracker)
    with consist.scenario("outer", tracker=tracker), pytest.raises(consist.ActiveRunError), inner:
        pass
    sc = consist.scenario("closed", tracker=tracker)
    with pytest.raises(consist.NoActiveRunError, match="scenario"):
        sc.run(fn=lambda: None)
    with pytest.raises(ValueError, match="step_cache_hydration"):
        consist.scenario("x", tracker=tracker, step_cache_hydration="sometimes")
    with pytest.raises(ValueError, match="tracker="):
        consist.scenario("no_tracker")
