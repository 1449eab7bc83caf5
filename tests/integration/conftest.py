from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from consist import Tracker
from consist.api.bootstrap import TrackerSettings
from consist.testing.fake_executor import RecordingExecutor as InProcessFake
from consist.testing.fake_tables import InMemoryTableStore


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory, as a user's project folder would be."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


#: Every integration test that opens a tracker runs once per store.
STORES = ("duckdb", "sqlite")


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The metadata store under test: ``"duckdb"`` or ``"sqlite"`` (also the file suffix)."""
    return str(request.param)


@pytest.fixture
def db_file(workdir: Path, store_kind: str) -> Path:
    return workdir / f"provenance.{store_kind}"


@pytest.fixture
def hot_table(store_kind: str) -> Callable[[str], str]:
    """How SQL names an ingested table on the store under test."""

    def name(table: str) -> str:
        quoted = '"' + table.replace('"', '""') + '"'
        return f"global_tables.{quoted}" if store_kind == "duckdb" else quoted

    return name


@pytest.fixture
def run_snippet(store_kind: str) -> Callable[..., dict[str, Any]]:
    """Run a usage-guide snippet as written, its database file named for the store under
    test (``provenance.duckdb`` → ``provenance.sqlite``); returns its globals."""

    def run(path: Path, **init_globals: Any) -> dict[str, Any]:
        code = path.read_text().replace("provenance.duckdb", f"provenance.{store_kind}")
        namespace: dict[str, Any] = {"__name__": "__snippet__", "__file__": str(path)}
        namespace.update(init_globals)
        exec(compile(code, str(path), "exec"), namespace)  # noqa: S102 - our own test files
        return namespace

    return run


@pytest.fixture
def raw_csv(workdir: Path) -> Path:
    path = workdir / "raw.csv"
    pd.DataFrame({"id": [1, 2, 3, 4], "value": [0.2, 0.6, 0.9, 0.4]}).to_csv(path, index=False)
    return path


@pytest.fixture
def make_tracker(workdir: Path, db_file: Path) -> Iterator:
    """Build trackers on the workspace's files; all are closed at the end of the test."""
    made: list[Tracker] = []
    fakes: dict[str, InMemoryTableStore] = {}

    def build(**kwargs) -> Tracker:
        kwargs.setdefault("run_dir", workdir / "runs")
        kwargs.setdefault("db_path", db_file)
        kwargs.setdefault("project_root", workdir)
        if db_file.suffix == ".fake":  # one in-memory database per path, as files are
            store = fakes.setdefault(str(kwargs["db_path"]), InMemoryTableStore())
            tracker = on_fakes(store, **kwargs)
        else:
            tracker = Tracker(**kwargs)
        made.append(tracker)
        return tracker

    yield build
    for tracker in made:
        tracker.close()


def on_fakes(store: InMemoryTableStore, **kwargs: Any) -> Tracker:
    """A tracker composed by ``bootstrap`` over the in-memory fakes of ``consist.testing``
    (store with hot tables, executor): the fast lane of this suite."""
    schemas = kwargs.pop("schemas", None) or ()
    settings = TrackerSettings.check(**kwargs)
    return Tracker.from_adapters(
        settings,
        store=store,
        executors={"python": InProcessFake()},
        models=list(schemas),
    )


@pytest.fixture
def tracker(make_tracker):
    return make_tracker()
