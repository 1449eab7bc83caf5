"""The store contract, run against DuckDB and the in-memory fake, plus DuckDB specifics."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from consist.adapters.stores.duckdb_ import DuckDBStore, database_path
from consist.adapters.stores.sql import statements
from consist.adapters.stores.sql.schema import SCHEMA_VERSION, SKIPPED_INDEXES
from consist.adapters.stores.sqlite_ import SQLiteStore
from consist.adapters.stores.sqlite_ import database_path as sqlite_path
from consist.core.errors import SchemaVersionError, StoreError
from consist.core.model import RunStatus
from consist.core.ports.store import RunQuery, SqlEngineProvider, WriteBatch
from consist.testing.contracts import StoreContract
from consist.testing.contracts.store import inp, make_artifact, make_run, out, produced
from consist.testing.contracts.tables import TableStoreContract
from consist.testing.fakes import InMemoryStore


class TestDuckDBStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[DuckDBStore]:
        s = DuckDBStore(str(tmp_path / "p.duckdb"))
        yield s
        s.close()


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteStore]:
        s = SQLiteStore(str(tmp_path / "p.sqlite"))
        yield s
        s.close()


class TestDuckDBTables(TableStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[DuckDBStore]:
        s = DuckDBStore(str(tmp_path / "p.duckdb"))
        yield s
        s.close()


class TestSQLiteTables(TableStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteStore]:
        s = SQLiteStore(str(tmp_path / "p.sqlite"))
        yield s
        s.close()


class TestInMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> InMemoryStore:
        return InMemoryStore()


# -- DuckDB specifics ----------------------------------------------------------------------


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    path = str(tmp_path / "p.duckdb")
    with DuckDBStore(path) as store:
        produced(store, make_run("r1", signature="s", tags=["t"]), data="a1")
    with DuckDBStore(path) as store:
        got = store.get_run("r1")
        assert got is not None and got.tags == ["t"]
        found = store.find_cached("s")
        assert found is not None and found.outputs["data"].id == "a1"


# -- schema versions, on every SQL store ----------------------------------------------------

SQL_STORES = {"duckdb": DuckDBStore, "sqlite": SQLiteStore}


def _execute(path: str, *statements: str) -> list[Any]:
    """Run raw SQL on a closed store's file with the store's own driver."""
    con: Any = duckdb.connect(path) if path.endswith(".duckdb") else sqlite3.connect(path)
    try:
        rows: list[Any] = []
        for statement in statements:
            rows = con.execute(statement).fetchall()
        if not path.endswith(".duckdb"):
            con.commit()
        return rows
    finally:
        con.close()


def _set_version(path: str, value: str) -> None:
    _execute(path, f"UPDATE consist_meta SET value = '{value}' WHERE key = 'schema_version'")


@pytest.mark.parametrize("kind", SQL_STORES)
def test_newer_schema_is_refused(tmp_path: Path, kind: str) -> None:
    path = str(tmp_path / f"p.{kind}")
    SQL_STORES[kind](path).close()
    _set_version(path, str(SCHEMA_VERSION + 98))
    with pytest.raises(SchemaVersionError) as info:
        SQL_STORES[kind](path)
    message = str(info.value)
    assert str(SCHEMA_VERSION + 98) in message and f"up to {SCHEMA_VERSION}" in message
    assert "upgrade consist" in message and f"p.{kind}" in message
    # The refused database was released: it can be opened again once fixed.
    _set_version(path, str(SCHEMA_VERSION))
    SQL_STORES[kind](path).close()


@pytest.mark.parametrize("kind", SQL_STORES)
@pytest.mark.parametrize("old_version", [1, 2])
def test_old_database_is_migrated_keeping_its_runs(
    tmp_path: Path, kind: str, old_version: int
) -> None:
    path = str(tmp_path / f"old.{kind}")
    with SQL_STORES[kind](path) as store:
        store.apply(WriteBatch(runs=[make_run("kept")]))
    # Make it look like a database written at an older version, which had these indexes on
    # every store (new DuckDB databases go without them). DuckDB drops no indexed table's
    # columns, so they are dropped first and made again.
    indexes = {"signature", "model_name", "parent_run_id"}
    _execute(
        path,
        *(f"DROP INDEX IF EXISTS ix_run_{column}" for column in indexes),
        "ALTER TABLE run DROP COLUMN identity_json",
        "ALTER TABLE run DROP COLUMN arguments_digest",
        *(f"CREATE INDEX ix_run_{column} ON run ({column})" for column in indexes),
    )
    if old_version < 2:
        _execute(path, "DROP TABLE table_schema", "DROP TABLE ingestion")
    _set_version(path, str(old_version))
    with SQL_STORES[kind](path) as store:
        kept = store.get_run("kept")
        assert kept is not None and kept.arguments_digest is None and kept.identity is None
        assert store.table_schema("none") is None and store.ingested_table("none") is None
        with_arguments = make_run("new")
        with_arguments.arguments_digest = "sha256:args"
        with_arguments.identity = {"arguments": {"fn_args": {"k": 1}}}
        store.apply(WriteBatch(runs=[with_arguments]))
        again = store.get_run("new")
        assert again is not None and again.identity == with_arguments.identity
        assert again.arguments_digest == "sha256:args"
    assert _execute(path, "SELECT value FROM consist_meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]


def test_unreadable_file_raises_store_error_naming_the_path(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.duckdb"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError) as info:
        DuckDBStore(str(bad))
    assert "garbage.duckdb" in str(info.value) and "open the database" in str(info.value)
    assert isinstance(info.value.__cause__, duckdb.Error)


def test_url_location_and_parent_directories(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "p.duckdb"
    with DuckDBStore(f"duckdb:///{target}") as store:  # four slashes: absolute path
        store.apply(WriteBatch(runs=[make_run("r1")]))
    assert target.is_file()
    assert database_path("duckdb:///rel/p.duckdb") == "rel/p.duckdb"
    assert database_path("duckdb://") == ":memory:"
    assert database_path("p.duckdb") == "p.duckdb"
    assert sqlite_path("sqlite:////abs/p.sqlite") == "/abs/p.sqlite"
    assert sqlite_path("sqlite://") == ":memory:" and sqlite_path("p.db") == "p.db"
    with pytest.raises(StoreError, match="sqlite://"):
        sqlite_path("duckdb:///p.duckdb")


def test_sqlalchemy_engine_sees_applied_rows(tmp_path: Path) -> None:
    from sqlmodel import Session, col, select

    from consist.adapters.stores.sql.tables import Run as RunRow

    with DuckDBStore(str(tmp_path / "p.duckdb")) as store:
        assert isinstance(store, SqlEngineProvider)
        store.apply(WriteBatch(runs=[make_run("r1", t=0)]))
        engine = store.sqlalchemy_engine()
        assert store.sqlalchemy_engine() is engine
        hit = make_run("r2", t=1, meta={"cache_hit": True, "cache_source": "r1"})
        store.apply(WriteBatch(runs=[hit]))
        with Session(engine) as session:
            rows = session.exec(select(RunRow).order_by(col(RunRow.created_at))).all()
        assert [(r.id, r.cache_hit, r.cache_source) for r in rows] == [
            ("r1", False, None),
            ("r2", True, "r1"),
        ]
        assert rows[0].created_at.utcoffset() is not None  # aware UTC, like the raw path
        assert rows[0].created_at == make_run("r1", t=0).created_at


def test_batch_of_500_runs_in_one_apply(tmp_path: Path) -> None:
    runs = [make_run(f"r{i:03}", t=i, signature=f"s{i}") for i in range(500)]
    artifacts = [make_artifact(f"a{i:03}", f"r{i:03}") for i in range(500)]
    links = [out(f"r{i:03}", f"a{i:03}", "data") for i in range(500)]
    links += [inp(f"r{i:03}", f"a{i - 1:03}", "prev") for i in range(1, 500)]
    with DuckDBStore(str(tmp_path / "p.duckdb")) as store:
        store.apply(WriteBatch(runs=runs, artifacts=artifacts, links=links))
        assert len(store.find_runs(RunQuery())) == 500
        found = store.find_cached("s321")
        assert found is not None and found.outputs["data"].id == "a321"
        arts = store.get_run_artifacts("r499")
        assert arts.inputs["prev"].id == "a498" and arts.outputs["data"].id == "a499"


def test_failed_batch_leaves_nothing_behind(tmp_path: Path) -> None:
    with DuckDBStore(str(tmp_path / "p.duckdb")) as store:
        bad = make_run("r2", status="not-a-status")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            store.apply(WriteBatch(runs=[make_run("r1"), bad]))
        assert store.get_run("r1") is None
        store.apply(WriteBatch(runs=[make_run("r3")]))  # the connection is still usable
        assert store.get_run("r3") is not None


def test_concurrent_apply_and_lookups(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with DuckDBStore(str(tmp_path / "p.duckdb")) as store:

        def writer() -> None:
            try:
                for i in range(40):
                    produced(store, make_run(f"r{i}", t=i, signature="s"), data=f"a{i}")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        thread = threading.Thread(target=writer)
        thread.start()
        while thread.is_alive():
            store.find_cached("s")
            store.find_runs(RunQuery(limit=3))
        thread.join()
        assert errors == []
        found = store.find_cached("s")
        assert found is not None and found.run.id == "r39"


def _sql(store: DuckDBStore, statement: str) -> list[tuple]:
    with store.db.using("inspect the tables") as conn:
        return conn.execute(statement).fetchall()


def _facet_tables(store: DuckDBStore) -> tuple[list[tuple], list[tuple]]:
    facets = _sql(store, "SELECT id, namespace, facet_json FROM config_facet ORDER BY id")
    kv = _sql(
        store,
        "SELECT run_id, namespace, key, facet_id, value_type, value_str, value_num, value_bool,"
        " value_json FROM run_config_kv ORDER BY run_id, key",
    )
    return facets, kv


def test_equal_facets_share_one_document(tmp_path: Path) -> None:
    with DuckDBStore(str(tmp_path / "p.duckdb")) as store:
        store.apply(
            WriteBatch(
                runs=[
                    make_run("r1", facet={"alpha": 0.2, "mode": "fast"}),
                    make_run("r2", t=1, model_name="other", facet={"mode": "fast", "alpha": 0.2}),
                ]
            )
        )
        store.apply(WriteBatch(runs=[make_run("r3", t=2, facet={"alpha": 0.2, "mode": "fast"})]))
        store.apply(WriteBatch(runs=[make_run("r4", t=3, facet={"alpha": 0.3})]))
        facets, _ = _facet_tables(store)
        text = json.dumps({"alpha": 0.2, "mode": "fast"}, sort_keys=True, separators=(",", ":"))
        shared = hashlib.sha256(text.encode()).hexdigest()[:32]
        assert len(facets) == 2
        assert (shared, "step", text) in facets  # namespace: the first run that recorded it
        pointers = dict(_sql(store, "SELECT id, facet_id FROM run"))
        assert pointers["r1"] == pointers["r2"] == pointers["r3"] == shared
        assert pointers["r4"] not in (None, shared)


def test_facet_leaves_are_typed_columns(tmp_path: Path) -> None:
    facet = {
        "alpha": 0.2,
        "n": 2**53,
        "flag": True,
        "mode": "fast",
        "none": None,
        "grid": [1, 2],
        "solver": {"tol": 0.5},
        "seed": 2**63 - 1,
    }
    with DuckDBStore(str(tmp_path / "p.duckdb")) as store:
        store.apply(WriteBatch(runs=[make_run("r1", model_name="sim", facet=facet)]))
        (facet_id, _, _), *_ = _facet_tables(store)[0]
        kv = {row[2]: row for row in _facet_tables(store)[1]}
        assert all(row[:2] == ("r1", "sim") and row[3] == facet_id for row in kv.values())
        assert {key: row[4:] for key, row in kv.items()} == {
            "alpha": ("num", None, 0.2, None, None),  # a DOUBLE: 0.2 reads back as 0.2
            "n": ("num", None, float(2**53), None, None),
            "flag": ("bool", None, None, True, None),
            "mode": ("str", "fast", None, None, None),
            "none": ("null", None, None, None, None),
            "grid": ("json", None, None, None, "[1,2]"),
            "solver.tol": ("num", None, 0.5, None, None),
            "seed": ("json", None, None, None, str(2**63 - 1)),  # beyond 2**53: exact text
        }
        assert kv["alpha"][6] == 0.2 and int(kv["n"][6]) == 2**53


def test_re_recorded_facet_rows_are_replaced(tmp_path: Path) -> None:
    with DuckDBStore(str(tmp_path / "p.duckdb")) as store:
        store.apply(WriteBatch(runs=[make_run("r1", facet={"a": 1, "b": 2})]))
        store.apply(WriteBatch(runs=[make_run("r1", facet={"a": 3})]))
        kv = _facet_tables(store)[1]
        assert [(row[0], row[2], row[4], row[6]) for row in kv] == [("r1", "a", "num", 3.0)]
        assert len(_facet_tables(store)[0]) == 2  # documents are kept: others may share them
        store.apply(WriteBatch(runs=[make_run("r1")]))
        assert _facet_tables(store)[1] == []


class _CountingConnection:
    """Forwards to a DuckDB connection, recording every statement executed."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements: list[str] = []

    def execute(self, stmt: str, *args: Any) -> Any:
        self.statements.append(stmt)
        return self.conn.execute(stmt, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def test_facets_add_no_statement_per_row(tmp_path: Path) -> None:
    def batch(status: RunStatus) -> WriteBatch:
        return WriteBatch(
            runs=[
                make_run(f"r{i:04}", t=i, status=status, facet={"i": i, "mode": "x", "s": {"k": i}})
                for i in range(1000)
            ]
        )

    with DuckDBStore(str(tmp_path / "p.duckdb")) as store:
        conn, reader = store.db.lease.handle
        counting = _CountingConnection(conn)
        store.db.lease.handle = (counting, reader)
        store.apply(batch(RunStatus.RUNNING))
        first = [s for s in counting.statements if "config_facet" in s or "run_config_kv" in s]
        # One read of the 1000 document ids, one bulk insert per table; nothing per run.
        assert len(first) == 1 + 1 + 1, first
        counting.statements.clear()
        store.apply(batch(RunStatus.COMPLETED))  # same facets: the kv rows stay as they are
        kv = [s for s in counting.statements if "run_config_kv" in s]
        assert kv == []
        counting.statements.clear()
        store.apply(WriteBatch(runs=[make_run(f"r{i:04}", facet={"j": i}) for i in range(600)]))
        deletes = [s for s in counting.statements if s.startswith("DELETE FROM run_config_kv")]
        assert len(deletes) == 3  # one DELETE ... IN per chunk of 256 re-recorded runs
        store.db.lease.handle = (conn, reader)
        counts = "SELECT count(*), count(*) FILTER (WHERE key = 'j') FROM run_config_kv"
        assert _sql(store, counts) == [(600 + 400 * 3, 600)]
        found = store.find_runs(RunQuery(facet=(("j", 599),)))
        assert [r.id for r in found] == ["r0599"] and found[0].facet == {"j": 599}


def test_facets_survive_reopening_and_cache_snapshots_carry_none(tmp_path: Path) -> None:
    path = str(tmp_path / "p.duckdb")
    with DuckDBStore(path) as store:
        produced(store, make_run("r1", signature="s", facet={"alpha": 0.2}), data="a1")
    with DuckDBStore(path) as store:
        got = store.get_run("r1")
        assert got is not None and got.facet == {"alpha": 0.2}
        assert [r.id for r in store.find_runs(RunQuery(facet=(("alpha", 0.2),)))] == ["r1"]
        found = store.find_cached("s")
        assert found is not None and found.run.facet is None  # documented: one indexed read


def test_column_lists_match_the_table_definitions() -> None:
    from consist.adapters.stores.sql.tables import ConsistTable

    tables = ConsistTable.metadata.tables
    for name, columns in statements.TABLE_COLUMNS.items():
        assert tuple(c.name for c in tables[name].columns) == columns, name


@pytest.mark.slow
def test_opening_an_existing_database_imports_no_sqlalchemy(tmp_path: Path) -> None:
    path = str(tmp_path / "p.duckdb")
    DuckDBStore(path).close()
    code = (
        "import sys\n"
        "from consist.adapters.stores.duckdb_ import DuckDBStore\n"
        f"s = DuckDBStore({path!r}); s.get_run('x'); s.find_cached('y'); s.close()\n"
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'duckdb_engine') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_plugin_spec_points_at_the_store() -> None:
    from consist.adapters.stores.plugin import consist_stores
    from consist.core.registry import Registry

    registry = Registry()
    registry.extend(consist_stores())
    spec = registry.store_for("runs/provenance.duckdb")
    assert spec.load() is DuckDBStore
    assert registry.store_for("duckdb:///x").name == "duckdb"


def test_shipped_ddl_matches_the_tables() -> None:
    from consist.adapters.stores.sql.ddl import SHIPPED_DDL
    from consist.adapters.stores.sql.schema import ddl_statements

    for dialect in SQL_STORES:
        assert SHIPPED_DDL[dialect] == tuple(ddl_statements(dialect)), (
            "the tables changed: regenerate with python -m consist.adapters.stores.sql.schema"
        )


def test_creating_a_database_does_not_import_sqlalchemy(tmp_path) -> None:
    import json
    import subprocess
    import sys

    code = (
        "import sys, json; from consist.adapters.stores.duckdb_ import DuckDBStore; "
        f"DuckDBStore({str(tmp_path / 'new.duckdb')!r}).close(); "
        "print(json.dumps([m for m in ('sqlalchemy', 'sqlmodel') if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_duckdb_goes_without_the_indexes_it_scans_fast_and_sqlite_keeps_them(
    tmp_path: Path,
) -> None:
    for kind, query in (
        ("duckdb", "SELECT index_name FROM duckdb_indexes()"),
        ("sqlite", "SELECT name FROM sqlite_master WHERE type = 'index'"),
    ):
        path = str(tmp_path / f"p.{kind}")
        with SQL_STORES[kind](path) as store:
            store.apply(WriteBatch(runs=[make_run("r1")]))
        names = {row[0] for row in _execute(path, query)}
        skipped = SKIPPED_INDEXES.get(kind, frozenset())
        assert names & skipped == set()
        # The write path's and lineage walks' indexes are there on every store.
        assert {"ix_run_artifact_link_run_id", "ix_run_artifact_link_artifact_id"} <= names
        if kind == "sqlite":
            assert {"ix_run_signature", "ix_cache_index_signature"} <= names


def test_duckdb_hands_back_what_a_batch_frees_and_leaves_queries_alone(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "p.duckdb")
    setting = "SELECT current_setting('allocator_bulk_deallocation_flush_threshold')"
    with DuckDBStore(path) as store:
        conn = duckdb.connect(str(tmp_path / "scratch.duckdb"))
        default = conn.execute(setting).fetchone()[0]
        with store.db.dialect.writing_batch(conn):
            assert conn.execute(setting).fetchone()[0] == "0 bytes"
        assert conn.execute(setting).fetchone()[0] == default  # queries keep the default
        conn.close()
        store.apply(WriteBatch(runs=[make_run("r1")]))
        # The user's own plain connection to the same file in this process still opens
        # (a database opened with connect(config=...) would refuse it).
        mine = duckdb.connect(path)
        try:
            assert mine.execute(setting).fetchone()[0] == default
            assert mine.execute("SELECT count(*) FROM run").fetchone()[0] == 1
        finally:
            mine.close()
