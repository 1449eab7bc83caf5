from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from consist import Tracker
from consist.api.bootstrap import TrackerSettings
from consist.testing.fake_executor import RecordingExecutor as InProcessFake
from consist.testing.fake_tables import InMemoryTableStore

# The PostgreSQL server fixtures live beside the test folders (tests/postgres_server.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from postgres_server import postgres_cluster, postgres_url  # noqa: E402, F401


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory, as a user's project folder would be."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


#: Every integration test that opens a tracker runs once per store. ``postgres`` runs when
#: a throwaway PostgreSQL cluster could be started (tests/postgres_server.py), else skips.
STORES = ("duckdb", "sqlite", "postgres")


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The metadata store under test: ``"duckdb"``, ``"sqlite"`` (also the file suffix) or
    ``"postgres"``."""
    if request.param == "postgres":
        request.getfixturevalue("postgres_cluster")  # skips, saying why, without a server
    return str(request.param)


@pytest.fixture
def db_file(workdir: Path, store_kind: str, request: pytest.FixtureRequest) -> Path | str:
    """The database under test: a file in the workspace, or (postgres) the URL of a fresh
    database on the session's cluster."""
    if store_kind == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return workdir / f"provenance.{store_kind}"


@pytest.fixture
def hot_table(store_kind: str) -> Callable[[str], str]:
    """How SQL names an ingested table on the store under test."""

    def name(table: str) -> str:
        quoted = '"' + table.replace('"', '""') + '"'
        return f"global_tables.{quoted}" if store_kind in ("duckdb", "postgres") else quoted

    return name


@pytest.fixture
def run_snippet(store_kind: str, request: pytest.FixtureRequest) -> Callable[..., dict[str, Any]]:
    """Run a usage-guide snippet as written, its database file named for the store under
    test (``provenance.duckdb`` → ``provenance.sqlite``, or a PostgreSQL URL); returns its
    globals."""
    target = f"provenance.{store_kind}"
    if store_kind == "postgres":
        target = str(request.getfixturevalue("db_file"))

    def run(path: Path, **init_globals: Any) -> dict[str, Any]:
        code = path.read_text().replace("./provenance.duckdb", target)
        code = code.replace("provenance.duckdb", target)
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
def make_tracker(workdir: Path, db_file: Path | str) -> Iterator:
    """Build trackers on the workspace's files; all are closed at the end of the test."""
    made: list[Tracker] = []
    fakes: dict[str, InMemoryTableStore] = {}

    def build(**kwargs) -> Tracker:
        kwargs.setdefault("run_dir", workdir / "runs")
        kwargs.setdefault("db_path", db_file)
        kwargs.setdefault("project_root", workdir)
        if str(db_file).endswith(".fake"):  # one in-memory database per path, as files are
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
