"""The metadata store is chosen by the suffix or URL scheme of ``db_path``."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist import Tracker
from consist.core.errors import AdapterNotFoundError


def step(config) -> None:
    """Does nothing; recorded twice to prove caching works on the chosen store."""


@pytest.mark.parametrize(
    ("location", "store"),
    [
        ("provenance.sqlite", "SQLiteStore"),
        ("provenance.sqlite3", "SQLiteStore"),
        ("provenance.db", "SQLiteStore"),
        ("sqlite:///{root}/by_url.sqlite", "SQLiteStore"),
        ("provenance.duckdb", "DuckDBStore"),
        ("duckdb:///{root}/by_url.duckdb", "DuckDBStore"),
    ],
)
def test_suffix_or_scheme_picks_the_store(tmp_path: Path, location: str, store: str) -> None:
    db = location.format(root=tmp_path) if "://" in location else tmp_path / location
    with Tracker(run_dir=tmp_path / "runs", db_path=db) as tracker:
        assert type(tracker.services.store).__name__ == store
        tracker.run(step, config={"a": 1})
        assert tracker.run(step, config={"a": 1}).cache_hit
    with Tracker(run_dir=tmp_path / "runs", db_path=db) as reopened:
        assert len(reopened.find_runs()) == 2


def test_an_unknown_scheme_names_the_known_stores(tmp_path: Path) -> None:
    with pytest.raises(AdapterNotFoundError, match="duckdb.*sqlite|sqlite.*duckdb"):
        Tracker(run_dir=tmp_path, db_path="mysql://somewhere/db")
