"""Several processes share one database; a process holding it too long fails no step.

Real child processes run steps against one DuckDB or SQLite file. Nothing is mocked: the
"other program" holding the lock is a plain driver connection in a helper process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import consist

STEPS = """
from pathlib import Path


def transform(raw: Path, config):
    out = Path(f"out_{config['worker']}_{config['i']}.txt")
    out.write_text(f"{raw.read_text()} {config['worker']} {config['i']}")
    return {"result": out}
"""

WORKER = """
import sys
import time
from pathlib import Path

from consist import Tracker
import sweep_steps

db, worker, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pause = sys.argv[5] if len(sys.argv) > 5 else None
tracker = Tracker(run_dir="runs", db_path=db, project_root=".")
for i in range(first, first + count):
    if pause and i == first + count // 2:
        Path(f"{pause}.reached").touch()
        while not Path(f"{pause}.go").exists():
            time.sleep(0.01)
    result = tracker.run(
        sweep_steps.transform,
        inputs={"raw": Path("raw.txt")},
        config={"worker": worker, "i": i},
    )
    assert not result.cache_hit and result.run.status.value == "completed"
tracker.close()
print("done", worker)
"""

# Holds the database the way another program would, until told to let go.
HOLDER = """
import sys, time
from pathlib import Path

kind, db = sys.argv[1], sys.argv[2]
if kind == "duckdb":
    import duckdb
    conn = duckdb.connect(db)
else:
    import sqlite3
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
Path("holder.ready").touch()
while not Path("holder.release").exists():
    time.sleep(0.01)
conn.close() if kind == "duckdb" else (conn.execute("ROLLBACK"), conn.close())
"""


@pytest.fixture
def sweep(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (workdir / "sweep_steps.py").write_text(textwrap.dedent(STEPS))
    (workdir / "worker.py").write_text(textwrap.dedent(WORKER))
    (workdir / "holder.py").write_text(textwrap.dedent(HOLDER))
    (workdir / "raw.txt").write_text("raw")
    monkeypatch.setenv("PYTHONPATH", str(workdir))
    return workdir


_CHILDREN: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_child_outlives_its_test() -> Iterator[None]:
    """A test that fails while a child waits (for a file that will never appear) must not
    leave it polling for ever."""
    yield
    while _CHILDREN:
        child = _CHILDREN.pop()
        if child.poll() is None:
            child.kill()
            child.communicate()


def _start(workdir: Path, *args: object, **env: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, *map(str, args)],
        cwd=workdir,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _CHILDREN.append(child)
    return child


def _finish(process: subprocess.Popen[str], timeout: float = 240) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"child failed ({process.returncode}):\n{out}\n{err}"
    return err


def _pending(sweep: Path) -> set[str]:
    """The runs waiting for the database: pending copies and journal entries."""
    folder = sweep / "runs" / ".consist" / "pending"
    names = {path.name for path in folder.glob("*.json")}
    for journal in folder.glob("*.journal"):
        entries = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
        # A line names a snapshot file, or holds a running run's state itself.
        names |= {e if isinstance(e, str) else e["name"] for e in entries}
    return names


def _wait_for(
    path: Path, process: subprocess.Popen[str], timeout: float = 60, count: int = 0
) -> None:
    """Wait until ``path`` exists (or, with ``count``, until the sweep in ``path``'s parents
    has that many runs waiting for the database)."""
    deadline = time.monotonic() + timeout
    while not (len(_pending(path)) >= count if count else path.exists()):
        if process.poll() is not None:
            _finish(process)
            raise AssertionError(f"the child ended before {path.name} appeared")
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.01)


@pytest.fixture
def holder(sweep: Path, db_file: Path, store_kind: str) -> Iterator[subprocess.Popen[str]]:
    """A helper process holding the database's write lock until ``holder.release`` exists."""
    consist.Tracker(run_dir=sweep / "runs", db_path=db_file).close()  # the schema exists
    process = _start(sweep, "holder.py", store_kind, db_file)
    try:
        _wait_for(sweep / "holder.ready", process)
        yield process
    finally:
        (sweep / "holder.release").touch()
        _finish(process)


def _check_sweep(make_tracker, sweep: Path, workers: int, per_worker: int) -> None:
    """Every run of the sweep is recorded completed, with its input, output and files."""
    tracker = make_tracker(run_dir=sweep / "runs", project_root=sweep)
    runs = tracker.find_runs(model="transform", status="completed")
    assert len(runs) == workers * per_worker
    assert {(r.config["worker"], r.config["i"]) for r in runs} == {
        (w, w * per_worker + i) for w in range(workers) for i in range(per_worker)
    }
    for run in runs:
        linked = tracker.get_artifacts_for_run(run.id)
        assert set(linked.inputs) == {"raw"} and set(linked.outputs) == {"result"}
        assert tracker.get_artifact(linked.outputs["result"].id) is not None
    assert consist.run_query(
        "SELECT count(DISTINCT artifact_id) FROM run_artifact_link WHERE direction = 'output'",
        tracker=tracker,
    ) == [workers * per_worker]
    assert len(list(sweep.glob("out_*.txt"))) == workers * per_worker
    assert not _pending(sweep)


@pytest.mark.slow
def test_four_processes_share_one_database(sweep: Path, db_file: Path, make_tracker) -> None:
    workers, per_worker = 4, 50
    started = time.perf_counter()
    children = [
        _start(sweep, "worker.py", db_file, w, w * per_worker, per_worker) for w in range(workers)
    ]
    for child in children:
        _finish(child)
    print(f"{workers} x {per_worker} runs: {time.perf_counter() - started:.1f} s")
    _check_sweep(make_tracker, sweep, workers, per_worker)


def test_processes_opening_a_new_database_at_once_all_succeed(sweep: Path, db_file: Path) -> None:
    opener = "import sys; from consist import Tracker; Tracker('runs', sys.argv[1]).close()"
    children = [_start(sweep, "-c", opener, db_file) for _ in range(6)]
    for child in children:
        _finish(child)  # nobody saw a half-created schema


def test_steps_complete_while_another_process_holds_the_database(
    sweep: Path, db_file: Path, holder: subprocess.Popen[str], make_tracker
) -> None:
    worker = _start(sweep, "worker.py", db_file, 0, 0, 4, CONSIST_LOCK_TIMEOUT="0.3")
    err = _finish(worker)
    assert "wait for the database" in err  # the user is told, once, why rows are pending
    assert len(_pending(sweep)) == 4

    (sweep / "holder.release").touch()
    _finish(holder)
    _check_sweep(make_tracker, sweep, 1, 4)  # the next tracker imported them


def test_pending_rows_are_written_once_the_holder_lets_go(
    sweep: Path, db_file: Path, holder: subprocess.Popen[str], make_tracker
) -> None:
    worker = _start(sweep, "worker.py", db_file, 0, 0, 6, "pause", CONSIST_LOCK_TIMEOUT="0.3")
    _wait_for(sweep / "pause.reached", worker)
    _wait_for(sweep, worker, count=3)  # the retries failed

    (sweep / "holder.release").touch()
    _finish(holder)
    (sweep / "pause.go").touch()
    _finish(worker)
    # The worker itself wrote everything: nothing is left for anyone to import.
    assert not _pending(sweep)
    assert not list((sweep / "runs" / ".consist" / "pending").glob("*.journal"))
    _check_sweep(make_tracker, sweep, 1, 6)


EXPLICIT_IDS = """
import sys
from pathlib import Path

import consist
import sweep_steps

db, mode = sys.argv[1], sys.argv[2]
tracker = consist.Tracker(run_dir="runs", db_path=db, project_root=".")


def run(i, run_id):
    inputs, config = {"raw": Path("raw.txt")}, {"worker": 0, "i": i}
    return tracker.run(sweep_steps.transform, inputs=inputs, config=config, run_id=run_id)


if mode == "first":
    assert not run(0, "fixed").cache_hit
else:
    again = run(0, "fixed")  # the same step under its id: reused, from the snapshot
    assert again.cache_hit and set(again.outputs) == {"result"}, again
    try:
        run(1, "fixed")  # another step under a taken id: still a conflict
    except consist.RunIdConflictError:
        pass
    else:
        raise SystemExit("the taken id was not noticed")
    assert not run(2, "fresh").cache_hit
tracker.close()
"""


def test_explicit_run_ids_are_checked_against_snapshots_while_the_database_is_held(
    sweep: Path, db_file: Path, store_kind: str, make_tracker
) -> None:
    (sweep / "explicit.py").write_text(textwrap.dedent(EXPLICIT_IDS))
    _finish(_start(sweep, "explicit.py", db_file, "first"))
    held = _start(sweep, "holder.py", store_kind, db_file)
    try:
        _wait_for(sweep / "holder.ready", held)
        _finish(_start(sweep, "explicit.py", db_file, "locked", CONSIST_LOCK_TIMEOUT="0.3"))
    finally:
        (sweep / "holder.release").touch()
        _finish(held)
    tracker = make_tracker(run_dir=sweep / "runs", project_root=sweep)
    assert tracker.get_run("fixed").config == {"worker": 0, "i": 0}
    assert tracker.get_run("fresh").status.value == "completed"
