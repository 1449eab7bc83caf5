"""DuckDB 2 refuses to register a frame on a connection holding an unfinished result; the
store's reads consume theirs, and ingestion works on a cursor of its own."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from consist.adapters.stores.duckdb_ import DuckDBStore
from consist.adapters.stores.sql.ops import first_row
from consist.core.tables import Column, IngestJob, Provenance, TableSchema

MODEL = TableSchema((Column("person_id", "integer"), Column("age", "integer")))


def job(artifact_id: str) -> IngestJob:
    frame = pd.DataFrame({"person_id": [1, 2], "age": [30, 40]})
    return IngestJob("person", Provenance(artifact_id, None), frame=frame, model=MODEL)


def test_a_reopened_database_ingests_a_frame(tmp_path: Path) -> None:
    db = str(tmp_path / "p.duckdb")
    with DuckDBStore(db) as store:  # creates the schema
        assert store.ingest(job("a1")).rows == 2
    with DuckDBStore(db) as store:  # reads the schema version of an existing database
        assert store.get_run("nope") is None and store.get_artifact("nope") is None
        store.validate(job("a2"))
        assert store.ingest(job("a2")).rows == 2
        assert store.read_rows("person", "a2") == (["person_id", "age"], [(1, 30), (2, 40)])


def test_first_row_leaves_no_unfinished_result(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    conn = duckdb.connect(str(tmp_path / "x.duckdb"))
    try:
        conn.execute("CREATE TABLE t (a INTEGER)")
        conn.execute("INSERT INTO t VALUES (1), (2), (3)")
        assert first_row(conn, "SELECT a FROM t ORDER BY a") == (1,)
        assert first_row(conn, "SELECT a FROM t WHERE a > ?", [5]) is None
        conn.register("frame", pd.DataFrame({"a": [4]}))  # refused after a bare fetchone()
        assert first_row(conn, "SELECT count(*) FROM frame") == (1,)
    finally:
        conn.close()
