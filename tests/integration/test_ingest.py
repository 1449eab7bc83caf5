"""Ingestion, schema capture and export, and rebuilding files from ingested rows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from frame_libs import (
    assert_frame_equal,
    frame_type,
    make_frame,
    renamed,
    takes,
    with_column,
    write_file,
)
from pydantic import BaseModel
from sqlmodel import func, select, text

import consist
from consist import Tracker
from consist.core.errors import (
    ArgumentError,
    ConsistError,
    ReadOnlyError,
    SchemaNotFoundError,
    SchemaValidationError,
)


class Person(BaseModel):
    person_id: int
    age: int
    number_of_trips: int


def people(n: int = 20, offset: int = 0, lib: str = "pandas") -> Any:
    return make_frame(
        lib,
        {
            "person_id": list(range(offset, offset + n)),
            "age": [20 + i % 50 for i in range(n)],
            "number_of_trips": [i % 7 for i in range(n)],
        },
    )


def hot_count(tracker: Tracker, hot_table, table: str = "person") -> int:
    statement = text(f"SELECT count(*) FROM {hot_table(table)}")
    return consist.run_query(statement, tracker=tracker)[0]


def logged(tracker: Tracker, df: Any, run_id: str = "r1", **kwargs) -> consist.Artifact:
    with tracker.start_run(run_id, model="simulate", year=2030):
        return tracker.log_dataframe(df, key="persons", **kwargs)


def test_ingest_after_the_fact_is_idempotent_and_attributed_to_the_producer(
    tracker: Tracker, hot_table, lib: str
) -> None:
    art = logged(tracker, people(lib=lib))
    first = tracker.ingest(art)
    again = tracker.ingest(art)
    assert (first.table, first.rows, first.already) == ("persons", 20, False)
    assert (again.rows, again.already) == (20, True)
    assert hot_count(tracker, hot_table, "persons") == 20
    rows = consist.run_query(
        text(
            "SELECT DISTINCT consist_run_id, consist_artifact_id, consist_year "
            f"FROM {hot_table('persons')}"
        ),
        tracker=tracker,
    )
    assert rows == [("r1", art.id, 2030)]


def test_log_dataframe_with_a_schema_ingests_once(tracker: Tracker, hot_table, lib: str) -> None:
    art = logged(tracker, people(lib=lib), schema=Person)
    assert art.meta["schema"] == "person"
    assert tracker.ingest(art, schema=Person).already
    assert hot_count(tracker, hot_table) == 20


@pytest.mark.parametrize("driver", ["csv", "parquet", "json"])
def test_files_of_each_driver_are_ingested_from_disk(
    tracker: Tracker, workdir: Path, driver: str, hot_table, lib: str
) -> None:
    frame = people(5, lib=lib)
    path = write_file(frame, workdir / f"people.{driver}")  # written by the library under test
    with tracker.start_run("r1", model="m"):
        art = tracker.log_artifact(path, key="people")
    assert tracker.ingest(art, schema=Person).rows == 5
    ages = consist.run_query(text(f"SELECT age FROM {hot_table('person')}"), tracker=tracker)
    assert sorted(ages) == sorted(frame["age"].to_list())


def test_rows_may_be_given_as_dicts(tracker: Tracker) -> None:
    art = logged(tracker, people(2))
    rows = [{"person_id": 9, "age": 33, "number_of_trips": 1}]
    assert tracker.ingest(art, data=rows, schema=Person).rows == 1
    with pytest.raises(TypeError, match="one dict per row"):
        tracker.ingest(art, data=[1, 2], schema=Person)


def test_a_strict_schema_names_the_unexpected_column_and_writes_nothing(
    tracker: Tracker, hot_table, lib: str
) -> None:
    art = logged(tracker, people(lib=lib))
    extra = with_column(people(lib=lib), "income", 1.0)
    with pytest.raises(SchemaValidationError, match="'income'") as caught:
        tracker.ingest(art, data=extra, schema=Person)
    assert set(caught.value.problems) == {"income"}
    with pytest.raises(SchemaValidationError, match="'age'.*cannot be cast"):
        tracker.ingest(art, data=with_column(people(lib=lib), "age", "old"), schema=Person)
    with pytest.raises(ConsistError):  # the table was never created
        hot_count(tracker, hot_table)
    # log_dataframe checks before recording: the run gains no output.
    with tracker.start_run("r2", model="m"), pytest.raises(SchemaValidationError):
        tracker.log_dataframe(extra, key="persons", schema=Person)
    assert tracker.get_artifacts_for_run("r2").outputs == {}
    assert tracker.ingest(art, schema=Person).rows == 20


def test_ingest_refuses_bad_input_clearly(tracker: Tracker, workdir: Path) -> None:
    (workdir / "notes.txt").write_text("hello")
    with tracker.start_run("r1", model="m"):
        notes = tracker.log_artifact(workdir / "notes.txt", key="notes")
    with pytest.raises(ArgumentError, match="driver"):
        tracker.ingest(notes)
    with pytest.raises(TypeError, match="Artifact"):
        tracker.ingest(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="schema"):
        tracker.ingest(notes, data=people(), schema=object())
    art = logged(tracker, people(), run_id="r2")
    Path(art.path).unlink()
    with pytest.raises(FileNotFoundError, match="persons"):
        tracker.ingest(art)


def test_read_only_trackers_do_not_ingest(make_tracker) -> None:
    art = logged(make_tracker(), people())
    reader = make_tracker(read_only=True)
    with pytest.raises(ReadOnlyError):
        reader.ingest(art)


# -- schema capture and export ------------------------------------------------------------


def test_logged_tables_record_their_schema(tracker: Tracker, workdir: Path, lib: str) -> None:
    art = logged(tracker, people(lib=lib))
    stored = tracker.get_artifact(art.id)
    assert stored.meta["schema_id"] == art.meta["schema_id"]
    assert "schema_columns" not in stored.meta  # kept once, in the schema table
    code = tracker.export_schema_sqlmodel(schema_id=stored.meta["schema_id"])
    assert "person_id" in code and "number_of_trips" in code

    path = write_file(people(3, lib=lib), workdir / "raw.csv")
    with tracker.start_run("r2", model="m"):
        csv_art = tracker.log_artifact(path, key="raw")
    assert "class Raw(SQLModel, table=True)" in tracker.export_schema_sqlmodel(
        artifact_id=csv_art.id
    )


def test_exported_stub_imports_registers_and_queries(
    tracker: Tracker, workdir: Path, monkeypatch: pytest.MonkeyPatch, lib: str
) -> None:
    frame = renamed(people(12, lib=lib), {"number_of_trips": "Number of Trips"})
    art = logged(tracker, frame)
    tracker.ingest(art)
    out = workdir / "stubs" / "persons_stub.py"
    code = tracker.export_schema_sqlmodel(artifact_id=art.id, class_name="Persons", out_path=out)
    assert out.read_text() == code
    assert "sa_column=Column('Number of Trips'" in code or 'Column("Number of Trips"' in code

    spec = importlib.util.spec_from_file_location("persons_stub", out)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "persons_stub", module)
    spec.loader.exec_module(module)
    try:
        view = tracker.views.register(module.Persons)
        total = consist.run_query(select(func.sum(view.number_of_trips)), tracker=tracker)
        assert total == [frame["Number of Trips"].sum()]
        assert consist.run_query(select(func.count()).select_from(view), tracker=tracker) == [12]
    finally:
        from sqlmodel import SQLModel

        SQLModel.metadata.remove(module.Persons.__table__)


def test_export_errors(tracker: Tracker) -> None:
    with pytest.raises(ArgumentError, match="exactly one"):
        tracker.export_schema_sqlmodel()
    with pytest.raises(SchemaNotFoundError):
        tracker.export_schema_sqlmodel(schema_id="nope")


# -- files rebuilt from ingested rows --------------------------------------------------------


def test_load_rebuilds_a_deleted_file_from_ingested_rows(tracker: Tracker, lib: str) -> None:
    frame = people(3000, lib=lib)
    art = logged(tracker, frame, schema=Person)
    Path(art.path).unlink()
    rebuilt = consist.load(art, tracker=tracker, engine=lib, db_fallback="always")
    assert_frame_equal(rebuilt, frame)
    with pytest.raises(FileNotFoundError, match="db_fallback"):
        consist.load(art, tracker=tracker, db_fallback="never")
    with pytest.raises(FileNotFoundError):  # inputs-only: not an input of a running step
        consist.load(art, tracker=tracker)


def test_inputs_missing_hydration_rebuilds_from_rows(tracker: Tracker, lib: str) -> None:
    frame = people(40, lib=lib)
    art = logged(tracker, frame, schema=Person)
    Path(art.path).unlink()
    seen: dict[str, Any] = {}

    @takes(lib, "persons")
    def summarise(persons) -> None:
        seen["in"] = persons
        seen["loaded"] = consist.load(art, engine=lib)  # inputs-only: an input of this step

    tracker.run(summarise, inputs={"persons": art}, cache_hydration="inputs-missing")
    assert isinstance(seen["in"], frame_type(lib))
    assert_frame_equal(seen["in"], frame)
    assert_frame_equal(seen["loaded"], frame)
    assert Path(art.path).exists()
