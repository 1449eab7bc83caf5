"""Nothing lost, nothing written outside: a step that returned is in the database at the
next open however its process ended, and records written by others are checked."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from consist import RunStatus, Tracker

LOOP = """
import sys
from consist import Tracker

def tiny(config):
    return None

tracker = Tracker(run_dir=sys.argv[1], db_path=sys.argv[2])
i = 0
while True:
    result = tracker.run(tiny, config={"i": i, "trial": sys.argv[3]})
    print(result.run.id, flush=True)
    i += 1
"""

HOLD_SQLITE = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""

HOLD_DUCKDB = """
import duckdb, sys, time
conn = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.close()
"""


def _run_and_kill(script: Path, args: list[str], seconds: float, at_least: int = 1) -> list[str]:
    """Start the loop, SIGKILL it ``seconds`` after its first completed run; its printed ids."""
    child = subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    assert first, child.stderr.read() if child.stderr else "no output"
    time.sleep(seconds)
    os.kill(child.pid, signal.SIGKILL)
    rest, _ = child.communicate(timeout=30)
    ids = [first.strip(), *rest.split()]
    assert len(ids) >= at_least
    return ids


@pytest.mark.slow
def test_runs_of_a_killed_process_are_all_in_the_database(
    tmp_path: Path, store_kind: str, db_file: Path | str
) -> None:
    script = tmp_path / "loop.py"
    script.write_text(textwrap.dedent(LOOP))
    runs, db = tmp_path / "runs", db_file  # a file in tmp_path, or a PostgreSQL URL
    rng = random.Random(16)
    printed: list[str] = []
    for trial in range(10):
        printed += _run_and_kill(script, [str(runs), str(db), str(trial)], rng.uniform(0, 0.4))
    with Tracker(run_dir=runs, db_path=db) as tracker:  # no rebuild, no manual step
        known = {run.id for run in tracker.find_runs(model="tiny")}
        missing = [run_id for run_id in printed if run_id not in known]
        assert missing == []
        statuses = {tracker.get_run(run_id).status for run_id in printed}
        assert statuses == {RunStatus.COMPLETED}
    assert not list((runs / ".consist" / "pending").glob("*.json"))


@pytest.mark.slow
def test_runs_of_a_process_killed_while_another_holds_the_lock_are_kept(
    tmp_path: Path, store_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, holder = tmp_path / "loop.py", tmp_path / "hold.py"
    script.write_text(textwrap.dedent(LOOP))
    holder.write_text(textwrap.dedent(HOLD_SQLITE if store_kind == "sqlite" else HOLD_DUCKDB))
    runs, db = tmp_path / "runs", tmp_path / f"provenance.{store_kind}"
    with Tracker(run_dir=runs, db_path=db):  # the database exists before it is held
        pass
    lock = subprocess.Popen(
        [sys.executable, str(holder), str(db), "4"], stdout=subprocess.PIPE, text=True
    )
    assert lock.stdout is not None and lock.stdout.readline().strip() == "locked"
    monkeypatch.setenv("CONSIST_LOCK_TIMEOUT", "0.5")  # the child gives up on the lock fast
    printed = _run_and_kill(script, [str(runs), str(db), "locked"], 1.0, at_least=2)
    lock.wait(timeout=30)
    with Tracker(run_dir=runs, db_path=db) as tracker:
        assert all(tracker.get_run(run_id).status is RunStatus.COMPLETED for run_id in printed)


# -- records written by others are input to validate -----------------------------------------


def _snapshot_of(tracker: Tracker, run_id: str) -> dict:
    path = tracker.run_dir / ".consist" / "runs" / f"{run_id}.json"
    return json.loads(path.read_text())


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_crafted_snapshots_are_refused_by_name_and_the_rest_imported(
    tmp_path: Path, store_kind: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    workspace = tmp_path / "ws"
    db = workspace / f"provenance.{store_kind}"
    with Tracker(run_dir=workspace, db_path=db) as tracker:
        good = tracker.run(lambda config: None, name="good", config={"a": 1}).run.id
        document = _snapshot_of(tracker, good)
    snapshots = workspace / ".consist" / "runs"
    climbing = json.loads(json.dumps(document))
    climbing["run"]["id"] = "../../../x"
    (snapshots / "climbing.json").write_text(json.dumps(climbing))
    escaping = json.loads(json.dumps(document))
    escaping["run"]["id"] = "escaping"
    escaping["links"]["output"] = {
        "out": {
            "id": "a1",
            "key": "out",
            "uri": "workspace://../../outside/stolen.csv",
            "driver": "csv",
            "digest": None,
            "size": None,
            "run_id": "escaping",
            "created_at": document["run"]["created_at"],
            "meta": {},
        }
    }
    (snapshots / "escaping.json").write_text(json.dumps(escaping))
    pending = workspace / ".consist" / "pending"
    pending.mkdir(parents=True, exist_ok=True)
    (pending / "climbing.json").write_text(json.dumps(climbing))
    db.unlink()
    before = _files_under(tmp_path) - _files_under(workspace)

    skipped: dict[str, str] = {}
    with Tracker(run_dir=workspace, db_path=db) as tracker:  # open imports pending
        restored = tracker.rebuild_from_snapshots(on_skip=lambda p, r: skipped.update({p.name: r}))
        assert restored == 1 and tracker.get_run(good).status is RunStatus.COMPLETED
        assert [r.id for r in tracker.find_runs()] == [good]
    assert set(skipped) == {"climbing.json", "escaping.json"}
    assert "'..'" in skipped["climbing.json"] and "outside" in skipped["escaping.json"]
    assert _files_under(tmp_path) - _files_under(workspace) == before  # nothing outside
    assert not (tmp_path / "x.json").exists()


def test_an_address_escaping_the_workspace_is_never_read_or_written(
    tmp_path: Path, store_kind: str
) -> None:
    db = tmp_path / f"provenance.{store_kind}"
    with Tracker(run_dir=tmp_path / "ws", db_path=db) as tracker:
        produced = tracker.run(lambda: {"out": _write(tracker)}, name="producer")
        artifact_id = produced["out"].id
    # A shared database edited by someone else: the artifact now points outside.
    if store_kind == "sqlite":
        conn = sqlite3.connect(db)
        conn.execute("UPDATE artifact SET uri = ? WHERE id = ?", ("workspace://../x", artifact_id))
        conn.commit()
        conn.close()
    else:
        import duckdb

        conn = duckdb.connect(str(db))
        conn.execute("UPDATE artifact SET uri = ? WHERE id = ?", ["workspace://../x", artifact_id])
        conn.close()
    with Tracker(run_dir=tmp_path / "ws", db_path=db) as tracker:
        artifact = tracker.get_artifact(artifact_id)
        with pytest.raises(ValueError, match=r"climbs out of its root"):
            tracker.materialize(artifact, tmp_path / "ws" / "copy.csv")
        with pytest.raises(ValueError, match=r"climbs out of its root"):
            _ = artifact.path
    assert not (tmp_path / "x").exists()


def _write(tracker: Tracker) -> Path:
    path = Path(tracker.run_artifact_dir()) / "out.csv"
    path.write_text("a\n1\n")
    return path


@pytest.mark.slow
def test_a_tracker_in_another_workspace_imports_what_a_killed_process_left(
    tmp_path: Path, store_kind: str
) -> None:
    script = tmp_path / "loop.py"
    script.write_text(textwrap.dedent(LOOP))
    db = tmp_path / f"provenance.{store_kind}"
    printed = _run_and_kill(script, [str(tmp_path / "first"), str(db), "0"], 0.2)
    with Tracker(run_dir=tmp_path / "second", db_path=db) as tracker:
        assert all(tracker.get_run(run_id).status is RunStatus.COMPLETED for run_id in printed)
        assert str(tmp_path / "second") in tracker.services.store.workspaces()
    assert not list((tmp_path / "first" / ".consist" / "pending").glob("*.json"))


DIES_AFTER_RETURNING = """
import os, shutil, sys
from consist import Tracker

tracker = Tracker(run_dir=sys.argv[1], db_path=sys.argv[2])
tracker.begin_run("returned", model="m")
tracker.flush()  # the running row reaches the database
tracker.end_run()  # the completed snapshot is written; its row is only queued
shutil.rmtree(os.path.join(sys.argv[1], ".consist", "pending"))  # as an older version left it
os._exit(0)  # no flush at exit: as if killed
"""


def test_crash_marking_never_overwrites_a_snapshot_that_says_completed(
    tmp_path: Path, store_kind: str
) -> None:
    script = tmp_path / "dies.py"
    script.write_text(textwrap.dedent(DIES_AFTER_RETURNING))
    runs, db = tmp_path / "runs", tmp_path / f"provenance.{store_kind}"
    done = subprocess.run([sys.executable, str(script), str(runs), str(db)], timeout=120)
    assert done.returncode == 0
    with Tracker(run_dir=runs, db_path=db) as tracker:
        assert tracker.get_run("returned").status is RunStatus.COMPLETED
    snapshot = json.loads((runs / ".consist" / "runs" / "returned.json").read_text())
    assert snapshot["run"]["status"] == "completed"


DIES_RIGHT_AFTER_A_STEP = """
import os, sys
from consist import Tracker

tracker = Tracker(run_dir=sys.argv[1], db_path=sys.argv[2])
result = tracker.run(lambda config: None, name="quick", config={"k": 1})
print(result.run.id, flush=True)
os._exit(0)  # killed before any flush: only its snapshot and journal hold the run
"""


def test_a_step_that_returned_is_kept_with_its_snapshot_when_the_process_dies_at_once(
    tmp_path: Path, db_file: Path | str
) -> None:
    script = tmp_path / "dies.py"
    script.write_text(textwrap.dedent(DIES_RIGHT_AFTER_A_STEP))
    runs, db = tmp_path / "runs", db_file
    done = subprocess.run(
        [sys.executable, str(script), str(runs), str(db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[-1]
    with Tracker(run_dir=runs, db_path=db) as tracker:
        assert tracker.get_run(run_id).status is RunStatus.COMPLETED
    snapshot = json.loads((runs / ".consist" / "runs" / f"{run_id}.json").read_text())
    assert snapshot["run"]["status"] == "completed"  # there for `consist db rebuild`
    assert not list((runs / ".consist" / "pending").glob("*.journal"))
