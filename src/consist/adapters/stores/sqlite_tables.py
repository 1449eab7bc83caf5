"""Hot tables and views in SQLite (the table component of
:class:`~consist.adapters.stores.sqlite_.SQLiteStore`, which delegates the table port to it).

SQLite cannot read parquet or scan a DataFrame, so rows arrive as plain tuples (the api
converts them with the frame engine) and are inserted with ``executemany`` in one
transaction. Hot tables live in the main database under the table name itself (SQLite has no
schemas a view may reach across). Views read hot rows only: a view's parquet/csv files are
ingested the first time the view is used, once per artifact, so the same query gives the same
answer as on DuckDB.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from consist.adapters.stores.sql.hot import (
    UNFINISHED,
    HotTableCatalog,
    create_or_widen,
    insert_rows,
    quote,
)
from consist.adapters.stores.sql.statements import TABLE_COLUMNS
from consist.core.errors import InvalidKeyError, SchemaValidationError
from consist.core.tables import (
    SYSTEM_COLUMNS,
    IngestJob,
    IngestResult,
    TableSchema,
    ViewPlan,
    schema_problems,
)

_SQL_TYPES = {
    "integer": "INTEGER",
    "float": "REAL",
    "decimal": "NUMERIC",
    "boolean": "INTEGER",
    "string": "TEXT",
    "binary": "BLOB",
}
#: Consist's own tables share the main database with hot tables.
_RESERVED = frozenset(TABLE_COLUMNS) | {"consist_meta"}


def _sql_type(logical: str) -> str:
    return _SQL_TYPES.get(logical, "TEXT")


def _plain(value: Any) -> Any:
    """A value sqlite3 stores as is."""
    if value is None or isinstance(value, str | int | float | bytes):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, decimal.Decimal | dt.timedelta):
        return str(value)
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else str(value)


def _check_name(table: str) -> str:
    if table in _RESERVED or table.startswith("sqlite_"):
        raise InvalidKeyError(
            f"table name {table!r} is taken by the database itself in SQLite; choose another "
            "__tablename__ or key."
        )
    return table


def _columns(conn: Any, table: str) -> list[str] | None:
    rows = conn.execute(f"PRAGMA table_info({quote(table)})").fetchall()
    return [str(r[1]) for r in rows] or None


class SQLiteTables(HotTableCatalog):
    """The SQLite store's hot tables and views, over the store's ``db`` (locked
    connections)."""

    #: Rows arrive as ``IngestJob.records``; frames and files are read by the api.
    accepts_frames = False

    def reads_in_place(self, path: Any) -> bool:
        return False

    @staticmethod
    def _records(job: IngestJob) -> tuple[TableSchema, list[tuple[Any, ...]]]:
        if job.records is None:
            raise ValueError(
                "the SQLite store ingests plain rows (IngestJob.records), not files or frames."
            )
        return job.records

    def validate(self, job: IngestJob) -> None:
        data, rows = self._records(job)
        if job.model is not None:
            problems = schema_problems(job.model, data.without_system(), rows)
            if problems:
                raise SchemaValidationError(job.table, problems)

    def ingest(self, job: IngestJob) -> IngestResult:
        table = _check_name(job.table)
        data, rows = self._records(job)
        observed = data.without_system()
        with self.db.using(f"ingest into table {table!r}") as conn:
            done = self._ingestion(conn, job.provenance.artifact_id, table)
            if done is not None:
                return IngestResult(
                    table, done[0], self._schema(conn, done[1]) or TableSchema(()), already=True
                )
            self.validate(job)
            target = job.model.columns if job.model is not None else observed.columns
            declared = [(c.name, _sql_type(c.type)) for c in (*target, *SYSTEM_COLUMNS)]
            wanted = {c.name for c in target}
            positions = [(i, n) for i, n in enumerate(data.names) if n in wanted]
            names = [n for _, n in positions] + [c.name for c in SYSTEM_COLUMNS]
            system = list(job.provenance.values().values())
            values = [[_plain(row[i]) for i, _ in positions] + system for row in rows]
            with self.db.transaction(conn):
                create_or_widen(conn, quote(table), declared, lambda: _columns(conn, table))
                conn.execute(
                    f"DELETE FROM {quote(table)} WHERE consist_artifact_id = ?",
                    [job.provenance.artifact_id],
                )
                insert_rows(conn, quote(table), names, values)
                self._record_ingestion(
                    conn,
                    job.provenance.artifact_id,
                    table,
                    job.provenance.run_id,
                    observed,
                    len(rows),
                )
        return IngestResult(table, len(rows), observed)

    def read_rows(self, table: str, artifact_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self.db.reading(f"read artifact {artifact_id!r} from table {table!r}") as conn:
            names = self._own_columns(conn, table, artifact_id, _columns(conn, table) or [])
            rows = conn.execute(
                f"SELECT {', '.join(quote(n) for n in names)} FROM {quote(table)} "
                "WHERE consist_artifact_id = ? ORDER BY rowid",
                [artifact_id],
            ).fetchall()
        return names, rows

    def hot_columns(self, table: str) -> list[str] | None:
        with self.db.reading(f"describe table {table!r}") as conn:
            return _columns(conn, table)

    def build_view(self, plan: ViewPlan) -> None:
        with self.db.using(f"build view {plan.name!r}") as conn:
            present = set(_columns(conn, plan.table) or ())
            items = []
            for column in (*plan.model.columns, *SYSTEM_COLUMNS):
                value = quote(column.name) if column.name in present else "NULL"
                items.append(f"CAST({value} AS {_sql_type(column.type)}) AS {quote(column.name)}")
            source = f"FROM {quote(plan.table)} WHERE {UNFINISHED}" if present else "WHERE 0"
            with self.db.transaction(conn):
                conn.execute(f"DROP VIEW IF EXISTS {quote(plan.name)}")
                conn.execute(
                    f"CREATE VIEW {quote(plan.name)} AS SELECT {', '.join(items)} {source}"
                )
