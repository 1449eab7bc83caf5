"""Hot tables in DuckDB: ingestion, captured schemas and rows read back (part of the
:class:`~consist.core.ports.tables.TableStore` capability of
:class:`~consist.adapters.stores.duckdb_.DuckDBStore`; views are in ``duckdb_views``).

Ingestion is one ``INSERT … BY NAME SELECT … FROM read_parquet(?)`` (or ``read_csv`` /
``read_json`` / a registered in-memory frame) per artifact: DuckDB's native bulk path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consist.adapters.stores.sql.ops import select_in
from consist.core.errors import SchemaValidationError
from consist.core.tables import (
    HOT_SCHEMA,
    SYSTEM_COLUMNS,
    SYSTEM_NAMES,
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


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


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


def rollback(conn: Any) -> None:
    """Roll back, keeping the original failure the one that is reported."""
    with suppress(Exception):
        conn.execute("ROLLBACK")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class DuckDBTables:
    """Mixed into the DuckDB store: its ``_using``/``_reading`` give locked connections."""

    if TYPE_CHECKING:  # provided by DbApiStore

        def _using(self, operation: str) -> Any: ...

        def _reading(self, operation: str) -> Any: ...

    # -- ingestion ---------------------------------------------------------------------------
    def reads_in_place(self, path: Path) -> bool:
        """Whether the store can read ``path`` by name (else pass its rows as a frame)."""
        return reads_in_place(path)

    def ingest(self, job: IngestJob) -> IngestResult:
        """Load ``job``'s rows into its hot table in one transaction (see the port)."""
        table = job.table
        with self._using(f"ingest into table {table!r}") as conn:
            done = first_row(
                conn,
                "SELECT row_count, schema_id FROM ingestion WHERE artifact_id = ? AND "
                "table_name = ?",
                [job.provenance.artifact_id, table],
            )
            if done is not None:
                schema = self._schema(conn, done[1]) or TableSchema(())
                return IngestResult(table, int(done[0]), schema, already=True)
            with self._source(conn, job) as (source, params):
                types = _describe(conn, source, params)
                target = self._check(conn, job, source, params, types)
                rows = self._load(conn, job, source, params, types, target)
        return IngestResult(table, rows, _observed(types).without_system())

    def validate(self, job: IngestJob) -> None:
        """Raise ``SchemaValidationError`` if ``job``'s data does not fit its model; write
        nothing."""
        with (
            self._using(f"check data for table {job.table!r}") as conn,
            self._source(conn, job) as (source, params),
        ):
            self._check(conn, job, source, params, _describe(conn, source, params))

    @contextmanager
    def _source(self, conn: Any, job: IngestJob) -> Iterator[tuple[str, list[Any]]]:
        """The SQL relation reading ``job``'s data, and its parameters."""
        if job.frame is not None:
            conn.register(_FRAME_NAME, job.frame)
            try:
                yield _FRAME_NAME, []
            finally:
                conn.unregister(_FRAME_NAME)
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
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {HOT_SCHEMA}")
            columns = ", ".join(f"{quote(n)} {t}" for n, t in declared)
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
            existing = set(table_columns(conn, job.table) or ())
            for name, duck_type in declared:
                if name not in existing:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {quote(name)} {duck_type}")
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
            _remember_schema(conn, schema)
            conn.execute(
                "INSERT INTO ingestion (artifact_id, table_name, run_id, schema_id, row_count, "
                "ingested_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    job.provenance.artifact_id,
                    job.table,
                    job.provenance.run_id,
                    schema.id,
                    rows,
                    _now(),
                ],
            )
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
        return rows

    def ingested_table(self, artifact_id: str) -> str | None:
        with self._reading(f"look up the ingestion of {artifact_id!r}") as conn:
            row = first_row(
                conn,
                "SELECT table_name FROM ingestion WHERE artifact_id = ? ORDER BY ingested_at "
                "LIMIT 1",
                [artifact_id],
            )
        return None if row is None else str(row[0])

    def export_rows(self, table: str, artifact_id: str, dest: Path, driver: str) -> int:
        """Write an artifact's hot rows (its own columns, in the order ingested) to ``dest``."""
        if driver not in ("parquet", "csv"):
            raise ValueError(f"cannot rebuild a {driver!r} file from rows; parquet or csv only.")
        with self._using(f"rebuild artifact {artifact_id!r} from table {table!r}") as conn:
            found = first_row(
                conn,
                "SELECT schema_id FROM ingestion WHERE artifact_id = ? AND table_name = ?",
                [artifact_id, table],
            )
            present = table_columns(conn, table) or []
            schema = self._schema(conn, found[0]) if found else None
            names = [n for n in (schema.names if schema else present) if n in present]
            names = [n for n in names if n not in SYSTEM_NAMES]
            relation = conn.sql(
                f"SELECT {', '.join(quote(n) for n in names)} FROM {hot_table(table)} "
                "WHERE consist_artifact_id = $1",
                params=[artifact_id],
            )
            count = len(relation)
            if driver == "parquet":
                relation.write_parquet(str(dest))
            else:
                relation.write_csv(str(dest), header=True)
        return count

    # -- schemas -------------------------------------------------------------------------------
    def table_schema(self, schema_id: str) -> TableSchema | None:
        with self._reading(f"read schema {schema_id!r}") as conn:
            return self._schema(conn, schema_id)

    def schema_of_artifact(self, artifact_id: str) -> TableSchema | None:
        with self._reading(f"read the schema of artifact {artifact_id!r}") as conn:
            row = first_row(
                conn,
                "SELECT coalesce((SELECT schema_id FROM ingestion WHERE artifact_id = ? LIMIT 1),"
                " (SELECT json_extract_string(meta_json, '$.schema_id') FROM artifact "
                "WHERE id = ?))",
                [artifact_id, artifact_id],
            )
            return self._schema(conn, row[0]) if row and row[0] else None

    @staticmethod
    def _schema(conn: Any, schema_id: str | None) -> TableSchema | None:
        if schema_id is None:
            return None
        row = first_row(conn, "SELECT columns_json FROM table_schema WHERE id = ?", [schema_id])
        return None if row is None else TableSchema.from_json(row[0])


def first_row(conn: Any, statement: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    """The first row of a statement, with the result fully consumed (DuckDB refuses other
    work on a connection with an unfinished result)."""
    rows = conn.execute(statement, list(params)).fetchall()
    return tuple(rows[0]) if rows else None


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


def _remember_schema(conn: Any, schema: TableSchema) -> None:
    if not select_in(conn, "table_schema", ("id",), "id", [schema.id]):
        conn.execute(
            "INSERT INTO table_schema (id, columns_json, created_at) VALUES (?, ?, ?)",
            [schema.id, schema.to_json(), _now()],
        )
