"""The shared copy of a DuckDB database's cache index (``<db>.consist-index``): lookups read
it without waiting for the file, and it can only ever be behind the database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

from consist import Tracker


def step(raw: Path):
    return {"out": pd.read_csv(raw)}


def copy_of(db: Path) -> Path:
    return Path(f"{db}.consist-index")


def entries(db: Path) -> int:
    with sqlite3.connect(copy_of(db)) as conn:
        return int(conn.execute("SELECT count(*) FROM entry").fetchone()[0])


def test_hits_are_served_from_the_copy(tmp_path: Path, raw_csv: Path) -> None:
    db = tmp_path / "p.duckdb"
    with Tracker(tmp_path / "runs", db) as tracker:
        first = tracker.run(step, inputs={"raw": raw_csv})
    assert entries(db) == 1
    with Tracker(tmp_path / "runs", db) as tracker:
        # The database's own index is emptied behind the store's back: a hit now can only
        # have come from the copy.
        tracker.services.store.db.lease.handle[0].execute("DELETE FROM cache_index")
        again = tracker.run(step, inputs={"raw": raw_csv})
    assert again.cache_hit and again.run.meta["cache_source"] == first.run.id


def test_a_replaced_database_never_hits_through_an_old_copy(tmp_path: Path, raw_csv) -> None:
    db = tmp_path / "p.duckdb"
    with Tracker(tmp_path / "runs", db) as tracker:
        tracker.run(step, inputs={"raw": raw_csv})
    db.unlink()  # a new, empty history; the copy of the old one is still there
    with Tracker(tmp_path / "runs", db) as tracker:
        assert not tracker.run(step, inputs={"raw": raw_csv}).cache_hit


def test_a_deleted_or_stale_copy_is_rebuilt(tmp_path: Path, raw_csv: Path) -> None:
    db = tmp_path / "p.duckdb"
    with Tracker(tmp_path / "runs", db) as tracker:
        first = tracker.run(step, inputs={"raw": raw_csv})
    copy_of(db).unlink()
    with Tracker(tmp_path / "runs", db) as tracker:
        assert tracker.run(step, inputs={"raw": raw_csv}).cache_hit
    with sqlite3.connect(copy_of(db)) as conn:  # as if a process died before its copy
        conn.execute("DELETE FROM entry")
        conn.execute("UPDATE state SET value = '0' WHERE key = 'generation'")
    with Tracker(tmp_path / "runs", db) as tracker:
        hit = tracker.run(step, inputs={"raw": raw_csv})
    assert hit.cache_hit and hit.run.meta["cache_source"] == first.run.id


def test_an_unreadable_copy_falls_back_to_the_database(tmp_path: Path, raw_csv: Path) -> None:
    db = tmp_path / "p.duckdb"
    with Tracker(tmp_path / "runs", db) as tracker:
        tracker.run(step, inputs={"raw": raw_csv})
    for leftover in tmp_path.glob("p.duckdb.consist-index*"):
        leftover.unlink()
    copy_of(db).write_bytes(b"not a database")
    with Tracker(tmp_path / "runs", db) as tracker:
        assert tracker.run(step, inputs={"raw": raw_csv}).cache_hit
