from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from frame_libs import LIBS  # tests/integration/frame_libs.py

from consist import Tracker
from consist.api.bootstrap import TrackerSettings
from consist.testing.fake_executor import RecordingExecutor as InProcessFake
from consist.testing.fake_tables import InMemoryTableStore

# The PostgreSQL server fixtures live beside the test folders (tests/postgres_server.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from postgres_server import (  # noqa: E402, F401
    postgres_cluster,
    postgres_consist_url,
    postgres_url,
)


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
        return str(request.getfixturevalue("postgres_consist_url"))
    return workdir / f"provenance.{store_kind}"


@pytest.fixture(params=LIBS)
def lib(request: pytest.FixtureRequest) -> str:
    """The frame library under test, ``"pandas"`` or ``"polars"``: a test taking it runs once
    per library (build its frames with ``frame_libs.make_frame(lib, ...)``)."""
    if request.param == "polars":
        pytest.importorskip("polars")
    return str(request.param)


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


#: Tests that address the database as a *file*: a path built from the store's suffix (often
#: in a child process's script), a second file beside it, a process holding the file's lock
#: with the driver itself, or deleting the file to rebuild it. A PostgreSQL database is a
#: URL on a server, so they do not apply as written. On PostgreSQL, killed processes are
#: covered by test_durability's killed-loop test (it takes ``db_file``) and by
#: test_dask_sweeps.py (a worker killed mid-sweep), several writers by
#: tests/contract/test_postgres_store.py and test_dask_sweeps.py.
FILE_ONLY = frozenset(
    {
        "test_steps_complete_while_another_process_holds_the_database",
        "test_pending_rows_are_written_once_the_holder_lets_go",
        "test_explicit_run_ids_are_checked_against_snapshots_while_the_database_is_held",
        "test_runs_of_a_process_killed_while_another_holds_the_lock_are_kept",
        "test_crafted_snapshots_are_refused_by_name_and_the_rest_imported",
        "test_an_address_escaping_the_workspace_is_never_read_or_written",
        "test_a_tracker_in_another_workspace_imports_what_a_killed_process_left",
        "test_crash_marking_never_overwrites_a_snapshot_that_says_completed",
        "test_helper_edits_miss_and_unrelated_edits_hit",
        "test_trace_identity_is_the_source_of_the_file_holding_the_block",
        "test_a_driver_launched_from_any_folder_follows_its_helpers",
        "test_threads_with_their_own_trackers_do_not_share_runs",
        "test_asyncio_tasks_see_only_their_own_current_run",
        "test_a_pending_run_missing_from_the_database_is_imported",
        "test_a_pending_copy_the_database_refuses_does_not_hold_back_the_others",
        "test_engines_are_imported_only_when_used",
        "test_a_pandas_only_install_keeps_working",
        "test_without_xarray_stores_are_still_recorded_and_errors_name_the_extra",
        "test_deleting_the_database_and_rebuilding_gives_back_every_row",
        "test_db_rebuild_command",
        "test_rebuild_restores_every_snapshot_but_the_damaged_ones",
        "test_db_rebuild_command_names_the_snapshots_it_left_out",
        "test_a_shared_input_keeps_its_creation_time_through_a_rebuild",
        "test_the_guide_views_example_runs_twice_on_one_database",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("store_kind") == "postgres"
        if on_postgres and getattr(item, "originalname", "") in FILE_ONLY:
            item.add_marker(
                pytest.mark.skip(reason="addresses the database as a file; not a server store")
            )
