"""Cross-run views through the public API: the guide's snippet, freshness, failed runs,
missing columns, whole-row selects and names that need quoting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from frame_libs import make_frame, persons, without, write_file
from pydantic import BaseModel
from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, func, select

import consist
from consist import Tracker
from consist.core.model import RunStatus

SNIPPETS = Path(__file__).parent / "snippets"


class Person(BaseModel):
    """The guide's Person, as the steps that log persons declare it (table ``person``)."""

    person_id: int
    age: int
    number_of_trips: int


class Trip(SQLModel, table=True, registry=registry(metadata=MetaData())):
    """A SQLModel schema kept out of SQLModel's shared metadata (tests define several)."""

    __tablename__ = 'trip "log" 2024'
    trip_id: int = Field(primary_key=True)
    mode: str
    km: float


@pytest.fixture
def fresh_sqlmodel_metadata() -> Iterator[None]:
    """The guide's snippet declares ``class Person(SQLModel, table=True)`` in SQLModel's
    shared metadata; forget it afterwards so the snippet can run again."""
    yield
    table = SQLModel.metadata.tables.get("person")
    if table is not None:
        SQLModel.metadata.remove(table)


def run_scenarios(
    tracker: Tracker, names: dict[str, int], years=(2020, 2030, 2040), lib: str = "pandas"
) -> dict:
    frames: dict[tuple[str, int], Any] = {}
    for name, seed in names.items():
        with consist.scenario(name, tracker=tracker) as sc:
            for year in years:
                with sc.trace(name="simulate", run_id=f"{name}_{year}", year=year):
                    df = persons(seed * 10_000 + year, lib=lib)
                    consist.log_dataframe(df, key="persons", schema=Person)
                    frames[(name, year)] = df
    return frames


def test_guide_views_snippet_matches_the_logged_frames(
    make_tracker, run_snippet, fresh_sqlmodel_metadata: None, lib: str
) -> None:
    frames = run_scenarios(make_tracker(), {"baseline": 1, "high_gas": 2}, lib=lib)
    names = run_snippet(SNIPPETS / "cross_run_views.py", consist=consist, Tracker=Tracker)
    try:
        got = {(s, y): avg for s, y, avg in names["results"]}
        expected = {key: df["number_of_trips"].mean() for key, df in frames.items()}
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert got[key] == pytest.approx(value)
    finally:
        names["tracker"].close()


def test_a_view_grows_as_runs_land_and_ignores_failed_runs(
    make_tracker, workdir: Path, lib: str
) -> None:
    tracker = make_tracker(schemas=[Person])
    run_scenarios(tracker, {"baseline": 1}, years=(2020,), lib=lib)
    view = tracker.views.Person

    def count() -> int:
        return consist.run_query(select(func.count()).select_from(view), tracker=tracker)[0]

    assert count() == 50
    run_scenarios(tracker, {"high_gas": 2}, years=(2020, 2030), lib=lib)
    assert count() == 150

    # A failed run's rows, ingested or only written as a file, never show up.
    path = write_file(persons(7, lib=lib), workdir / "failed.parquet")
    with pytest.raises(RuntimeError), tracker.start_run("broken", model="simulate"):
        consist.log_dataframe(persons(8, lib=lib), key="persons", schema=Person)
        tracker.log_artifact(path, key="persons_file", schema=Person)
        raise RuntimeError("model crashed")
    assert tracker.get_run("broken").status is RunStatus.FAILED
    assert count() == 150


def test_cold_files_are_read_in_place_with_nulls_for_missing_columns(
    tracker: Tracker, workdir: Path, lib: str
) -> None:
    full = persons(1, n=10, lib=lib)
    partial = without(persons(2, n=5, lib=lib), "number_of_trips")
    with tracker.start_run("y2020", model="simulate", year=2020):
        path = write_file(full, tracker.run_artifact_dir() / "persons.parquet")
        tracker.log_artifact(path, schema=Person)
    with tracker.start_run("y2030", model="simulate", year=2030):
        path = write_file(partial, tracker.run_artifact_dir() / "persons.csv")
        tracker.log_artifact(path, key="person")
    view = tracker.views.register(Person)

    rows = consist.run_query(select(view).order_by(view.consist_year, view.person_id), tracker)
    assert len(rows) == 15
    by_year = {
        y: [r for r in rows if r.consist_year == y] for y in (2020, 2030)
    }  # key "person" matches the table name, so the csv is included too
    assert [r.number_of_trips for r in by_year[2020]] == full["number_of_trips"].to_list()
    assert all(r.number_of_trips is None for r in by_year[2030])
    assert [r.age for r in by_year[2030]] == partial["age"].to_list()
    assert {r.consist_run_id for r in rows} == {"y2020", "y2030"}


def test_a_deleted_file_drops_out_of_the_view(tracker: Tracker, lib: str) -> None:
    view = tracker.views.register(Person)
    paths = []
    for i in range(2):
        with tracker.start_run(f"r{i}", model="m", config={"i": i}):
            path = tracker.run_artifact_dir() / "persons.parquet"
            paths.append(write_file(persons(i, lib=lib), path))
            tracker.log_artifact(paths[-1], schema=Person)
    count = select(func.count()).select_from(view)
    assert consist.run_query(count, tracker=tracker) == [100]
    paths[0].unlink()
    # DuckDB read the file in place; SQLite and PostgreSQL ingested it when the view was
    # first used.
    kept = 50 if tracker.db_path.endswith(".duckdb") else 100
    assert consist.run_query(count, tracker=tracker) == [kept]


def test_whole_row_selects_keep_rows_of_different_runs_apart(tracker: Tracker, lib: str) -> None:
    view = tracker.views.register(Person)
    for run_id, ages in (("a", [10, 20]), ("b", [30, 40])):
        with tracker.start_run(run_id, model="m", config={"run": run_id}):
            df = make_frame(lib, {"person_id": [1, 2], "age": ages, "number_of_trips": [0, 1]})
            consist.log_dataframe(df, key="persons", schema=Person)
    rows = consist.run_query(select(view), tracker=tracker)
    assert sorted((r.consist_run_id, r.person_id, r.age) for r in rows) == [
        ("a", 1, 10),
        ("a", 2, 20),
        ("b", 1, 30),
        ("b", 2, 40),
    ]


def test_view_is_rebuilt_only_when_artifacts_were_added(
    tracker: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[str] = []
    store = tracker.services.store
    original = store.build_view

    def counting(plan: Any) -> None:
        builds.append(plan.name)
        original(plan)

    monkeypatch.setattr(store, "build_view", counting)
    view = tracker.views.register(Person)
    with tracker.start_run("r1", model="m", config={"i": 1}):
        path = tracker.run_artifact_dir() / "p.parquet"
        persons(1).to_parquet(path)
        tracker.log_artifact(path, key="persons", schema=Person)
    for _ in range(3):
        consist.run_query(select(func.count()).select_from(view), tracker=tracker)
    assert builds == ["v_person"]
    with tracker.start_run("r2", model="m", config={"i": 2}):
        path = tracker.run_artifact_dir() / "p.parquet"
        persons(2).to_parquet(path)
        tracker.log_artifact(path, key="persons", schema=Person)
    assert consist.run_query(select(func.count()).select_from(view), tracker=tracker) == [100]
    # DuckDB reads the new file in place (a new definition); SQLite and PostgreSQL ingested
    # it into the hot table the view already reads.
    rebuilt = 2 if tracker.db_path.endswith(".duckdb") else 1
    assert builds == ["v_person"] * rebuilt


def test_names_and_paths_that_need_quoting(make_tracker, workdir: Path) -> None:
    # A quote in the workspace path (read in place, as a literal) and a glob character in
    # another (DuckDB would expand it, so that file is ingested instead).
    tracker = make_tracker(run_dir=workdir / "it's runs", schemas=[Trip])
    odd = workdir / "odd[1]"
    odd.mkdir()
    trips = pd.DataFrame({"trip_id": [1, 2], "mode": ["bus", "car"], "km": [1.5, 7.25]})
    with tracker.start_run("r1", model="m"):
        path = tracker.run_artifact_dir() / "trips.parquet"
        trips.to_parquet(path)
        tracker.log_artifact(path, key="trips", schema=Trip)
    with tracker.start_run("r2", model="m", config={"i": 2}):
        trips.to_parquet(odd / "trips.parquet")
        tracker.log_artifact(odd / "trips.parquet", key="trips", schema=Trip)
    view = tracker.views.Trip
    rows = consist.run_query(select(view.consist_run_id, view.mode, view.km), tracker=tracker)
    assert sorted(rows) == [
        ("r1", "bus", 1.5),
        ("r1", "car", 7.25),
        ("r2", "bus", 1.5),
        ("r2", "car", 7.25),
    ]
    assert tracker.views["v_" + Trip.__tablename__] is view


def test_unknown_view_names_the_registered_ones(tracker: Tracker) -> None:
    tracker.views.register(Person)
    with pytest.raises(AttributeError, match="Person"):
        _ = tracker.views.Household
