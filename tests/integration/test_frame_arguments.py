"""Frames and series passed to a step (``fn_args``, ``config``) count by their content."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import consist


def summarize(shares: dict, scale: float = 1.0) -> dict:
    total = sum(float(s.sum()) for s in shares.values()) * scale
    return {"total": pd.DataFrame({"total": [total]})}


def shares(values: list[float], name: str = "car") -> dict:
    return {0: pd.Series(values, name=name)}


def test_a_series_in_fn_args_hits_on_equal_content_and_misses_on_change(tracker) -> None:
    first = tracker.run(summarize, fn_args={"shares": shares([0.5, 0.5])})
    assert not first.cache_hit
    assert tracker.run(summarize, fn_args={"shares": shares([0.5, 0.5])}).cache_hit
    assert not tracker.run(summarize, fn_args={"shares": shares([0.5, 0.6])}).cache_hit
    assert not tracker.run(summarize, fn_args={"shares": shares([0.5, 0.5], "bus")}).cache_hit
    as_int = {0: pd.Series([1, 1], name="car")}
    as_float = {0: pd.Series([1.0, 1.0], name="car")}
    tracker.run(summarize, fn_args={"shares": as_int})
    assert not tracker.run(summarize, fn_args={"shares": as_float}).cache_hit  # dtype counts


def test_frames_in_config_count_by_content(tracker) -> None:
    def step(config):
        return {"out": config["table"].assign(k=1)}

    frame = pd.DataFrame({"a": [1, 2]}, index=["x", "y"])
    tracker.run(step, config={"table": frame})
    assert tracker.run(step, config={"table": frame.copy()}).cache_hit
    assert not tracker.run(step, config={"table": frame.rename(index={"y": "z"})}).cache_hit
    assert not tracker.run(step, config={"table": frame.rename(columns={"a": "b"})}).cache_hit


def test_polars_frames_count_by_content(tracker) -> None:
    def step(table):
        return {"out": table.to_pandas()}

    tracker.run(step, fn_args={"table": pl.DataFrame({"a": [1, 2]})})
    assert tracker.run(step, fn_args={"table": pl.DataFrame({"a": [1, 2]})}).cache_hit
    assert not tracker.run(step, fn_args={"table": pl.DataFrame({"a": [1, 3]})}).cache_hit


def test_a_frame_of_arbitrary_objects_is_still_refused(tracker) -> None:
    class Thing:
        pass

    with pytest.raises(consist.ArgumentHashError, match="shares"):
        tracker.run(summarize, fn_args={"shares": {0: pd.Series([Thing()])}})


def test_the_digest_is_the_same_in_another_process(tmp_path: Path) -> None:
    code = (
        "import pandas as pd, polars as pl\n"
        "from consist.adapters.frames.plugin import consist_object_digest as d\n"
        "print(d(pd.DataFrame({'a': [1.5, None]}, index=['p', 'q'])), "
        "d(pl.DataFrame({'a': [1, 2]})))\n"
    )
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
        for _ in range(2)
    }
    assert len(outs) == 1 and "rows" in outs.pop()
