"""The SQLite metadata store: the shared qmark SQL of :class:`DbApiStore` on ``sqlite3``.

The database runs in WAL mode with a busy timeout, so several processes can write to one file
(each write waits its turn instead of failing) while readers never block. Reads go through a
second connection, so a cache lookup does not wait for a background flush.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from consist.adapters.stores.sql.dbapi import DbApiStore
from consist.adapters.stores.sql.ops import MEMORY, Row, insert_values
from consist.adapters.stores.sql.ops import database_path as sql_database_path
from consist.adapters.stores.sqlite_tables import SQLiteTables

__all__ = ["SQLiteStore", "database_path"]


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


class SQLiteStore(SQLiteTables, DbApiStore):
    """Metadata store in a SQLite database file (WAL journal, busy timeout).

    Parameters
    ----------
    location : str
        A path (``provenance.sqlite``) or URL (``sqlite:///provenance.sqlite``); parent
        directories are created. A database written by a newer Consist is refused with
        :class:`SchemaVersionError`.
    """

    driver_errors = (sqlite3.Error,)
    lock_conflicts = ("database is locked", "database is busy")

    def __init__(self, location: str, *, lock_timeout: float | None = None) -> None:
        super().__init__(location, lock_timeout=lock_timeout)
        self.path = database_path(location)
        self._open(self.path, "sqlite", self._open_wal)

    def sqlalchemy_engine(self) -> Any:
        """A SQLAlchemy engine over this database file (created on first use)."""
        with self._using("create a SQLAlchemy engine") as conn:
            if self._engine is None:
                from sqlalchemy import create_engine

                if self.path == MEMORY:
                    self._engine = create_engine("sqlite://", creator=lambda: conn)
                else:
                    self._engine = create_engine("sqlite://", creator=self._connect_file)
            return self._engine

    def _connect_file(self, path: str | None = None) -> sqlite3.Connection:
        # SQLite's busy timeout is the bounded wait for another process's write lock.
        conn = sqlite3.connect(
            path or self.path,
            timeout=self.lock_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self.lock_timeout * 1000)}")
        return conn

    def _open_wal(self, path: str) -> sqlite3.Connection:
        conn = self._connect_file(path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _begin(self, conn: Any) -> None:
        # Take the write lock up front: a deferred transaction that upgrades later can fail
        # with "database is locked" instead of waiting out the busy timeout.
        conn.execute("BEGIN IMMEDIATE")

    def _open_reader(self, conn: Any) -> Any:
        # WAL lets a second connection read the last committed state during a write.
        return None if self.path == MEMORY else self._connect_file()

    def _insert(self, conn: Any, table: str, rows: Sequence[Row]) -> None:
        insert_values(conn, table, [_text_values(row) for row in rows])
