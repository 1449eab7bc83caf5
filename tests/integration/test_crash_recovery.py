"""A process killed in the middle of a step leaves a ``running`` row; the next tracker marks
it ``crashed`` and the step runs again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import consist
from consist import RunStatus

STEPS = """
import os
import time
from pathlib import Path

import consist


def simulate(config):
    if os.environ.get("HANG_IN_STEP"):
        consist.current_tracker().flush()  # the running row reaches the database
        Path("step_started").write_text(str(os.getpid()))
        time.sleep(120)
    Path("executions.txt").open("a").write("ran\\n")
    return {"result": Path("executions.txt")}
"""

CHILD = """
import sys
from consist import Tracker
import crash_steps

tracker = Tracker(run_dir="runs", db_path=sys.argv[1], project_root=".")
tracker.run(crash_steps.simulate, run_id="long", config={"a": 1})
"""


@pytest.mark.slow
def test_a_killed_step_is_marked_crashed_and_runs_again(
    workdir: Path, db_file: Path, make_tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "crash_steps.py").write_text(textwrap.dedent(STEPS))
    (workdir / "child.py").write_text(textwrap.dedent(CHILD))
    env = {**os.environ, "HANG_IN_STEP": "1", "PYTHONPATH": str(workdir)}
    child = subprocess.Popen([sys.executable, "child.py", str(db_file)], cwd=workdir, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (workdir / "step_started").exists():
            assert child.poll() is None, "the child exited before its step started"
            assert time.monotonic() < deadline, "the child's step never started"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)

    monkeypatch.syspath_prepend(str(workdir))
    import crash_steps

    tracker = make_tracker(run_dir=workdir / "runs", project_root=workdir)
    crashed = tracker.get_run("long")
    assert crashed.status is RunStatus.CRASHED
    assert f"pid {child.pid}" in (crashed.error or "")

    again = tracker.run(crash_steps.simulate, run_id="long", config={"a": 1})
    assert not again.cache_hit and again.run.status is RunStatus.COMPLETED
    assert (workdir / "executions.txt").read_text() == "ran\n"
    assert consist.find_run(tracker=tracker, status="completed", model="simulate").id == "long"


def test_runs_of_live_processes_are_left_running(make_tracker) -> None:
    first = make_tracker()
    first.begin_run("open_here", model="m")
    first.flush()
    second = make_tracker(run_dir=first.run_dir.parent / "other_runs")  # opens the same database
    assert second.get_run("open_here").status is RunStatus.RUNNING
    first.end_run()
