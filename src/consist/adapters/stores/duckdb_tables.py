"""Hot tables in DuckDB: ingestion, captured schemas and rows read back (a component of
:class:`~consist.adapters.stores.duckdb_.DuckDBStore`, which delegates the
:class:`~consist.core.ports.tables.TableStore` methods to it; views are in ``duckdb_views``).

Ingestion is one ``INSERT … BY NAME SELECT … FROM read_parquet(?)`` (or ``read_csv`` /
``read_json`` / a registered in-memory frame) per artifact: DuckDB's native bulk path.

Each ingestion (and each check of data against a model) runs on a cursor of its own. A
registered frame and a staged temporary table belong to one connection, and DuckDB 2
refuses to register a frame on a connection holding an unfinished result of an earlier
statement; a fresh cursor never holds one, and closing it drops whatever was staged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from consist.adapters.stores.sql.hot import HotTableCatalog, create_or_widen, quote
from consist.adapters.stores.sql.ops import first_row
from consist.core.errors import SchemaValidationError
from consist.core.tables import (
    HOT_SCHEMA,
    SYSTEM_COLUMNS,
    Column,
    IngestJob,
    IngestResult,
    TableSchema,
    unknown_columns,
)

_SQL_TYPES = {
    "integer": "BIGINT",
    "float": "DOUBLE",
    "decimal": "DECIMAL(38, 10)",
    "boolean": "BOOLEAN",
    "string": "VARCHAR",
    "binary": "BLOB",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "interval": "INTERVAL",
}
_LOGICAL_PREFIXES = (
    (("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT"), "integer"),
    (("UINTEGER", "UBIGINT", "UHUGEINT"), "integer"),
    (("DOUBLE", "FLOAT", "REAL"), "float"),
    (("DECIMAL",), "decimal"),
    (("BOOLEAN",), "boolean"),
    (("VARCHAR",), "string"),
    (("BLOB",), "binary"),
    (("TIMESTAMP",), "timestamp"),
    (("DATE",), "date"),
    (("TIME",), "time"),
    (("INTERVAL",), "interval"),
)
READERS = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json_auto"}
_GLOB_CHARACTERS = frozenset("*?[{")
_FRAME_NAME = "consist_ingest_source"
_ROWS_NAME = "consist_ingest_rows"


def reads_in_place(path: Path) -> bool:
    """Whether DuckDB reads ``path`` as exactly that file (it expands glob characters)."""
    return not (_GLOB_CHARACTERS & set(str(path)))


def sql_type(logical: str) -> str | None:
    """DuckDB type of a logical type; None for ``other`` (values are left as they are)."""
    return _SQL_TYPES.get(logical)


def logical_type(duck_type: str) -> str:
    upper = duck_type.upper()
    for prefixes, name in _LOGICAL_PREFIXES:
        if upper.startswith(prefixes):
            return name
    return "other"


def hot_table(table: str) -> str:
    return f"{HOT_SCHEMA}.{quote(table)}"


class DuckDBTables(HotTableCatalog):
    """The DuckDB store's hot tables, over the store's ``db`` (locked connections)."""

    #: Frames (pandas, polars, Arrow) are scanned in place by DuckDB.
    accepts_frames = True

    # -- ingestion ---------------------------------------------------------------------------
    def reads_in_place(self, path: Path) -> bool:
        """Whether the store can read ``path`` by name (else pass its rows as a frame)."""
        return reads_in_place(path)

    def ingest(self, job: IngestJob) -> IngestResult:
        """Load ``job``'s rows into its hot table in one transaction (see the port)."""
        table = job.table
        with (
            self.db.using(f"ingest into table {table!r}") as shared,
            _private(shared) as conn,
        ):
            done = self._ingestion(conn, job.provenance.artifact_id, table)
            if done is not None:
                schema = self._schema(conn, done[1]) or TableSchema(())
                return IngestResult(table, done[0], schema, already=True)
            with self._source(conn, job) as (source, params):
                types = _describe(conn, source, params)
                target = self._check(conn, job, source, params, types)
                rows = self._load(conn, job, source, params, types, target)
        return IngestResult(table, rows, _observed(types).without_system())

    def validate(self, job: IngestJob) -> None:
        """Raise ``SchemaValidationError`` if ``job``'s data does not fit its model; write
        nothing."""
        with (
            self.db.using(f"check data for table {job.table!r}") as shared,
            _private(shared) as conn,
            self._source(conn, job) as (source, params),
        ):
            self._check(conn, job, source, params, _describe(conn, source, params))

    @contextmanager
    def _source(self, conn: Any, job: IngestJob) -> Iterator[tuple[str, list[Any]]]:
        """The SQL relation reading ``job``'s data, and its parameters (``conn`` is a
        private cursor, see the module)."""
        if job.frame is not None:
            conn.register(_FRAME_NAME, job.frame)
            yield _FRAME_NAME, []
            return
        if job.records is not None:
            # Plain rows (e.g. from a store-independent caller): staged in a temporary table.
            schema, rows = job.records
            columns = ", ".join(
                f"{quote(c.name)} {sql_type(c.type) or 'VARCHAR'}" for c in schema.columns
            )
            conn.execute(f"CREATE OR REPLACE TEMP TABLE {_ROWS_NAME} ({columns})")
            if rows:
                marks = ", ".join("?" for _ in schema.columns)
                conn.executemany(
                    f"INSERT INTO {_ROWS_NAME} VALUES ({marks})", [list(r) for r in rows]
                )
            yield _ROWS_NAME, []
            return
        if job.path is None or job.driver not in READERS:
            raise ValueError(
                f"cannot ingest driver {job.driver!r}; use one of {', '.join(READERS)} "
                "or pass data=... (a DataFrame or a list of row dicts)."
            )
        yield f"{READERS[job.driver]}(?)", [str(job.path)]

    def _check(
        self, conn: Any, job: IngestJob, source: str, params: list[Any], types: dict[str, str]
    ) -> list[tuple[str, str | None]]:
        """Target columns ``(name, DuckDB type or None to keep)``; refuses data that does not
        fit the model before anything is written."""
        data = _observed(types).without_system()
        if job.model is None:
            return [(c.name, types[c.name]) for c in data.columns]
        problems = {
            name: "not declared in the schema" for name in unknown_columns(job.model, data.names)
        }
        present = set(data.names)
        casts = [(c.name, sql_type(c.type)) for c in job.model.columns if c.name in present]
        checked = [(name, t) for name, t in casts if t is not None]
        if checked:
            counts = first_row(
                conn,
                "SELECT "
                + ", ".join(
                    f"count(*) FILTER (WHERE {quote(n)} IS NOT NULL AND "
                    f"TRY_CAST({quote(n)} AS {t}) IS NULL)"
                    for n, t in checked
                )
                + f" FROM {source}",
                params,
            )
            for (name, duck), bad in zip(checked, counts, strict=True):
                if bad:
                    problems[name] = f"{bad} value(s) cannot be cast to {duck}"
        if problems:
            raise SchemaValidationError(job.table, problems)
        return [(c.name, sql_type(c.type)) for c in job.model.columns]

    def _load(
        self,
        conn: Any,
        job: IngestJob,
        source: str,
        params: list[Any],
        types: dict[str, str],
        target: list[tuple[str, str | None]],
    ) -> int:
        table = hot_table(job.table)
        system = [(c.name, sql_type(c.type)) for c in SYSTEM_COLUMNS]
        declared = [(n, t or types.get(n, "VARCHAR")) for n, t in (*target, *system)]
        selected = [
            f"CAST({quote(n)} AS {t}) AS {quote(n)}" if t else quote(n)
            for n, t in target
            if n in types
        ]
        selected += [f"CAST(? AS {t}) AS {quote(n)}" for n, t in system]
        provenance = job.provenance.values()
        with self.db.transaction(conn):
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {HOT_SCHEMA}")
            create_or_widen(conn, table, declared, lambda: table_columns(conn, job.table))
            conn.execute(
                f"DELETE FROM {table} WHERE consist_artifact_id = ?", [job.provenance.artifact_id]
            )
            inserted = first_row(
                conn,
                f"INSERT INTO {table} BY NAME SELECT {', '.join(selected)} FROM {source}",
                [*[provenance[n] for n, _ in system], *params],
            )
            rows = int(inserted[0]) if inserted else 0
            schema = _observed(types).without_system()
            self._record_ingestion(
                conn, job.provenance.artifact_id, job.table, job.provenance.run_id, schema, rows
            )
        return rows

    def read_rows(self, table: str, artifact_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """An artifact's hot rows: its own columns (as ingested), in the order ingested."""
        with self.db.using(f"read artifact {artifact_id!r} from table {table!r}") as conn:
            names = self._own_columns(conn, table, artifact_id, table_columns(conn, table) or [])
            rows = conn.execute(
                f"SELECT {', '.join(quote(n) for n in names)} FROM {hot_table(table)} "
                "WHERE consist_artifact_id = ?",
                [artifact_id],
            ).fetchall()
        return names, rows


@contextmanager
def _private(conn: Any) -> Iterator[Any]:
    """A cursor of ``conn`` (the same database, ~4 µs to make) closed after the block; its
    registered frame and temporary table go with it, even when the block failed."""
    cursor = conn.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def _describe(conn: Any, source: str, params: list[Any]) -> dict[str, str]:
    """``column -> DuckDB type`` of a source, read from its metadata (or a sniffed sample)."""
    rows = conn.execute(f"DESCRIBE SELECT * FROM {source}", params).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _observed(types: dict[str, str]) -> TableSchema:
    return TableSchema(tuple(Column(n, logical_type(t)) for n, t in types.items()))


def table_columns(conn: Any, table: str) -> list[str] | None:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND "
        "table_name = ? ORDER BY ordinal_position",
        [HOT_SCHEMA, table],
    ).fetchall()
    return [str(r[0]) for r in rows] or None
