"""Processes of an array job open a DuckDB file another Consist process holds without waiting
for its turn: cache lookups are answered by the copy of the cache index, records wait for the
first flush, and recovery at open happens at the process's first turn."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import consist
from consist.adapters.stores.duckdb_ import DuckDBStore
from consist.adapters.stores.sql import signature_index
from consist.adapters.stores.sql.lease import LOCK_TIMEOUT_ENV
from consist.adapters.stores.sql.signature_index import SUFFIX, IndexMirror, SignatureIndex
from consist.core.ports.store import RunQuery

STEP = textwrap.dedent(
    """
    from pathlib import Path

    def step(data: Path, config):
        out = Path(f"out_{config['x']}.txt")
        out.write_text(str(config["x"] * 2))
        return {"value": out}
    """
)

# Records one run of the step, then keeps the file (an open SQLAlchemy connection holds it)
# until told to let go: a Consist process in the middle of its turn.
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import consist
    from steps import step

    root = Path(sys.argv[1])
    with consist.Tracker(run_dir=root, db_path=root / "p.duckdb", project_root=root) as t:
        t.run(step, inputs={"data": root / "input.txt"}, config={"x": 1})
        t.flush()
        with t.engine.connect():
            print("held", flush=True)
            sys.stdin.readline()
    """
)


@pytest.fixture
def holder(tmp_path: Path):
    (tmp_path / "steps.py").write_text(STEP)
    (tmp_path / "input.txt").write_text("x")
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield process
    if process.poll() is None:
        process.communicate("\n", timeout=60)


def test_a_process_opening_a_held_file_gets_hits_from_the_copy_and_records_later(
    tmp_path: Path, holder: subprocess.Popen, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    # A lookup that had to wait for the file would time out (and count as a miss, warning).
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0.5")
    monkeypatch.syspath_prepend(str(tmp_path))
    from steps import step  # the holder's step, same code: same signature

    caplog.set_level(logging.WARNING, logger="consist")
    tracker = consist.Tracker(
        run_dir=tmp_path, db_path=tmp_path / "p.duckdb", project_root=tmp_path
    )
    try:
        assert tracker.services.store.held_elsewhere()
        hit = tracker.run(step, inputs={"data": tmp_path / "input.txt"}, config={"x": 1})
        miss = tracker.run(step, inputs={"data": tmp_path / "input.txt"}, config={"x": 2})
        assert hit.cache_hit and not miss.cache_hit
        assert "cache lookup skipped" not in caplog.text
        holder.communicate("\n", timeout=60)  # the holder lets go and ends
    finally:
        tracker.close()
    with DuckDBStore(str(tmp_path / "p.duckdb")) as store:
        found = {run.id for run in store.find_runs(RunQuery())}
    assert {hit.run.id, miss.run.id} <= found


def test_recovery_postponed_at_open_runs_before_the_first_read(
    tmp_path: Path, holder: subprocess.Popen, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pending snapshot another process left (the database refused it, say) is imported by
    # the next tracker; one that opened while the file was held does it at its first turn.
    (snapshot,) = (tmp_path / ".consist" / "runs").glob("*.json")  # the holder's run
    pending = tmp_path / ".consist" / "pending" / "imported-run.json"
    pending.parent.mkdir(parents=True, exist_ok=True)
    pending.write_bytes(snapshot.read_bytes().replace(snapshot.stem.encode(), b"imported-run"))
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "30")
    with consist.Tracker(run_dir=tmp_path, db_path=tmp_path / "p.duckdb") as tracker:
        assert tracker.services.store.held_elsewhere()
        assert pending.exists()  # not yet: the holder has the file
        holder.communicate("\n", timeout=60)
        assert tracker.get_run("imported-run") is not None  # the read waited for recovery
        assert not pending.exists()


def test_a_copy_is_trusted_only_for_the_database_file_it_was_written_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signature_index, "_COPY_WAIT_S", 0.05)
    db = tmp_path / "p.duckdb"
    db.write_bytes(b"first")
    index = SignatureIndex(str(db) + SUFFIX)
    row = ("r1", "sig", "2026-01-01T00:00:00", "{}", "{}")
    index.replace_all("database-1", 1, [row])
    assert index.mirrors_file() and IndexMirror(index).find("sig") == [row[:1] + row[2:]]
    db.unlink()  # deleted: nothing to vouch for
    assert not index.mirrors_file() and IndexMirror(index).find("sig") is None
    # Made again (possibly with the deleted file's inode): a store creating a database
    # forgets the copy's file first, so the old entries are not vouched for.
    db.write_bytes(b"second")
    index.forget_file()
    assert not index.mirrors_file() and IndexMirror(index).find("sig") is None
    index.close()


def test_a_database_made_again_at_the_same_path_finds_none_of_the_old_runs(
    tmp_path: Path,
) -> None:
    db = tmp_path / "p.duckdb"
    (tmp_path / "input.txt").write_text("x")

    def step(data: Path) -> None:
        pass

    with consist.Tracker(run_dir=tmp_path, db_path=db) as tracker:
        first = tracker.run(step, inputs={"data": tmp_path / "input.txt"})
    for leftover in tmp_path.glob("p.duckdb*"):
        if not leftover.name.endswith(SUFFIX):  # the copy stays behind, as users leave it
            leftover.unlink()
    with consist.Tracker(run_dir=tmp_path, db_path=db) as tracker:
        again = tracker.run(step, inputs={"data": tmp_path / "input.txt"})
    assert not again.cache_hit and again.run.id != first.run.id
