"""The DuckDB store holds its file only while using it, so other processes get their turn."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import consist
from consist import OptionValueError, StoreLockedError
from consist.adapters.stores.duckdb_ import DuckDBStore
from consist.adapters.stores.sql.lease import IDLE_RELEASE_S, LOCK_TIMEOUT_ENV
from consist.core.ports.store import RunQuery

# Exits 0 if it could open the database within the given seconds, 1 if not.
TRY_OPEN = """
import sys, time
import duckdb

deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        duckdb.connect(sys.argv[1]).close()
        sys.exit(0)
    except duckdb.IOException:
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.05)
"""

HOLD = """
import sys, time
import duckdb

conn = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.readline()
conn.close()
"""


def _other_process_opens(db: Path, within: float) -> bool:
    done = subprocess.run([sys.executable, "-c", TRY_OPEN, str(db), str(within)], timeout=120)
    return done.returncode == 0


def test_an_idle_store_lets_other_programs_open_the_file(tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    with DuckDBStore(str(db)) as store:
        store.find_runs(RunQuery())
        # Any program, not only Consist, gets the file once the store has been idle a while.
        assert _other_process_opens(db, within=IDLE_RELEASE_S + 30)
        assert store.find_runs(RunQuery()) == []  # and the store takes it back on use


def test_an_open_sqlalchemy_connection_keeps_the_file(tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    with DuckDBStore(str(db)) as store:
        engine = store.sqlalchemy_engine()
        with engine.connect() as conn:
            assert not _other_process_opens(db, within=IDLE_RELEASE_S + 0.5)
            assert conn.exec_driver_sql("SELECT count(*) FROM run").scalar() == 0
        assert _other_process_opens(db, within=IDLE_RELEASE_S + 30)


@pytest.fixture
def held(tmp_path: Path):
    """A DuckDB file held open by another program until the test ends."""
    db = tmp_path / "p.duckdb"
    DuckDBStore(str(db)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    yield db
    holder.communicate("\n", timeout=60)


def test_a_held_file_times_out_with_a_clear_error(held: Path) -> None:
    started = time.monotonic()
    store = DuckDBStore(str(held), lock_timeout=0.3)  # opening is postponed, not failed
    assert time.monotonic() - started < 10
    with pytest.raises(StoreLockedError) as caught:
        store.find_runs(RunQuery())
    message = str(caught.value)
    assert str(held) in message and LOCK_TIMEOUT_ENV in message and "query runs" in message
    store.close()


def test_a_tracker_opens_and_runs_steps_on_a_held_file(
    held: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0.2")
    (held.parent / "input.txt").write_text("x")

    def step(data: Path) -> None:
        pass

    with consist.Tracker(run_dir=held.parent, db_path=held) as tracker:
        result = tracker.run(step, inputs={"data": held.parent / "input.txt"})
        assert result.run.status.value == "completed"
    # The run waits in this process's journal for the next tracker to import it.
    (journal,) = (held.parent / ".consist" / "pending").glob("*.journal")
    entries = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    # The running state is held by the journal itself; the finished one names its snapshot.
    assert entries[-1] == f"{result.run.id}.json"
    assert {e if isinstance(e, str) else e["name"] for e in entries} == {f"{result.run.id}.json"}


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_bad_lock_timeout_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, value)
    with pytest.raises(OptionValueError, match=LOCK_TIMEOUT_ENV):
        consist.Tracker(run_dir=tmp_path, db_path=tmp_path / "p.duckdb")
    assert not (tmp_path / "p.duckdb").exists()  # refused before anything was created
