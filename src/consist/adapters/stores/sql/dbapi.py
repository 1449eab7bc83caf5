"""A :class:`~consist.core.ports.store.MetadataStore` over any qmark DB-API connection.

DuckDB and SQLite stores subclass :class:`DbApiStore` and differ only in how they connect,
lock and spell a few dialect-specific fragments. Every public method runs hand-written SQL on
the raw driver connection (SQLAlchemy costs ~10x per statement). Writes hold a re-entrant
lock on the connection, because the library's background flusher calls :meth:`apply` while
the main thread looks runs up; drivers that can read through a second connection of the same
database (DuckDB cursors) serve reads there, so a cache lookup never waits for a flush.

Every use of the connection goes through a :class:`~consist.adapters.stores.sql.lease.Lease`:
for a database one process may open at a time (DuckDB) it holds the file only while in use
and hands it to other processes that ask; a lock that outlasts the timeout becomes
:class:`StoreLockedError`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Self

from consist.adapters.stores.sql import lease
from consist.adapters.stores.sql import statements as sql
from consist.adapters.stores.sql.facets import filter_clause, read_facets
from consist.adapters.stores.sql.ops import MEMORY, Row, first_row, insert_values, select_in
from consist.adapters.stores.sql.rows import (
    decode_cache_entry,
    row_to_artifact,
    rows_to_runs,
    ts_in,
)
from consist.adapters.stores.sql.schema import ensure_schema
from consist.adapters.stores.sql.writer import write_batch
from consist.core.errors import StoreError, StoreLockedError, redact
from consist.core.facets import filter_pairs
from consist.core.model import Artifact, Direction, Run, RunArtifacts
from consist.core.ports.store import CacheCandidate, RunQuery, WriteBatch

_PRODUCER = sql.ARTIFACT_COLUMNS.index("run_id")
_FACET_ID = sql.RUN_COLUMNS.index("facet_id")


def _runs(rows: Sequence[Row], documents: dict[str, str]) -> list[Run]:
    """Runs of ``rows`` with their facets from ``documents`` (``facet id -> facet_json``).

    Each run decodes its own copy of a shared document, so callers may mutate it; the JSON is
    decoded outside the connection lock.
    """
    runs = rows_to_runs(list(rows))
    for run, row in zip(runs, rows, strict=True):
        text = documents.get(row[_FACET_ID])  # type: ignore[arg-type]
        if text is not None:
            run.facet = json.loads(text)
    return runs


class DbApiStore:
    """Metadata store over a DB-API connection that takes ``?`` parameters.

    Subclasses call :meth:`_open` with their driver's connect function; they set
    :attr:`driver_errors` (translated into :class:`StoreError`), :attr:`lock_conflicts`
    and :attr:`tag_match_sql`, and :attr:`exclusive_file` when their database admits one
    process at a time.

    Parameters
    ----------
    location : str
        Where the database lives, as the user gave it; named in every error message.
    lock_timeout : float, optional
        Seconds to wait for another process's lock (default ``$CONSIST_LOCK_TIMEOUT`` or
        10 s). Past it, reads and writes raise :class:`StoreLockedError`.
    """

    #: Exception classes of the driver; they never reach callers untranslated.
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    #: Fragments of driver messages that mean another process holds the database.
    lock_conflicts: ClassVar[tuple[str, ...]] = ()
    #: Whether one process at a time may open the database file (DuckDB): the store then
    #: holds the file only while using it and lets go when another process asks.
    exclusive_file: ClassVar[bool] = False
    #: Condition that is true when ``run.tags`` (a JSON array) holds the bound tag exactly.
    tag_match_sql: ClassVar[str] = (
        "EXISTS (SELECT 1 FROM json_each(run.tags) WHERE json_each.value = ?)"
    )

    def __init__(self, location: str, *, lock_timeout: float | None = None) -> None:
        self.location = location
        self.lock_timeout = lease.lock_timeout(lock_timeout)
        self._lock = threading.RLock()
        self._read_lock = threading.Lock()
        self._engine: Any = None
        self._schema_ready = False
        self._lease: lease.Lease | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact(self.location)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------

    def _open(self, path: str, dialect: str, connect: Callable[[str], Any]) -> None:
        """Open ``path`` (creating its folder) and bring its schema up to date.

        A database another process holds past the lock timeout is opened on first use
        instead; any other failure raises (and releases what was opened).
        """
        shared = self.exclusive_file and path != MEMORY
        self._lease = lease.Lease(
            lambda: self._connect(path, dialect, connect),
            self._close_handle,
            is_busy=self._is_busy,
            timeout=self.lock_timeout,
            gate=lease.Gate(f"{path}.consist-lock") if shared else None,
        )
        try:
            self._lease.start()
        except BaseException:
            self._lease.close()
            raise

    def _connect(self, path: str, dialect: str, connect: Callable[[str], Any]) -> Any:
        """``(connection, reader or None)`` of ``path``, its schema checked on first use.

        A lock conflict is raised as the driver's error, for the lease to retry; others
        become :class:`StoreError`. On a schema failure the connection is closed first, so
        a refused database (e.g. a newer schema) is released.
        """
        try:
            if path != MEMORY:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = connect(path)
        except self.driver_errors as exc:
            if self._is_busy(exc):
                raise
            raise self._error("open the database", exc) from exc
        except OSError as exc:
            raise self._error("open the database", exc) from exc
        if not self._schema_ready:
            try:
                ensure_schema(conn, dialect, self.location)
            except (*self.driver_errors, ValueError) as exc:  # ValueError: unreadable version
                conn.close()
                if self._is_busy(exc):
                    raise
                raise self._error("prepare the schema", exc) from exc
            except BaseException:  # SchemaVersionError among others
                conn.close()
                raise
            self._schema_ready = True
        return conn, self._open_reader(conn)

    def _close_handle(self, handle: tuple[Any, Any]) -> None:
        conn, reader = handle
        if reader is not None:
            reader.close()
        conn.close()

    def _open_reader(self, conn: Any) -> Any:
        """A second connection for reads that may run during a write, or None to share."""
        return None

    def _is_busy(self, exc: BaseException) -> bool:
        """Whether ``exc`` says another process holds the database."""
        text = str(exc)
        return isinstance(exc, self.driver_errors) and any(
            fragment in text for fragment in self.lock_conflicts
        )

    def _error(self, operation: str, exc: BaseException) -> StoreError:
        if self._is_busy(exc):
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

    def _pin(self, operation: str) -> tuple[Any, Any]:
        """The open ``(connection, reader)``, held until :meth:`_unpin`."""
        assert self._lease is not None, "subclasses call _open in __init__"
        try:
            handle = self._lease.pin()
        except lease.Busy as busy:
            raise self._locked(operation, busy.detail, busy.waited) from None
        if handle is None:
            raise StoreError(
                f"metadata store {redact(self.location)!r} is closed; cannot {operation}. "
                "Open a new tracker (or store) on the database."
            )
        return handle  # type: ignore[no-any-return]

    def _unpin(self) -> None:
        assert self._lease is not None
        self._lease.unpin()

    @contextmanager
    def _using(self, operation: str) -> Iterator[Any]:
        """The connection, locked, with driver errors translated into :class:`StoreError`."""
        with self._leased(operation, reader=False) as conn:
            yield conn

    @contextmanager
    def _reading(self, operation: str) -> Iterator[Any]:
        """A connection for reads: the reader if the driver has one, else the main one."""
        with self._leased(operation, reader=True) as conn:
            yield conn

    @contextmanager
    def _leased(self, operation: str, *, reader: bool) -> Iterator[Any]:
        conn, second = self._pin(operation)
        try:
            lock = self._lock
            if reader and second is not None:
                conn, lock = second, self._read_lock
            with lock:
                try:
                    yield conn
                except self.driver_errors as exc:
                    raise self._error(operation, exc) from exc
        finally:
            self._unpin()

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN TRANSACTION")

    def _commit(self, conn: Any) -> None:
        conn.execute("COMMIT")

    def _rollback(self, conn: Any) -> None:
        # The original failure is what the caller needs to see; a rollback that fails
        # (e.g. because the driver already aborted the transaction) adds nothing.
        with suppress(*self.driver_errors):
            conn.execute("ROLLBACK")

    @contextmanager
    def _transaction(self, conn: Any) -> Iterator[None]:
        """One transaction on ``conn``: committed if the block succeeds, else rolled back."""
        self._begin(conn)
        try:
            yield
            self._commit(conn)
        except BaseException:
            self._rollback(conn)
            raise

    def _insert(self, conn: Any, table: str, rows: Sequence[Row]) -> None:
        """Insert new rows; drivers with a faster bulk path override this."""
        insert_values(conn, table, rows)

    def _select_in(
        self, conn: Any, table: str, columns: tuple[str, ...], key: str, ids: Iterable[Any]
    ) -> list[Row]:
        """Rows whose ``key`` is one of ``ids``; drivers with a faster path for long lists
        override this (used for facet documents)."""
        return select_in(conn, table, columns, key, ids)

    # -- MetadataStore ---------------------------------------------------------------------

    def apply(self, batch: WriteBatch) -> None:
        """Write every row of ``batch`` in one transaction (all or nothing).

        Parameters
        ----------
        batch : WriteBatch
            Runs are upserted (the last state of a run id wins), artifacts and links are
            inserted unless present (an artifact met again with an earlier ``created_at``
            takes that time), unlinks are removed. An empty batch does nothing.
        """
        if not batch:
            return
        with (
            self._using("write a batch of runs, artifacts and links") as conn,
            self._transaction(conn),
        ):
            write_batch(conn, batch, self._insert, self._select_in)

    def workspaces(self) -> list[str]:
        """The registered workspaces (``consist_meta`` keys ``workspace:<run_dir>``)."""
        with self._reading("read the registered workspaces") as conn:
            rows = conn.execute(sql.WORKSPACES).fetchall()
        return sorted(row[0].removeprefix(sql.WORKSPACE_PREFIX) for row in rows)

    def add_workspace(self, run_dir: str) -> None:
        """Register ``run_dir`` as a workspace writing to this database (idempotent)."""
        with self._using("register the workspace") as conn, self._transaction(conn):
            conn.execute(sql.ADD_WORKSPACE, [sql.WORKSPACE_PREFIX + run_dir, "workspace"])

    def find_cached(self, signature: str) -> CacheCandidate | None:
        """The newest completed, executed run with ``signature`` and its outputs by key.

        The run comes from the cache index's snapshot (one indexed read), which holds no
        facet document: ``run.facet`` is None here; :meth:`get_run` has it.

        Parameters
        ----------
        signature : str
            The run signature to look up.

        Returns
        -------
        CacheCandidate or None
            None when no completed run that was not itself a cache hit has ``signature``.
        """
        with self._reading("look up the cache") as conn:
            rows = conn.execute(sql.FIND_CACHED, [signature]).fetchall()
        if not rows:
            return None
        _, _, run_json, outputs_json = max(rows, key=lambda r: (ts_in(r[1]), r[0]))
        run, outputs = decode_cache_entry(run_json, outputs_json)
        return CacheCandidate(run=run, outputs=outputs)

    def get_run(self, run_id: str) -> Run | None:
        """The run with ``run_id``, or None."""
        with self._reading(f"read run {run_id!r}") as conn:
            row = first_row(conn, sql.GET_RUN, [run_id])
            if row is None:
                return None
            documents = read_facets(conn, [row[_FACET_ID]], self._select_in)
        return _runs([row], documents)[0]

    def get_run_artifacts(self, run_id: str) -> RunArtifacts:
        """The input and output artifacts of ``run_id`` by link key (empty if unknown)."""
        result = RunArtifacts()
        with self._reading(f"read the artifacts of run {run_id!r}") as conn:
            links = conn.execute(sql.GET_LINKS_OF_RUN, [run_id]).fetchall()
            if not links:
                return result
            rows = select_in(
                conn, "artifact", sql.ARTIFACT_COLUMNS, "id", [link[2] for link in links]
            )
            producers = self._signatures(conn, {row[_PRODUCER] for row in rows})
        artifacts = {row[0]: row_to_artifact(row, producers.get(row[_PRODUCER])) for row in rows}
        for direction, key, artifact_id in links:
            artifact = artifacts.get(artifact_id)
            if artifact is None:
                continue  # a link recorded before (or without) its artifact row
            side = result.inputs if direction == Direction.INPUT.value else result.outputs
            side[key] = artifact
        return result

    def get_artifact(self, artifact_id: str) -> Artifact | None:
        """The artifact with ``artifact_id`` (with its producer's signature), or None."""
        with self._reading(f"read artifact {artifact_id!r}") as conn:
            row = first_row(conn, sql.GET_ARTIFACT, [artifact_id])
            if row is None:
                return None
            producer = None
            if row[_PRODUCER] is not None:
                found = first_row(conn, sql.GET_SIGNATURE, [row[_PRODUCER]])
                producer = None if found is None else found[0]
        return row_to_artifact(row, producer)

    def find_artifacts(
        self,
        *,
        key: str | None = None,
        creator: str | None = None,
        consumer: str | None = None,
        limit: int | None = None,
    ) -> list[Artifact]:
        """Artifacts matching every given filter, newest first (see the port)."""
        conditions: list[str] = []
        params: list[Any] = []
        if key is not None:
            conditions.append("artifact.key = ?")
            params.append(key)
        if creator is not None:
            conditions.append("artifact.run_id = ?")
            params.append(creator)
        if consumer is not None:
            conditions.append(sql.CONSUMED_BY)
            params.append(consumer)
        statement = sql.FIND_ARTIFACTS
        if conditions:
            statement += " WHERE " + " AND ".join(conditions)
        statement += " ORDER BY artifact.created_at DESC, artifact.id DESC"
        if limit is not None:
            statement += " LIMIT ?"
            params.append(int(limit))
        with self._reading("find artifacts") as conn:
            rows = conn.execute(statement, params).fetchall()
            producers = self._signatures(conn, {row[_PRODUCER] for row in rows})
        return [row_to_artifact(row, producers.get(row[_PRODUCER])) for row in rows]

    def find_runs(self, query: RunQuery) -> list[Run]:
        """Runs matching every filter of ``query``, newest first.

        Parameters
        ----------
        query : RunQuery
            ``None`` fields match anything; ``tags`` must all be present as exact elements;
            each ``facet`` pair must equal a flattened leaf of the run's facet, compared by
            type (``1`` equals ``1.0``, ``True`` equals neither, ``None`` matches a null).
        """
        clauses: list[str] = []
        params: list[Any] = []
        for name, condition in sql.RUN_FILTERS.items():
            value = getattr(query, name)
            if value is not None:
                clauses.append(condition)
                params.append(value.value if isinstance(value, Enum) else value)
        for tag in dict.fromkeys(query.tags):
            clauses.append(self.tag_match_sql)
            params.append(tag)
        for key, value in filter_pairs(query.facet):
            condition, bound = filter_clause(key, value)
            clauses.append(condition)
            params.extend(bound)
        stmt = sql.FIND_RUNS_HEAD
        if clauses:
            stmt += " WHERE " + " AND ".join(clauses)
        stmt += sql.FIND_RUNS_ORDER
        if query.limit is not None:
            stmt += " LIMIT ?"
            params.append(query.limit)
        with self._reading("query runs") as conn:
            rows = conn.execute(stmt, params).fetchall()
            documents = read_facets(conn, (row[_FACET_ID] for row in rows), self._select_in)
        return _runs(rows, documents)

    def close(self) -> None:
        """Release the connection. Idempotent."""
        with self._lock, self._read_lock:
            engine, self._engine = self._engine, None
            if engine is not None:
                engine.dispose()
            if self._lease is None:
                return
            try:
                self._lease.close()
            except self.driver_errors as exc:
                raise self._error("close the database", exc) from exc

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _signatures(conn: Any, run_ids: set[str | None]) -> dict[str, str | None]:
        """Signature of each run in ``run_ids`` (the producers of artifacts)."""
        run_ids.discard(None)
        if not run_ids:
            return {}
        return dict(select_in(conn, "run", ("id", "signature"), "id", run_ids))  # type: ignore[arg-type]
