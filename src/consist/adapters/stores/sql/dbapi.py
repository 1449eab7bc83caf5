"""A :class:`~consist.core.ports.store.MetadataStore` (and table store) over any qmark
DB-API connection.

:class:`SqlStore` holds every query and write of the metadata store; what differs between
databases is a :class:`~consist.adapters.stores.sql.dialect.Dialect` object, reached through
the store's :class:`~consist.adapters.stores.sql.connection.Connections` (the leased, locked
connection). Hot tables and views are components the store holds and delegates the
:class:`~consist.core.ports.tables.TableStore` methods to. Every public method runs
hand-written SQL on the raw driver connection (SQLAlchemy costs ~10x per statement).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Self

from consist.adapters.stores.sql import statements as sql
from consist.adapters.stores.sql.connection import Connections
from consist.adapters.stores.sql.facets import filter_clause, read_facets
from consist.adapters.stores.sql.hot import HotTableCatalog, ViewBuilder
from consist.adapters.stores.sql.ops import Row, first_row, select_in
from consist.adapters.stores.sql.rows import (
    decode_cache_entry,
    row_to_artifact,
    rows_to_runs,
    ts_in,
)
from consist.adapters.stores.sql.signature_index import IndexMirror
from consist.adapters.stores.sql.writer import write_batch
from consist.core.errors import StoreLockedError, redact
from consist.core.facets import filter_pairs
from consist.core.model import Artifact, Direction, Run, RunArtifacts
from consist.core.ports.store import CacheCandidate, RunQuery, WriteBatch
from consist.core.tables import IngestJob, IngestResult, TableSchema, ViewPlan, ViewSource

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


class SqlStore:
    """Metadata store and table store over a DB-API connection that takes ``?`` parameters.

    Parameters
    ----------
    db : Connections
        The opened database (its dialect, lease and locks).
    tables : HotTableCatalog
        The hot-table component (ingestion, captured schemas, what a view holds), built on
        the same ``db``.
    views : ViewBuilder
        The component building views on the same ``db`` (may be ``tables`` itself).
    """

    def __init__(
        self,
        db: Connections,
        *,
        tables: HotTableCatalog,
        views: ViewBuilder,
        mirror: IndexMirror | None = None,
    ) -> None:
        self.db = db
        self.location = db.location
        self.lock_timeout = db.lock_timeout
        self.tables = tables
        self.views = views
        # A copy of the cache index other processes can read while this one holds the
        # file (stores whose file admits one process at a time; see signature_index).
        self.mirror = mirror
        if mirror is not None:
            if self.held_elsewhere():
                # Checking the copy would mean waiting for the other process's turn; it is
                # trusted once written for this very file (see signature_index).
                return
            try:
                with self.db.using("prepare the shared cache-index copy") as conn:
                    mirror.sync(conn, self.db.dialect.begin)
            except StoreLockedError:  # cannot check the copy now: read the database
                mirror.index.usable = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact(self.location)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def sqlalchemy_engine(self) -> Any:
        """A SQLAlchemy engine over this store's database (created on first use).

        The engine is meant for queries: rows written through it bypass the store's cache
        index. See the dialect's ``sqlalchemy_engine`` for how it shares the database.

        Returns
        -------
        sqlalchemy.engine.Engine
            Disposed when the store is closed.
        """
        return self.db.sqlalchemy_engine()

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
        mirror = self.mirror
        with self.db.using("write a batch of runs, artifacts and links") as conn:
            with self.db.dialect.writing_batch(conn), self.db.transaction(conn):
                change = write_batch(conn, batch, self.db.insert, self.db.select_in)
                ticket = mirror.record(conn, change.obsolete, change.entries) if mirror else None
            if mirror is not None and ticket is not None:
                mirror.publish(conn, ticket)  # before the file is let go

    def workspaces(self) -> list[str]:
        """The registered workspaces (``consist_meta`` keys ``workspace:<run_dir>``)."""
        with self.db.reading("read the registered workspaces") as conn:
            rows = conn.execute(sql.WORKSPACES).fetchall()
        return sorted(row[0].removeprefix(sql.WORKSPACE_PREFIX) for row in rows)

    def add_workspace(self, run_dir: str) -> None:
        """Register ``run_dir`` as a workspace writing to this database (idempotent)."""
        with self.db.using("register the workspace") as conn, self.db.transaction(conn):
            conn.execute(sql.ADD_WORKSPACE, [sql.WORKSPACE_PREFIX + run_dir, "workspace"])

    def held_elsewhere(self) -> bool:
        """Whether another process held the database file when this store opened (only for
        files one process may open at a time: DuckDB)."""
        return self.db.lease.held_elsewhere

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
        rows = self.mirror.find(signature) if self.mirror is not None else None
        if rows is None:
            with self.db.reading("look up the cache") as conn:
                rows = conn.execute(sql.FIND_CACHED, [signature]).fetchall()
        if not rows:
            return None
        _, _, run_json, outputs_json = max(rows, key=lambda r: (ts_in(r[1]), r[0]))
        run, outputs = decode_cache_entry(run_json, outputs_json)
        return CacheCandidate(run=run, outputs=outputs)

    def get_run(self, run_id: str) -> Run | None:
        """The run with ``run_id``, or None."""
        with self.db.reading(f"read run {run_id!r}") as conn:
            row = first_row(conn, sql.GET_RUN, [run_id])
            if row is None:
                return None
            documents = read_facets(conn, [row[_FACET_ID]], self.db.select_in)
        return _runs([row], documents)[0]

    def get_run_artifacts(self, run_id: str) -> RunArtifacts:
        """The input and output artifacts of ``run_id`` by link key (empty if unknown)."""
        result = RunArtifacts()
        with self.db.reading(f"read the artifacts of run {run_id!r}") as conn:
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
        with self.db.reading(f"read artifact {artifact_id!r}") as conn:
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
            conditions.append(sql.OUTPUT_OF)
            params += [creator, creator]
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
        with self.db.reading("find artifacts") as conn:
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
            clauses.append(self.db.dialect.tag_match_sql)
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
        with self.db.reading("query runs") as conn:
            rows = conn.execute(stmt, params).fetchall()
            documents = read_facets(conn, (row[_FACET_ID] for row in rows), self.db.select_in)
        return _runs(rows, documents)

    def close(self) -> None:
        """Release the connection. Idempotent."""
        self.db.close()
        if self.mirror is not None:
            self.mirror.index.close()

    # -- TableStore, by delegation to the components -----------------------------------------

    @property
    def accepts_frames(self) -> bool:
        """Whether :meth:`ingest` takes ``IngestJob.frame`` (else jobs carry ``records``)."""
        return self.tables.accepts_frames

    def ingest(self, job: IngestJob) -> IngestResult:
        """Load ``job``'s rows into its hot table in one transaction (see the port)."""
        return self.tables.ingest(job)

    def validate(self, job: IngestJob) -> None:
        """Raise ``SchemaValidationError`` if ``job``'s data does not fit its model."""
        self.tables.validate(job)

    def ingested_table(self, artifact_id: str) -> str | None:
        """The hot table holding ``artifact_id``'s rows, or None."""
        return self.tables.ingested_table(artifact_id)

    def read_rows(self, table: str, artifact_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """An artifact's hot rows: its own columns (as ingested), in the order ingested."""
        return self.tables.read_rows(table, artifact_id)

    def reads_in_place(self, path: Path) -> bool:
        """Whether the store can read ``path`` by name (else pass its rows)."""
        return self.tables.reads_in_place(path)

    def tables_version(self) -> tuple[int, ...]:
        """A token that changes when artifacts, completed runs or ingestions are added."""
        return self.tables.tables_version()

    def view_sources(self, names: Sequence[str], table: str) -> list[ViewSource]:
        """Parquet/csv outputs of completed runs named by ``names`` (see the port)."""
        return self.tables.view_sources(names, table)

    def table_schema(self, schema_id: str) -> TableSchema | None:
        """A captured schema by id, or None."""
        return self.tables.table_schema(schema_id)

    def schema_of_artifact(self, artifact_id: str) -> TableSchema | None:
        """The schema captured for an artifact, or None."""
        return self.tables.schema_of_artifact(artifact_id)

    def hot_columns(self, table: str) -> list[str] | None:
        """Columns of hot table ``table``, or None if it does not exist."""
        return self.views.hot_columns(table)

    def build_view(self, plan: ViewPlan) -> None:
        """Create or replace the SQL view ``plan.name``."""
        self.views.build_view(plan)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _signatures(conn: Any, run_ids: set[str | None]) -> dict[str, str | None]:
        """Signature of each run in ``run_ids`` (the producers of artifacts)."""
        run_ids.discard(None)
        if not run_ids:
            return {}
        return dict(select_in(conn, "run", ("id", "signature"), "id", run_ids))  # type: ignore[arg-type]
