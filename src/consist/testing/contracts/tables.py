"""The contract every store with the table capability
(:class:`~consist.core.ports.tables.TableStore`) must pass.

Use it like the store contract; the fixture gives a fresh, empty store that is both a
``MetadataStore`` and a ``TableStore``::

    class TestMyStoreTables(TableStoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            yield MyStore(str(tmp_path / "db"))

Known gaps are declared with ``notimpl`` (see :mod:`consist.testing.contracts.gaps`).
Jobs carry plain ``records``, which every table store accepts. This module imports no pytest.
"""

from __future__ import annotations

from typing import Any

from consist.core.errors import SchemaValidationError
from consist.core.model import Direction, Link, RunStatus
from consist.core.ports.store import WriteBatch
from consist.core.ports.tables import TableStore
from consist.core.tables import (
    SCHEMA_COLUMNS,
    SCHEMA_ID,
    Column,
    IngestJob,
    Provenance,
    TableSchema,
    ViewPlan,
)
from consist.testing.contracts.gaps import GapsDeclared
from consist.testing.contracts.store_data import make_artifact, make_run

DATA = TableSchema((Column("person_id", "integer"), Column("age", "integer")))
MODEL = TableSchema(
    (Column("person_id", "integer"), Column("age", "integer"), Column("trips", "integer"))
)
ROWS = [(1, 30), (2, 41), (3, None)]


def job(artifact_id: str, rows: list[tuple[Any, ...]] = ROWS, **fields: Any) -> IngestJob:
    values: dict[str, Any] = {
        "table": "person",
        "provenance": Provenance(artifact_id, "r1", "baseline", 2030, None),
        "records": (DATA, rows),
    }
    values.update(fields)
    return IngestJob(**values)


class TableStoreContract(GapsDeclared):
    """Contract tests for the table capability; subclasses provide a ``store`` fixture."""

    def test_is_a_table_store(self, store: Any) -> None:
        assert isinstance(store, TableStore)

    def test_ingest_is_once_per_artifact_and_rows_read_back_in_order(self, store: Any) -> None:
        first = store.ingest(job("a1"))
        assert (first.table, first.rows, first.already) == ("person", 3, False)
        assert first.schema.names == ["person_id", "age"]
        again = store.ingest(job("a1", rows=[(9, 9)]))
        assert (again.rows, again.already) == (3, True)
        assert store.read_rows("person", "a1") == (["person_id", "age"], ROWS)
        assert store.ingested_table("a1") == "person" and store.ingested_table("zz") is None
        store.ingest(job("a2", rows=[(7, 70)]))
        assert store.read_rows("person", "a2")[1] == [(7, 70)]
        assert store.read_rows("person", "a1")[1] == ROWS  # other artifacts untouched

    def test_hot_table_has_data_and_system_columns(self, store: Any) -> None:
        assert store.hot_columns("person") is None
        store.ingest(job("a1"))
        columns = store.hot_columns("person")
        assert columns is not None and {"person_id", "age", "consist_run_id"} <= set(columns)
        assert {"consist_artifact_id", "consist_scenario_id", "consist_year"} <= set(columns)

    def test_a_model_decides_columns_and_refuses_what_does_not_fit(self, store: Any) -> None:
        result = store.ingest(job("a1", model=MODEL))
        assert "trips" in (store.hot_columns("person") or [])
        assert result.rows == 3
        extra = TableSchema((*DATA.columns, Column("income", "float")))
        bad_column = job("a2", records=(extra, [(1, 2, 3.5)]), model=MODEL)
        text_age = TableSchema((Column("person_id", "integer"), Column("age", "string")))
        bad_value = job("a3", records=(text_age, [(1, "41"), (2, "old")]), model=MODEL)
        for refused, column in ((bad_column, "income"), (bad_value, "age")):
            for call in (store.validate, store.ingest):
                try:
                    call(refused)
                except SchemaValidationError as exc:
                    assert column in exc.problems
                else:
                    raise AssertionError(f"{call.__name__} accepted data with a bad {column!r}")
        assert store.ingested_table("a2") is None and store.ingested_table("a3") is None

    def test_validate_writes_nothing(self, store: Any) -> None:
        store.validate(job("a1", model=MODEL))
        assert store.hot_columns("person") is None and store.ingested_table("a1") is None

    def test_schemas_of_ingested_and_logged_artifacts(self, store: Any) -> None:
        result = store.ingest(job("a1"))
        assert store.schema_of_artifact("a1") == result.schema
        assert store.table_schema(result.schema.id) == result.schema
        logged = TableSchema((Column("zone", "string"),))
        meta = {SCHEMA_ID: logged.id, SCHEMA_COLUMNS: logged.to_json()}
        store.apply(WriteBatch(artifacts=[make_artifact("f1", None, meta=meta)]))
        assert store.schema_of_artifact("f1") == logged
        assert store.table_schema("unknown") is None and store.schema_of_artifact("zz") is None

    def test_view_sources_are_tabular_outputs_of_completed_runs(self, store: Any) -> None:
        runs = [
            make_run("done", year=2030, parent_run_id="baseline"),
            make_run("broken", status=RunStatus.FAILED),
        ]
        artifacts = [
            make_artifact("p1", "done", key="persons", meta={"schema": "person"}),
            make_artifact("p2", "done", key="person", driver="csv"),
            make_artifact("p3", "broken", key="person"),
            make_artifact("p4", "done", key="other"),
            make_artifact("p5", "done", key="person", driver="json"),
        ]
        links = [Link(a.run_id or "", a.id, Direction.OUTPUT, a.key) for a in artifacts]
        store.apply(WriteBatch(runs=runs, artifacts=artifacts, links=links))
        store.ingest(job("p1"))
        found = {s.artifact_id: s for s in store.view_sources(["person"], "person")}
        assert set(found) == {"p1", "p2"}
        assert found["p1"].ingested and not found["p2"].ingested
        assert found["p1"].provenance == Provenance("p1", "done", "baseline", 2030, None)
        assert {s.artifact_id for s in store.view_sources(["person", "other"], "x")} == {
            "p1",
            "p2",
            "p4",
        }

    def test_tables_version_moves_when_something_is_added(self, store: Any) -> None:
        before = store.tables_version()
        store.apply(WriteBatch(runs=[make_run("r1")]))
        after_run = store.tables_version()
        store.ingest(job("a1"))
        assert len({before, after_run, store.tables_version()}) == 3

    def test_views_build_with_and_without_hot_rows(self, store: Any) -> None:
        store.build_view(ViewPlan("v_person", "person", MODEL))  # nothing ingested yet
        store.ingest(job("a1"))
        store.build_view(ViewPlan("v_person", "person", MODEL))  # rebuilt over hot rows
