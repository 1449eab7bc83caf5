from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from consist import Tracker


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory, as a user's project folder would be."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def raw_csv(workdir: Path) -> Path:
    path = workdir / "raw.csv"
    pd.DataFrame({"id": [1, 2, 3, 4], "value": [0.2, 0.6, 0.9, 0.4]}).to_csv(path, index=False)
    return path


@pytest.fixture
def make_tracker(workdir: Path) -> Iterator:
    """Build trackers on the workspace's files; all are closed at the end of the test."""
    made: list[Tracker] = []

    def build(**kwargs) -> Tracker:
        kwargs.setdefault("run_dir", workdir / "runs")
        kwargs.setdefault("db_path", workdir / "provenance.duckdb")
        kwargs.setdefault("project_root", workdir)
        tracker = Tracker(**kwargs)
        made.append(tracker)
        return tracker

    yield build
    for tracker in made:
        tracker.close()


@pytest.fixture
def tracker(make_tracker):
    return make_tracker()
