"""Calls the original library's tutorial notebooks make that needed a name or option here,
each made as a notebook makes it, through the public API, on every store."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from frame_libs import frame_type, make_frame, rows_where

import consist
from consist import CacheOptions, ExecutionOptions, define_step, use_tracker
from consist.core.errors import ArgumentError, ArgumentHashError, KeyNotFoundError
from consist.core.materialize import materialize_artifacts

if TYPE_CHECKING:
    import polars as pl  # the annotation is read by name; polars loads when used


def keep_above(raw_df: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    return raw_df[raw_df["value"] > threshold]


def keep_above_polars(raw_df: pl.DataFrame, threshold: float = 0.5) -> pl.DataFrame:
    return rows_where(raw_df, raw_df["value"] > threshold)


KEEP_ABOVE = {"pandas": keep_above, "polars": keep_above_polars}


@pytest.fixture
def values_csv(workdir: Path) -> Path:
    path = workdir / "values.csv"
    pd.DataFrame({"value": [0.1, 0.6, 0.9, 0.2]}).to_csv(path, index=False)
    return path


# -- module-level run with a current tracker -----------------------------------------------
def test_use_tracker_and_module_run_then_load_df(tracker, values_csv, lib: str) -> None:
    with use_tracker(tracker):
        first = consist.run(
            fn=KEEP_ABOVE[lib],
            inputs={"raw_df": values_csv},
            config={"threshold": 0.5},
            outputs=["cleaned"],
        )
        again = consist.run(
            fn=KEEP_ABOVE[lib],
            inputs={"raw_df": values_csv},
            config={"threshold": 0.5},
            outputs=["cleaned"],
        )
    assert (first.cache_hit, again.cache_hit) == (False, True)
    frame = consist.load_df(first.outputs["cleaned"])
    assert isinstance(frame, pd.DataFrame)  # pandas unless engine= says otherwise
    assert frame["value"].tolist() == [0.6, 0.9]
    as_lib = consist.load_df(first.outputs["cleaned"], engine=lib)
    assert isinstance(as_lib, frame_type(lib)) and as_lib["value"].to_list() == [0.6, 0.9]
    assert consist.current_tracker() is None  # the block restored the previous tracker


def test_module_run_without_a_tracker_says_how(workdir) -> None:
    with pytest.raises(ArgumentError, match="tracker="):
        consist.run(fn=keep_above, config={"threshold": 0.5})


# -- ExecutionOptions / CacheOptions --------------------------------------------------------
def read_path(raw_path: Path, threshold: float = 0.5) -> dict[str, Path]:
    frame = pd.read_csv(raw_path)
    out = Path("kept.parquet")
    frame[frame["value"] > threshold].to_parquet(out, index=False)
    return {"cleaned": out}


def test_execution_options_repeating_an_input_is_a_hit(tracker, values_csv) -> None:
    def call(threshold: float):
        return tracker.run(
            fn=read_path,
            inputs={"raw_path": values_csv},
            config={"threshold": threshold},
            outputs=["cleaned"],
            execution_options=ExecutionOptions(
                load_inputs=False, runtime_kwargs={"raw_path": values_csv}
            ),
        )

    assert [call(0.5).cache_hit, call(0.5).cache_hit, call(0.8).cache_hit] == [False, True, False]


def offset(*, base: int, seed: int) -> pd.DataFrame:
    return pd.DataFrame({"v": [base + seed]})


def test_runtime_kwargs_enter_the_signature(tracker) -> None:
    """A runtime keyword the config does not hold is hashed like fn_args: another value is a
    miss, never a stale hit."""

    def call(seed: int):
        return tracker.run(
            offset,
            config={"base": 1, "seed": 0},
            outputs=["out"],
            execution_options=ExecutionOptions(runtime_kwargs={"seed": seed}),
        )

    first, same, other = call(3), call(3), call(4)
    assert (first.cache_hit, same.cache_hit, other.cache_hit) == (False, True, False)
    assert consist.load_df(other.outputs["out"])["v"].tolist() == [5]


def test_runtime_kwargs_that_cannot_be_hashed_are_refused(tracker) -> None:
    def summarize(*, shares) -> pd.DataFrame:
        return pd.DataFrame({"n": [len(shares)]})

    # (A pandas Series counts by its content; a lock has nothing to digest.)
    with pytest.raises(ArgumentHashError, match="shares"):
        tracker.run(
            summarize,
            outputs=["out"],
            execution_options=ExecutionOptions(runtime_kwargs={"shares": {0: threading.Lock()}}),
        )


def test_runtime_kwargs_conflicting_with_fn_args_are_refused(tracker) -> None:
    with pytest.raises(ArgumentError, match="given twice"):
        tracker.run(
            offset,
            fn_args={"base": 1, "seed": 1},
            outputs=["out"],
            execution_options=ExecutionOptions(runtime_kwargs={"seed": 2}),
        )


@dataclass
class Params:
    beta: float = -0.1
    fare: float = 2.5


@define_step(outputs=["table"])
def priced(*, params, scale, _consist_ctx):
    path = _consist_ctx.output_path("summary/table", ext="csv")
    pd.DataFrame({"p": [params.beta * scale, params.fare]}).to_csv(path, index=False)
    _consist_ctx.log_output(path, key="table")


def test_define_step_ref_cache_options_and_output_path_in_a_scenario(tracker) -> None:
    params = Params()
    with consist.scenario("demo", tracker=tracker) as sc:
        result = sc.run(
            name="init",
            fn=priced,
            config=asdict(params) | {"scale": 2.0},
            cache_options=CacheOptions(validate_cached_outputs="eager"),
            execution_options=ExecutionOptions(
                inject_context=True, runtime_kwargs={"params": params, "scale": 2.0}
            ),
        )
    table = consist.ref(result, key="table")
    assert table is result.outputs["table"]
    assert Path(table.path).as_posix().endswith("summary/table.csv")
    assert consist.load_df(table)["p"].tolist() == [-0.2, 2.5]
    assert table.container_uri == table.uri
    with pytest.raises(KeyNotFoundError, match="no output 'missing'"):
        consist.ref(result, key="missing")


def test_output_path_refuses_escaping_names(tracker) -> None:
    def step(_consist_ctx):
        _consist_ctx.output_path("../outside", ext="csv")

    with pytest.raises(ArgumentError, match="relative name"):
        tracker.run(step, inject_context=True)


def test_cache_options_disagreeing_with_a_plain_option_is_refused(tracker) -> None:
    with pytest.raises(ArgumentError, match="disagree"):
        tracker.run(
            offset,
            config={"base": 1, "seed": 0},
            cache_mode="overwrite",
            cache_options=CacheOptions(cache_mode="reuse"),
        )


# -- materialize_artifacts at the notebooks' import path ------------------------------------
def test_materialize_artifacts_from_core_module(tracker, values_csv, workdir) -> None:
    result = tracker.run(keep_above, inputs={"raw_df": values_csv}, outputs=["cleaned"])
    dest = workdir / "handoff" / "cleaned.parquet"
    copied = materialize_artifacts(tracker, [(result.outputs["cleaned"], dest)])
    assert Path(copied["cleaned"]) == dest
    assert pd.read_parquet(dest)["value"].tolist() == [0.6, 0.9]


# -- ctx.load of an input artifact -----------------------------------------------------------
def test_context_loads_an_input_given_as_artifact(tracker, values_csv, lib: str) -> None:
    keep = KEEP_ABOVE[lib]
    first = tracker.run(keep, inputs={"raw_df": values_csv}, outputs=["cleaned"])
    other = tracker.run(
        keep, inputs={"raw_df": values_csv}, config={"threshold": 0.8}, outputs=["cleaned"]
    )

    def step(_consist_ctx):
        previous = _consist_ctx.inputs.get("cleaned")
        frame = _consist_ctx.load(previous, engine=lib) if previous else None
        assert isinstance(frame, frame_type(lib))
        return {"count": make_frame(lib, {"n": [len(frame)]})}

    result = tracker.run(
        step, inputs={"cleaned": first.outputs["cleaned"]}, inject_context=True, outputs=["count"]
    )
    assert consist.load_df(result.outputs["count"])["n"].tolist() == [2]

    def stray(_consist_ctx):
        _consist_ctx.load(other.outputs["cleaned"])

    with pytest.raises(KeyNotFoundError, match="not an input"):
        tracker.run(stray, inputs={"cleaned": first.outputs["cleaned"]}, inject_context=True)
