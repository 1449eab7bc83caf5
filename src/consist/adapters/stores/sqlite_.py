"""The SQLite metadata store: the shared qmark SQL of :class:`SqlStore` on ``sqlite3``, with
:class:`SQLiteDialect` for what SQLite does its own way.

The database runs in WAL mode with a busy timeout, so several processes can write to one file
(each write waits its turn instead of failing) while readers never block. Reads go through a
second connection, so a cache lookup does not wait for a background flush.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from consist.adapters.stores.sql.connection import Connections
from consist.adapters.stores.sql.dbapi import SqlStore
from consist.adapters.stores.sql.dialect import Dialect
from consist.adapters.stores.sql.ops import MEMORY, Row, insert_values
from consist.adapters.stores.sql.ops import database_path as sql_database_path
from consist.adapters.stores.sqlite_tables import SQLiteTables

__all__ = ["SQLiteDialect", "SQLiteStore", "database_path"]


def database_path(location: str) -> str:
    """The file path (or ``":memory:"``) named by a path or a ``sqlite://`` URL
    (``sqlite:///relative.sqlite``, ``sqlite:////absolute/path.sqlite``, ``sqlite://``)."""
    return sql_database_path(
        location, "sqlite", "SQLite store serves sqlite:// URLs and *.sqlite/*.sqlite3/*.db paths"
    )


def _text_values(row: Row) -> Row:
    # sqlite3's implicit datetime adapters are deprecated: store ISO text explicitly, in the
    # form SQLAlchemy's SQLite dialect reads back.
    return tuple(v.isoformat(" ") if isinstance(v, datetime | date) else v for v in row)


def _connect_file(path: str, timeout: float) -> sqlite3.Connection:
    # SQLite's busy timeout is the bounded wait for another process's write lock.
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    return conn


class SQLiteDialect(Dialect):
    """SQLite: WAL mode with a busy timeout, a second connection as reader, ISO timestamps."""

    name = "sqlite"
    driver_errors = (sqlite3.Error,)
    lock_conflicts = ("database is locked", "database is busy")

    def connect(self, path: str, timeout: float) -> sqlite3.Connection:
        conn = _connect_file(path, timeout)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def open_reader(self, conn: Any, path: str, timeout: float) -> Any:
        # WAL lets a second connection read the last committed state during a write.
        return None if path == MEMORY else _connect_file(path, timeout)

    def begin(self, conn: Any) -> None:
        # Take the write lock up front: a deferred transaction that upgrades later can fail
        # with "database is locked" instead of waiting out the busy timeout.
        conn.execute("BEGIN IMMEDIATE")

    def insert(self, conn: Any, table: str, rows: Sequence[Row]) -> None:
        insert_values(conn, table, [_text_values(row) for row in rows])

    def sqlalchemy_engine(self, db: Connections, conn: Any) -> Any:
        """An engine over the database file (an in-memory one shares the store's connection)."""
        from sqlalchemy import create_engine

        if db.path == MEMORY:
            return create_engine("sqlite://", creator=lambda: conn)
        return create_engine("sqlite://", creator=lambda: _connect_file(db.path, db.lock_timeout))


class SQLiteStore(SqlStore):
    """Metadata store in a SQLite database file (WAL journal, busy timeout).

    A :class:`SqlStore` with the :class:`SQLiteDialect` and :class:`SQLiteTables` (hot tables
    and views).

    Parameters
    ----------
    location : str
        A path (``provenance.sqlite``) or URL (``sqlite:///provenance.sqlite``); parent
        directories are created. A database written by a newer Consist is refused with
        :class:`SchemaVersionError`.
    lock_timeout : float, optional
        Seconds to wait for another process's lock (default ``$CONSIST_LOCK_TIMEOUT`` or
        10 s). Past it, reads and writes raise :class:`StoreLockedError`.
    """

    def __init__(self, location: str, *, lock_timeout: float | None = None) -> None:
        self.path = database_path(location)
        db = Connections(location, self.path, SQLiteDialect(), lock_timeout=lock_timeout)
        tables = SQLiteTables(db)
        super().__init__(db, tables=tables, views=tables)
