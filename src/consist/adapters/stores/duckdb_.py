"""The DuckDB metadata store: one embedded database file per project.

Everything on the hot path is the shared qmark SQL of :class:`SqlStore` on the raw ``duckdb``
connection; :class:`DuckDBDialect` holds what DuckDB does its own way. SQLAlchemy is imported
only when the database is created (to compile DDL) or when a user asks for
:meth:`DuckDBStore.sqlalchemy_engine`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

import duckdb

from consist.adapters.stores.duckdb_tables import DuckDBTables
from consist.adapters.stores.duckdb_views import DuckDBViews
from consist.adapters.stores.sql.connection import Connections
from consist.adapters.stores.sql.dbapi import SqlStore
from consist.adapters.stores.sql.dialect import Dialect
from consist.adapters.stores.sql.ops import MEMORY, Row, insert_values, select_in
from consist.adapters.stores.sql.ops import database_path as sql_database_path
from consist.adapters.stores.sql.signature_index import SUFFIX, IndexMirror, SignatureIndex
from consist.adapters.stores.sql.statements import MAX_ROWS, TABLE_COLUMNS

__all__ = ["DuckDBDialect", "DuckDBStore", "database_path"]


# Up to this many rows a multi-row VALUES insert is cheapest; beyond, DuckDB spends ~0.3 ms
# per row binding VALUES parameters, while one list parameter per column stays ~flat.
_VALUES_UP_TO = 3


@lru_cache(maxsize=16)
def _unnest_insert(table: str) -> str:
    columns = TABLE_COLUMNS[table]
    unnests = ", ".join("unnest(?)" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {unnests}"


@lru_cache(maxsize=16)
def _unnest_select(table: str, columns: tuple[str, ...], key: str) -> str:
    return f"SELECT {', '.join(columns)} FROM {table} WHERE {key} IN (SELECT unnest(?))"


def database_path(location: str) -> str:
    """The file path (or ``":memory:"``) named by a path or a ``duckdb://`` URL
    (``duckdb:///relative.duckdb``, ``duckdb:////absolute/path.duckdb``, ``duckdb://``)."""
    return sql_database_path(
        location, "duckdb", "DuckDB store serves duckdb:// URLs and *.duckdb paths"
    )


class DuckDBDialect(Dialect):
    """DuckDB: one process per file, cursors as readers, bulk inserts by ``unnest``."""

    name = "duckdb"
    driver_errors = (duckdb.Error,)
    lock_conflicts = ("Could not set lock",)
    exclusive_file = True
    # Parsing the JSON array into a VARCHAR list compares whole elements (json_each would
    # too, but it needs DuckDB >= 1.3).
    tag_match_sql = "list_contains(from_json(run.tags, '[\"VARCHAR\"]'), ?)"
    json_text = "json_extract_string"

    def connect(self, path: str, timeout: float) -> Any:
        return duckdb.connect(path)

    @contextmanager
    def writing_batch(self, conn: Any) -> Iterator[None]:
        """Return the memory a batch frees to the system at once.

        DuckDB keeps freed memory for reuse until a single release passes 512 MiB, and a
        store writes in many small transactions: a process doing 1 000 runs held ~12 MB it
        no longer used (peak 114 MB, 102 MB with this). Only while a batch is written:
        queries keep the default (returning memory after every aggregation made a view
        query twice as slow). ``SET`` rather than ``connect(config=...)``, which would make
        the user's own ``duckdb.connect(path)`` of the same file in this process fail.
        """
        with suppress(duckdb.Error):  # a DuckDB without the setting keeps its default
            conn.execute("SET allocator_bulk_deallocation_flush_threshold = '0MB'")
        try:
            yield
        finally:
            with suppress(duckdb.Error):
                conn.execute("RESET allocator_bulk_deallocation_flush_threshold")

    def open_reader(self, conn: Any, path: str, timeout: float) -> Any:
        # A cursor is a second connection to the same database instance: it reads the last
        # committed state while a background flush holds the main connection.
        return conn.cursor()

    def insert(self, conn: Any, table: str, rows: Sequence[Row]) -> None:
        if len(rows) <= _VALUES_UP_TO:
            insert_values(conn, table, rows)
        else:
            # Each column travels as one list parameter, zipped back into rows by unnest.
            conn.execute(
                _unnest_insert(table), [list(column) for column in zip(*rows, strict=True)]
            )

    def select_in(
        self, conn: Any, table: str, columns: tuple[str, ...], key: str, ids: Iterable[Any]
    ) -> list[Row]:
        # DuckDB plans a bound IN list as a join over a scan of the table, not as index
        # lookups: each statement of up to MAX_ROWS ids costs about one scan. Beyond one
        # statement's worth, one list parameter joined once is cheaper than several scans
        # (978 ids among 100 000 documents: ~15 ms instead of ~60 ms).
        unique = list(dict.fromkeys(ids))
        if len(unique) <= MAX_ROWS:
            return select_in(conn, table, columns, key, unique)
        return conn.execute(_unnest_select(table, columns, key), [unique]).fetchall()

    def sqlalchemy_engine(self, db: Connections, conn: Any) -> Any:
        """An engine whose connections are cursors of the store's own database instance.

        DuckDB refuses a second connection to an open file from the same process, so the
        engine's connections see every committed write of the store. While one of them is
        open the store keeps the database file, so other processes wait until it is closed.
        """
        from duckdb_engine import ConnectionWrapper
        from sqlalchemy import create_engine, event
        from sqlalchemy.pool import NullPool

        def connect() -> Any:
            pinned, _ = db.pin("open a SQLAlchemy connection")
            try:
                return ConnectionWrapper(pinned.cursor())
            except BaseException:
                db.unpin()
                raise

        def closed(*_: Any) -> None:
            db.unpin()

        # Without pooling, a connection's life is its checkout: the store holds the file
        # exactly while the user has a connection (or session) open.
        engine = create_engine("duckdb://", creator=connect, poolclass=NullPool)
        event.listen(engine.pool, "close", closed)
        event.listen(engine.pool, "close_detached", closed)
        return engine


class DuckDBStore(SqlStore):
    """Metadata store in a DuckDB database file.

    A :class:`SqlStore` with the :class:`DuckDBDialect`, DuckDB's hot tables
    (:class:`DuckDBTables`) and views (:class:`DuckDBViews`). Its
    :meth:`~SqlStore.sqlalchemy_engine` hands out cursors of the store's own database: while
    one is open the store keeps the file, so other processes wait until it is closed.

    Parameters
    ----------
    location : str
        A path (``provenance.duckdb``) or URL (``duckdb:///provenance.duckdb``); parent
        directories are created. A new database gets the current schema; a database written
        by a newer Consist is refused with :class:`SchemaVersionError`.
    lock_timeout : float, optional
        Seconds to wait for another process's lock (default ``$CONSIST_LOCK_TIMEOUT`` or
        10 s). Past it, reads and writes raise :class:`StoreLockedError`.

    Raises
    ------
    StoreError
        If the file cannot be opened (e.g. it is not a DuckDB database).
    """

    def __init__(self, location: str, *, lock_timeout: float | None = None) -> None:
        self.path = database_path(location)
        db = Connections(location, self.path, DuckDBDialect(), lock_timeout=lock_timeout)
        # Several processes share a file only one can hold: lookups read a shared copy of
        # the cache index instead of waiting for the file (see sql/signature_index.py).
        mirror = None
        if self.path != MEMORY:
            mirror = IndexMirror(SignatureIndex(self.path + SUFFIX))
            if not os.path.exists(self.path):  # a new file may reuse a deleted one's inode
                mirror.index.forget_file()
        super().__init__(db, tables=DuckDBTables(db), views=DuckDBViews(db), mirror=mirror)
