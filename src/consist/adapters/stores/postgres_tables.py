"""Hot tables and views in PostgreSQL (the table component of
:class:`~consist.adapters.stores.postgres_.PostgresStore`).

Hot tables live in the schema ``global_tables``, as on DuckDB, so users' SQLModel classes
map them the same way. Rows arrive as plain tuples (the api reads files and frames with the
frame engine) and are inserted with one pipelined ``executemany`` in a transaction.

Views are PostgreSQL views over hot rows, and a view's cold parquet/csv files are ingested
the first time the view is used (once per artifact), as on SQLite. The alternative — DuckDB
in the client reading the files with the mapping rows fetched from PostgreSQL — would put
the view in a DuckDB database that ``tracker.engine`` (a PostgreSQL engine) cannot see, so
``select(tracker.views.Model)`` would stop working; DuckDB's ``postgres`` extension is a
download, not available offline. Keeping the view in the server keeps the one API: every
client of the database, on any machine, queries the same view with plain SQL.
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
from consist.core.errors import InvalidKeyError, SchemaValidationError
from consist.core.tables import (
    HOT_SCHEMA,
    SYSTEM_COLUMNS,
    IngestJob,
    IngestResult,
    TableSchema,
    ViewPlan,
    schema_problems,
)

_SQL_TYPES = {
    "integer": "BIGINT",
    "float": "DOUBLE PRECISION",
    "decimal": "NUMERIC",
    "boolean": "BOOLEAN",
    "string": "TEXT",
    "binary": "BYTEA",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "interval": "INTERVAL",
}
#: PostgreSQL truncates longer identifiers, which would merge two tables' names.
_MAX_NAME_BYTES = 63
_COLUMNS = (
    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND "
    "table_name = ? ORDER BY ordinal_position"
)


def _sql_type(logical: str) -> str:
    return _SQL_TYPES.get(logical, "TEXT")


def _check_name(name: str, what: str) -> str:
    if len(name.encode()) > _MAX_NAME_BYTES:
        raise InvalidKeyError(
            f"{what} {name!r} is {len(name.encode())} bytes long; PostgreSQL names are at most "
            f"{_MAX_NAME_BYTES} bytes. Choose a shorter __tablename__ or key."
        )
    return name


def _value(value: Any, logical: str) -> Any:
    """``value`` as psycopg should bind it for a ``logical`` column (PostgreSQL does not
    convert an integer parameter into a boolean or a text column by itself)."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes):
        value = item()  # numpy scalars
    if value is None:
        return None
    if logical == "boolean" and not isinstance(value, bool | str):
        return bool(value)
    if logical == "integer" and isinstance(value, float):
        return int(value)
    if logical in ("string", "other") and not isinstance(value, str):
        return value.isoformat() if isinstance(value, dt.date | dt.time) else str(value)
    if isinstance(value, str | int | float | bytes | decimal.Decimal | dt.date | dt.time):
        return value
    return value if isinstance(value, dt.timedelta) else str(value)


def _hot(table: str) -> str:
    return f"{quote(HOT_SCHEMA)}.{quote(table)}"


def _columns(conn: Any, table: str) -> list[str] | None:
    rows = conn.execute(_COLUMNS, [HOT_SCHEMA, table]).fetchall()
    return [str(r[0]) for r in rows] or None


class PostgresTables(HotTableCatalog):
    """The PostgreSQL store's hot tables and views, over the store's ``db``."""

    #: Rows arrive as ``IngestJob.records``; frames and files are read by the api.
    accepts_frames = False

    def reads_in_place(self, path: Any) -> bool:
        return False

    @staticmethod
    def _records(job: IngestJob) -> tuple[TableSchema, list[tuple[Any, ...]]]:
        if job.records is None:
            raise ValueError(
                "the PostgreSQL store ingests plain rows (IngestJob.records), not files or frames."
            )
        return job.records

    def validate(self, job: IngestJob) -> None:
        data, rows = self._records(job)
        if job.model is not None:
            problems = schema_problems(job.model, data.without_system(), rows)
            if problems:
                raise SchemaValidationError(job.table, problems)

    def ingest(self, job: IngestJob) -> IngestResult:
        table = _check_name(job.table, "table name")
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
            types = {c.name: c.type for c in target}
            positions = [(i, n) for i, n in enumerate(data.names) if n in types]
            names = [n for _, n in positions] + [c.name for c in SYSTEM_COLUMNS]
            system = list(job.provenance.values().values())
            values = [[_value(row[i], types[n]) for i, n in positions] + system for row in rows]
            declared = [(c.name, _sql_type(c.type)) for c in (*target, *SYSTEM_COLUMNS)]
            with self.db.transaction(conn):
                # One writer at a time may create or widen a table; others wait for it.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [f"consist:{table}"])
                create_or_widen(conn, _hot(table), declared, lambda: _columns(conn, table))
                insert_rows(conn, _hot(table), names, values)
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
            # An artifact's rows are appended by one insert and never updated, so their
            # physical order (ctid) is the order they were ingested in.
            rows = conn.execute(
                f"SELECT {', '.join(quote(n) for n in names)} FROM {_hot(table)} "
                "WHERE consist_artifact_id = ? ORDER BY ctid",
                [artifact_id],
            ).fetchall()
        return names, [tuple(row) for row in rows]

    def hot_columns(self, table: str) -> list[str] | None:
        with self.db.reading(f"describe table {table!r}") as conn:
            return _columns(conn, table)

    def build_view(self, plan: ViewPlan) -> None:
        name = _check_name(plan.name, "view name")
        with self.db.using(f"build view {name!r}") as conn:
            present = set(_columns(conn, plan.table) or ())
            items = []
            for column in (*plan.model.columns, *SYSTEM_COLUMNS):
                value = quote(column.name) if column.name in present else "NULL"
                items.append(f"CAST({value} AS {_sql_type(column.type)}) AS {quote(column.name)}")
            source = f"FROM {_hot(plan.table)} WHERE {UNFINISHED}" if present else "WHERE false"
            with self.db.transaction(conn):
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [f"consist:{name}"])
                conn.execute(f"DROP VIEW IF EXISTS {quote(name)}")
                conn.execute(f"CREATE VIEW {quote(name)} AS SELECT {', '.join(items)} {source}")
