"""The leased, locked connection of a SQL store, shared by the store and its table components.

Every use of the connection goes through a :class:`~consist.adapters.stores.sql.lease.Lease`:
for a database one process may open at a time (DuckDB) it holds the file only while in use
and hands it to other processes that ask; a lock that outlasts the timeout becomes
:class:`StoreLockedError`. Writes hold a re-entrant lock on the connection, because the
library's background flusher writes while the main thread looks runs up; drivers that can
read through a second connection of the same database (DuckDB cursors, SQLite in WAL mode)
serve reads there, so a cache lookup never waits for a flush.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any

from consist.adapters.stores.sql import lease
from consist.adapters.stores.sql.dialect import Dialect
from consist.adapters.stores.sql.ops import MEMORY, Row
from consist.adapters.stores.sql.schema import ensure_schema
from consist.core.errors import StoreError, StoreLockedError, redact


class Connections:
    """The connection (and reader) of one database, opened on construction.

    Parameters
    ----------
    location : str
        Where the database lives, as the user gave it; named in every error message.
    path : str
        The file to open (or ``":memory:"``); its folder is created.
    dialect : Dialect
        How to connect, lock and write.
    lock_timeout : float, optional
        Seconds to wait for another process's lock (default ``$CONSIST_LOCK_TIMEOUT`` or
        10 s). Past it, reads and writes raise :class:`StoreLockedError`.

    A database another process holds past the lock timeout is opened on first use instead;
    any other failure raises (and releases what was opened).
    """

    def __init__(
        self, location: str, path: str, dialect: Dialect, *, lock_timeout: float | None = None
    ) -> None:
        self.location = location
        self.path = path
        self.dialect = dialect
        self.lock_timeout = lease.lock_timeout(lock_timeout)
        self.lock = threading.RLock()
        self._read_lock = threading.Lock()
        self._engine: Any = None
        self._schema_ready = False
        shared = dialect.exclusive_file and path != MEMORY
        self.lease = lease.Lease(
            self._connect,
            _close_handle,
            is_busy=dialect.is_busy,
            timeout=self.lock_timeout,
            gate=lease.Gate(f"{path}.consist-lock") if shared else None,
        )
        try:
            self.lease.start()
        except BaseException:
            self.lease.close()
            raise

    def _connect(self) -> tuple[Any, Any]:
        """``(connection, reader or None)``, the schema checked on first use.

        A lock conflict is raised as the driver's error, for the lease to retry; others
        become :class:`StoreError`. On a schema failure the connection is closed first, so
        a refused database (e.g. a newer schema) is released.
        """
        dialect, path = self.dialect, self.path
        try:
            if dialect.file_based and path != MEMORY:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = dialect.connect(path, self.lock_timeout)
        except dialect.driver_errors as exc:
            if dialect.is_busy(exc):
                raise
            raise self.error("open the database", exc) from exc
        except OSError as exc:
            raise self.error("open the database", exc) from exc
        if not self._schema_ready:
            try:
                ensure_schema(conn, dialect.name, self.location)
            except dialect.driver_errors + (ValueError,) as exc:  # ValueError: unreadable version
                conn.close()
                if dialect.is_busy(exc):
                    raise
                raise self.error("prepare the schema", exc) from exc
            except BaseException:  # SchemaVersionError among others
                conn.close()
                raise
            self._schema_ready = True
        return conn, dialect.open_reader(conn, path, self.lock_timeout)

    # -- errors ------------------------------------------------------------------------------

    def error(self, operation: str, exc: BaseException) -> StoreError:
        """``exc`` of the driver as a :class:`StoreError` (or :class:`StoreLockedError`)."""
        if self.dialect.is_busy(exc):
            return self._locked(operation, exc, self.lock_timeout)
        return StoreError(f"metadata store {redact(self.location)!r}: could not {operation}: {exc}")

    def _locked(self, operation: str, detail: object, waited: float) -> StoreLockedError:
        return StoreLockedError(
            f"metadata store {redact(self.location)!r} is held by another process; could not "
            f"{operation} within {waited:g} s ({detail}). Steps still complete: their records "
            "stay in their run snapshots and are written once the database is free. To wait "
            f"longer, set {lease.LOCK_TIMEOUT_ENV}=<seconds>; or close the other program's "
            "connection."
        )

    # -- using the connection ----------------------------------------------------------------

    def pin(self, operation: str) -> tuple[Any, Any]:
        """The open ``(connection, reader)``, held until :meth:`unpin`."""
        try:
            handle = self.lease.pin()
        except lease.Busy as busy:
            raise self._locked(operation, busy.detail, busy.waited) from None
        if handle is None:
            raise StoreError(
                f"metadata store {redact(self.location)!r} is closed; cannot {operation}. "
                "Open a new tracker (or store) on the database."
            )
        return handle  # type: ignore[no-any-return]

    def unpin(self) -> None:
        self.lease.unpin()

    @contextmanager
    def using(self, operation: str) -> Iterator[Any]:
        """The connection, locked, with driver errors translated into :class:`StoreError`."""
        with self._leased(operation, reader=False) as conn:
            yield conn

    @contextmanager
    def reading(self, operation: str) -> Iterator[Any]:
        """A connection for reads: the reader if the driver has one, else the main one."""
        with self._leased(operation, reader=True) as conn:
            yield conn

    @contextmanager
    def _leased(self, operation: str, *, reader: bool) -> Iterator[Any]:
        conn, second = self.pin(operation)
        try:
            lock: AbstractContextManager[Any] = self.lock
            if reader and second is not None:
                conn, lock = second, self._read_lock
            with lock:
                try:
                    yield conn
                except self.dialect.driver_errors as exc:
                    raise self.error(operation, exc) from exc
        finally:
            self.lease.unpin()

    @contextmanager
    def transaction(self, conn: Any) -> Iterator[None]:
        """One transaction on ``conn``: committed if the block succeeds, else rolled back."""
        self.dialect.begin(conn)
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            # The original failure is what the caller needs to see; a rollback that fails
            # (e.g. because the driver already aborted the transaction) adds nothing.
            with suppress(*self.dialect.driver_errors):
                conn.execute("ROLLBACK")
            raise

    def insert(self, conn: Any, table: str, rows: Sequence[Row]) -> None:
        """Insert new rows the dialect's fastest way."""
        self.dialect.insert(conn, table, rows)

    def select_in(
        self, conn: Any, table: str, columns: tuple[str, ...], key: str, ids: Iterable[Any]
    ) -> list[Row]:
        """Rows whose ``key`` is one of ``ids``, the dialect's fastest way."""
        return self.dialect.select_in(conn, table, columns, key, ids)

    def sqlalchemy_engine(self) -> Any:
        """The dialect's SQLAlchemy engine over this database (created on first use)."""
        with self.using("create a SQLAlchemy engine") as conn:
            if self._engine is None:
                self._engine = self.dialect.sqlalchemy_engine(self, conn)
            return self._engine

    def close(self) -> None:
        """Dispose of the engine and release the connection. Idempotent."""
        with self.lock, self._read_lock:
            engine, self._engine = self._engine, None
            if engine is not None:
                engine.dispose()
            try:
                self.lease.close()
            except self.dialect.driver_errors as exc:
                raise self.error("close the database", exc) from exc


def _close_handle(handle: tuple[Any, Any]) -> None:
    conn, reader = handle
    if reader is not None:
        reader.close()
    conn.close()
