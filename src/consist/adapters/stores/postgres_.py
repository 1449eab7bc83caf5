"""The PostgreSQL metadata store: the shared qmark SQL of :class:`SqlStore` on psycopg 3.

Chosen by ``postgresql://`` (or ``postgres://``) URLs, e.g.
``postgresql://user:password@db.example.org:5432/provenance``; the database must exist,
and the store creates (and migrates) Consist's tables in it on first use.

What differs from the embedded stores, and why:

* **Concurrency is the server's.** There is no file lease and no gate: any number of
  processes and machines write at once, each transaction isolated by PostgreSQL. Rows that
  several writers may insert at the same moment (an input artifact shared by a sweep, a
  facet document) are inserted with ``ON CONFLICT DO NOTHING`` in primary-key order, so two
  writers neither fail on each other's row nor deadlock; a deadlock or serialization
  failure the server still reports counts as a busy database (the recorder keeps the rows
  and retries).
* **Connections are kept, and pooled where they are shared.** A store holds two
  connections for its process (writes, and reads that must not wait for a background
  flush), reused by every statement and re-opened if the server dropped them; the
  SQLAlchemy engine of ``tracker.engine`` has its own small pool (pre-pinged). Trackers of
  one process on one URL share one store (``consist.api.stores``), so a process costs the
  server two connections plus the engine's pool however many trackers it opens.
* **An unreachable server is named** with host, port and database and the usual fix;
  passwords never appear in a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import psycopg

from consist.adapters.stores.postgres_conn import PgConnection, connect_error, libpq_url
from consist.adapters.stores.postgres_tables import PostgresTables
from consist.adapters.stores.sql.connection import Connections
from consist.adapters.stores.sql.dbapi import SqlStore
from consist.adapters.stores.sql.dialect import Dialect
from consist.adapters.stores.sql.ops import Row, chunks
from consist.adapters.stores.sql.statements import TABLE_COLUMNS, rows_per_statement
from consist.core.errors import StoreError, redact

__all__ = ["PostgresDialect", "PostgresStore"]

#: Connections the engine behind ``tracker.engine`` keeps open per process.
ENGINE_POOL_SIZE = 2

# Primary-key width of each table: rows are sorted on it before a bulk insert, so that two
# transactions inserting overlapping rows lock them in the same order (no deadlock).
_KEY_WIDTH = {"run_artifact_link": 4, "run_config_kv": 3, "ingestion": 2}


@lru_cache(maxsize=256)
def _insert_ignoring(table: str, n_rows: int) -> str:
    columns = TABLE_COLUMNS[table]
    group = "(" + ", ".join("?" * len(columns)) + ")"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([group] * n_rows)} "
        "ON CONFLICT DO NOTHING"
    )


class PostgresDialect(Dialect):
    """PostgreSQL: server-side concurrency, ``ON CONFLICT`` inserts, JSON via ``jsonb``."""

    name = "postgresql"
    driver_errors = (psycopg.Error,)
    lock_conflicts = (
        "deadlock detected",
        "could not serialize access",
        "too many clients",
        "the database system is starting up",
        "could not obtain lock",
    )
    file_based = False
    tag_match_sql = (
        "EXISTS (SELECT 1 FROM json_array_elements_text(CAST(run.tags AS json)) AS t(value) "
        "WHERE t.value = ?)"
    )
    # Created with the schema (consist.adapters.stores.sql.schema): SQLite's JSON path
    # syntax ('$.a.b') on JSON stored as text.
    json_text = "consist_json_text"

    def connect(self, path: str, timeout: float) -> PgConnection:
        try:
            return PgConnection(path, timeout)
        except psycopg.Error as exc:
            if self.is_busy(exc):
                raise
            raise connect_error(path, exc) from exc

    def open_reader(self, conn: Any, path: str, timeout: float) -> Any:
        # A second connection: a cache lookup reads the last committed state while the
        # background flush holds the first one in a transaction.
        return self.connect(path, timeout)

    def begin(self, conn: Any) -> None:
        conn.execute("BEGIN")

    def insert(self, conn: Any, table: str, rows: Sequence[Row]) -> None:
        width = _KEY_WIDTH.get(table, 1)
        ordered = sorted(rows, key=lambda row: tuple(str(v) for v in row[:width]))
        for chunk in chunks(ordered, rows_per_statement(len(TABLE_COLUMNS[table]))):
            params = [value for row in chunk for value in row]
            conn.execute(_insert_ignoring(table, len(chunk)), params)

    def sqlalchemy_engine(self, db: Connections, conn: Any) -> Any:
        """A pooled engine over the same database (``postgresql+psycopg``).

        ``NUMERIC`` results load as floats: PostgreSQL computes ``avg`` and ``sum`` of
        integer columns as ``NUMERIC``, where DuckDB and SQLite give a double or an
        integer, and a view query must answer alike on every store.
        """
        from psycopg.types.numeric import FloatLoader
        from sqlalchemy import create_engine, event

        url = "postgresql+psycopg://" + libpq_url(db.location).partition("://")[2]
        engine = create_engine(url, pool_size=ENGINE_POOL_SIZE, pool_pre_ping=True)

        def numeric_as_float(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.adapters.register_loader("numeric", FloatLoader)

        event.listen(engine, "connect", numeric_as_float)
        return engine


def check_location(location: str) -> str:
    """``location`` if it is a PostgreSQL URL, else a :class:`StoreError` naming the fix."""
    scheme = location.partition("://")[0].lower()
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return location
    raise StoreError(
        f"metadata store {redact(location)!r}: the PostgreSQL store serves postgresql:// URLs "
        "such as 'postgresql://user:password@host:5432/database'."
    )


class PostgresStore(SqlStore):
    """Metadata store in a PostgreSQL database.

    A :class:`SqlStore` with the :class:`PostgresDialect` and :class:`PostgresTables` (hot
    tables in schema ``global_tables``; views read hot rows, and a view's parquet/csv files
    are ingested the first time it is used).

    Parameters
    ----------
    location : str
        ``postgresql://[user[:password]@]host[:port]/database[?options]``. The database
        must exist; Consist's tables are created in its current schema.
    lock_timeout : float, optional
        Seconds to wait for the server to accept a connection (default
        ``$CONSIST_LOCK_TIMEOUT`` or 10 s).

    Raises
    ------
    StoreError
        If the server cannot be reached, refuses the credentials, or the database is
        missing; the message names host, port and database (never the password) and the fix.
    """

    def __init__(self, location: str, *, lock_timeout: float | None = None) -> None:
        self.path = check_location(location)
        db = Connections(location, location, PostgresDialect(), lock_timeout=lock_timeout)
        tables = PostgresTables(db)
        super().__init__(db, tables=tables, views=tables)
