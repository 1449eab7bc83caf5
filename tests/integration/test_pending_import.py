"""Snapshots left in ``.consist/pending/`` are imported by the next tracker that opens the
database, never setting a finished run back, and never stopping a tracker from opening."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from consist import RunStatus


def _pending_dir(workdir: Path) -> Path:
    return workdir / "runs" / ".consist" / "pending"


def _snapshot(workdir: Path, run_id: str) -> Path:
    return workdir / "runs" / ".consist" / "runs" / f"{run_id}.json"


def test_a_pending_run_missing_from_the_database_is_imported(make_tracker, workdir: Path) -> None:
    first = make_tracker()
    first.begin_run("lost", model="m")
    first.end_run()
    first.close()
    snapshot = _snapshot(workdir, "lost")
    # As if the database had been out of reach: a fresh database, a pending copy.
    second = make_tracker(db_path=workdir / "other" / Path(first.db_path).name)
    assert second.find_runs(model="m") == []
    second.close()
    _pending_dir(workdir).mkdir(parents=True, exist_ok=True)
    shutil.copy(snapshot, _pending_dir(workdir) / "lost.json")

    third = make_tracker(db_path=second.db_path)
    assert third.get_run("lost").status is RunStatus.COMPLETED
    assert not list(_pending_dir(workdir).iterdir())


def _journaled_state(workdir: Path, run_id: str) -> bytes:
    """A running run's state as its process's journal holds it (no snapshot file yet)."""
    for journal in _pending_dir(workdir).glob("*.journal"):
        for line in journal.read_text().splitlines()[1:]:
            entry = json.loads(line)
            if isinstance(entry, dict) and entry["name"] == f"{run_id}.json":
                return entry["document"].encode()
    raise AssertionError(f"no journaled state of {run_id}")


def test_a_stale_pending_copy_never_sets_a_finished_run_back(make_tracker, workdir: Path) -> None:
    tracker = make_tracker()
    tracker.begin_run("done", model="m")
    _pending_dir(workdir).mkdir(parents=True, exist_ok=True)
    stale = _pending_dir(workdir) / "done.json"
    stale.write_bytes(_journaled_state(workdir, "done"))  # the "running" state
    tracker.end_run()
    tracker.close()
    _snapshot(workdir, "done").unlink()  # only the stale copy is left to import

    reopened = make_tracker()
    assert reopened.get_run("done").status is RunStatus.COMPLETED
    assert not stale.exists()


def test_an_unreadable_pending_copy_is_left_alone_with_a_warning(
    make_tracker, workdir: Path, caplog
) -> None:
    _pending_dir(workdir).mkdir(parents=True, exist_ok=True)
    broken = _pending_dir(workdir) / "broken.json"
    broken.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="consist"):
        tracker = make_tracker()
    assert "broken.json" in caplog.text and broken.exists()
    assert tracker.find_runs() == []


def test_a_pending_copy_the_database_refuses_does_not_hold_back_the_others(
    make_tracker, workdir: Path, caplog
) -> None:
    first = make_tracker()
    for run_id in ("kept", "spoiled"):
        first.begin_run(run_id, model="m")
        first.end_run()
    first.close()
    _pending_dir(workdir).mkdir(parents=True, exist_ok=True)
    for run_id in ("kept", "spoiled"):
        shutil.copy(_snapshot(workdir, run_id), _pending_dir(workdir))
    # A hand-edited snapshot whose year no INTEGER column takes.
    spoiled = _snapshot(workdir, "spoiled")
    spoiled.write_text(spoiled.read_text().replace('"year":null', f'"year":{2**70}'))
    fresh_db = workdir / "other" / Path(first.db_path).name

    with caplog.at_level(logging.WARNING, logger="consist"):
        second = make_tracker(db_path=fresh_db)
    assert [run.id for run in second.find_runs(model="m")] == ["kept"]
    assert "spoiled.json was refused" in caplog.text
    assert [path.name for path in _pending_dir(workdir).iterdir()] == ["spoiled.json"]


def test_rebuilding_clears_pending_copies(make_tracker, workdir: Path) -> None:
    tracker = make_tracker()
    tracker.begin_run("r", model="m")
    tracker.end_run()
    tracker.flush()
    _pending_dir(workdir).mkdir(parents=True, exist_ok=True)
    shutil.copy(_snapshot(workdir, "r"), _pending_dir(workdir) / "r.json")
    assert tracker.rebuild_from_snapshots() == 1
    assert not list(_pending_dir(workdir).iterdir())
