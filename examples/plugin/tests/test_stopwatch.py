"""The plugin's own tests: the executor passes Consist's executor contract, and a tracker
finds it through the installed entry point and runs steps on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from consist_stopwatch import StopwatchExecutor

from consist import Tracker
from consist.plugin import ExecutorContract


class TestStopwatchContract(ExecutorContract):
    @pytest.fixture
    def executor(self) -> StopwatchExecutor:
        return StopwatchExecutor()


def double(x: int) -> None:
    print(2 * x)


def test_a_tracker_runs_steps_on_the_installed_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "timings.csv"
    monkeypatch.setenv("CONSIST_STOPWATCH_LOG", str(log))
    with Tracker(run_dir=tmp_path / "runs", db_path=tmp_path / "p.duckdb") as tracker:
        first = tracker.run(double, fn_args={"x": 2}, executor="stopwatch")
        again = tracker.run(double, fn_args={"x": 2}, executor="stopwatch")
    assert not first.cache_hit and again.cache_hit
    # One line: the cache hit never reached the executor.
    assert log.read_text().splitlines()[0].startswith("double,")
    assert len(log.read_text().splitlines()) == 1
