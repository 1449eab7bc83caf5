"""Argument binding by annotation and mapping return values onto outputs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from frame_libs import as_dict, frame_type, takes, write_file
from pydantic import BaseModel

import consist
from consist import Artifact


class Settings(BaseModel):
    threshold: float = 0.5
    label: str = "x"


def test_parameters_receive_values_by_annotation(tracker, raw_csv: Path, lib: str) -> None:
    seen: dict[str, object] = {}

    @takes(lib, "as_frame")
    def step(as_path: Path, as_str: str, as_frame, untyped, as_artifact: Artifact):
        seen.update(
            as_path=as_path, as_str=as_str, as_frame=as_frame, untyped=untyped, art=as_artifact
        )
        return None

    keys = ("as_path", "as_str", "as_frame", "untyped", "as_artifact")
    tracker.run(step, inputs={k: raw_csv for k in keys})
    assert seen["as_path"] == raw_csv and isinstance(seen["as_path"], Path)
    assert Path(seen["as_str"]) == raw_csv
    assert isinstance(seen["as_frame"], frame_type(lib)) and len(seen["as_frame"]) == 4
    assert as_dict(seen["as_frame"]) == as_dict(pd.read_csv(raw_csv))
    assert isinstance(seen["untyped"], pd.DataFrame)  # pandas is the default engine
    assert isinstance(seen["art"], Artifact) and seen["art"].key == "as_artifact"


def test_load_inputs_false_passes_paths(tracker, raw_csv: Path) -> None:
    seen = {}

    def step(untyped):
        seen["v"] = untyped

    tracker.run(step, inputs={"untyped": raw_csv}, load_inputs=False)
    assert seen["v"] == raw_csv


def test_config_object_is_passed_as_given_and_keys_bind_by_name(tracker, raw_csv) -> None:
    seen = {}

    def step(raw: Path, config: Settings, threshold, label="unused"):
        seen.update(config=config, threshold=threshold, label=label)

    tracker.run(step, inputs={"raw": raw_csv}, config=Settings(threshold=0.7, label="lbl"))
    assert isinstance(seen["config"], Settings)
    assert (seen["threshold"], seen["label"]) == (0.7, "lbl")

    def dict_step(config):
        seen["dict"] = config

    tracker.run(dict_step, config={"a": [1, 2]})
    assert seen["dict"] == {"a": [1, 2]}


class Calls:
    """Records calls; not a plain value, so it does not take part in code identity."""

    def __init__(self) -> None:
        self.seen: list[object] = []


def test_fn_args_are_passed_and_count_for_identity(tracker, raw_csv) -> None:
    calls = Calls()

    def step(raw: Path, verbose):
        calls.seen.append(verbose)
        return {"out": raw}

    tracker.run(step, inputs={"raw": raw_csv}, fn_args={"verbose": True})
    miss = tracker.run(step, inputs={"raw": raw_csv}, fn_args={"verbose": False})
    hit = tracker.run(step, inputs={"raw": raw_csv}, fn_args={"verbose": True})
    assert calls.seen == [True, False] and not miss.cache_hit and hit.cache_hit
    assert "fn_args.verbose: True -> False" in str(tracker.explain(miss.run.id))


def test_unbindable_parameter_is_a_type_error_and_nothing_is_recorded(tracker, raw_csv) -> None:
    def step(raw: Path, missing):
        raise AssertionError("must not run")

    with pytest.raises(TypeError, match=r"step\(\) parameter 'missing'"):
        tracker.run(step, inputs={"raw": raw_csv})
    assert tracker.find_runs() == []


@pytest.mark.parametrize(
    ("ret", "outputs", "expected"),
    [
        ("dict", None, {"a", "b"}),
        ("tuple", ["a", "b"], {"a", "b"}),
        ("single", ["only"], {"only"}),
        ("frame", None, {"output"}),
        ("none", None, set()),
    ],
)
def test_return_values_map_onto_outputs(tracker, raw_csv, ret, outputs, expected, lib) -> None:
    @takes(lib, "raw")
    def step(raw):
        if ret == "dict":
            return {"a": raw, "b": raw["value"]}
        if ret == "tuple":
            return raw, raw.head(1)
        if ret in ("single", "frame"):
            return raw
        return None

    result = tracker.run(step, inputs={"raw": raw_csv}, outputs=outputs)
    assert set(result.outputs) == expected
    for key, artifact in result.outputs.items():
        assert artifact.path.suffix == ".parquet" and artifact.path.name == f"{key}.parquet"
        assert result[key] is artifact
    if len(expected) == 1:
        assert result.output is next(iter(result.outputs.values()))
    else:
        assert result.output is None
    if ret == "dict":  # a Series is a one-column table
        assert as_dict(result["b"].load(engine=lib)) == {"value": [0.2, 0.6, 0.9, 0.4]}


def test_output_paths_and_returned_paths(tracker, raw_csv, lib) -> None:
    @takes(lib, "raw")
    def step(raw):
        write_file(raw, tracker.run_artifact_dir() / "written.csv")
        return {"table": raw}

    result = tracker.run(
        step,
        inputs={"raw": raw_csv},
        output_paths={"written": "written.csv", "table": "custom/table.csv"},
    )
    assert set(result.outputs) == {"written", "table"}
    assert result["table"].path.name == "table.csv" and result["table"].driver == "csv"
    assert len(consist.load(result["written"])) == 4
    table = consist.load(result["table"], engine=lib)
    assert isinstance(table, frame_type(lib))
    assert as_dict(table) == as_dict(pd.read_csv(raw_csv))


def test_declared_output_missing_warns_or_errors(tracker, raw_csv) -> None:
    def step(raw: Path):
        return {"a": raw}

    with pytest.warns(consist.ConsistWarning, match=r"\['b'\]"):
        tracker.run(step, inputs={"raw": raw_csv}, outputs=["a", "b"])
    with pytest.raises(FileNotFoundError, match=r"\['b'\]"):
        tracker.run(
            step,
            inputs={"raw": raw_csv},
            outputs=["a", "b"],
            output_missing="error",
            config={"differs": True},
        )
    assert tracker.find_runs(status="failed")[0].error.startswith("OutputMissingError")


def test_unsupported_return_value_fails_the_run_with_a_clear_error(tracker) -> None:
    def step():
        return {"score": object()}

    with pytest.raises(consist.OutputError, match="'score'"):
        tracker.run(step)


def test_define_step_defaults_and_explicit_override(tracker, raw_csv) -> None:
    @tracker.define_step(outputs=["cleaned"], tags=["cleaning"], model="cleaner")
    def clean(raw: pd.DataFrame):
        return raw

    result = tracker.run(clean, inputs={"raw": raw_csv})
    assert set(result.outputs) == {"cleaned"}
    assert result.run.model_name == "cleaner" and result.run.tags == ["cleaning"]
    other = tracker.run(clean, inputs={"raw": raw_csv}, tags=["other"])
    assert other.run.tags == ["other"]
    with pytest.raises(TypeError, match="unknown run options"):
        tracker.define_step(outputz=["x"])


def test_dataclass_and_nested_configs_are_hashable(tracker) -> None:
    @dataclasses.dataclass
    class Solver:
        tolerance: float
        layers: tuple[int, ...]

    def step(config):
        return None

    a = tracker.run(step, config={"solver": Solver(1e-6, (1, 2))})
    b = tracker.run(step, config={"solver": Solver(1e-6, (1, 2))})
    assert (a.cache_hit, b.cache_hit) == (False, True)
