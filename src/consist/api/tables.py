"""Ingestion into hot tables, rebuilding files from them, and exporting captured schemas.

:class:`HotTables` is the service a ``Tracker`` holds for this: it backs ``tracker.ingest``,
``tracker.export_schema_sqlmodel``, the database fallback of loads and the rebuilds a
cache hit's hydration asks for.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consist.api.schemas import model_schema, table_name
from consist.core.errors import (
    ArgumentError,
    ArgumentTypeError,
    ConsistError,
    MissingBytesError,
    ReadOnlyError,
    RunNotFoundError,
    SchemaNotFoundError,
    redact,
)
from consist.core.model import Artifact, Run
from consist.core.ports.tables import TableStore
from consist.core.tables import (
    INGEST_DRIVERS,
    VIEW_DRIVERS,
    IngestJob,
    IngestResult,
    Provenance,
    TableSchema,
    ViewSource,
    check_table_name,
)
from consist.core.workspace import absolute

if TYPE_CHECKING:
    from consist.api.artifacts import ArtifactAccess
    from consist.api.frames import FrameIO
    from consist.api.queries import RunQueries
    from consist.core.ports.store import MetadataStore
    from consist.core.session import RunSession


def _provenance(artifact_id: str, run: Run | None) -> Provenance:
    if run is None:
        return Provenance(artifact_id, None)
    return Provenance(artifact_id, run.id, run.parent_run_id, run.year, run.iteration)


class HotTables:
    """``ingest``, ``export_schema_sqlmodel`` and the database fallback of loads.

    Parameters
    ----------
    store
        The metadata store; only a store with tables (a ``TableStore``) can ingest.
    db_path
        Where the store is (named in errors).
    frames
        Frame IO: rows in and out of DataFrames and files.
    access
        Artifact access: attaching artifacts and finding their bytes.
    queries
        Run and artifact lookups (an artifact by key or id, the run that produced it).
    flush
        Writes queued records to the store (before schemas are read).
    session
        The run open on the tracker, or None (its run stamps ingested rows).
    consist_dir
        This workspace's ``.consist`` folder (files rebuilt for loads go to ``rebuilt/``).
    read_only
        Refuse to ingest (``ReadOnlyError``).
    """

    def __init__(
        self,
        store: MetadataStore,
        db_path: str,
        frames: FrameIO,
        access: ArtifactAccess,
        queries: RunQueries,
        flush: Callable[[], None],
        session: Callable[[], RunSession | None],
        consist_dir: Path,
        read_only: bool,
    ) -> None:
        self._store = store
        self.db_path = db_path
        self._frames = frames
        self._access = access
        self._queries = queries
        self._flush = flush
        self._current_session = session
        self._consist_dir = consist_dir
        self.read_only = read_only

    def table_store(self, what: str) -> TableStore:
        store = self._store
        if not isinstance(store, TableStore):
            raise ConsistError(
                f"the metadata store at {redact(self.db_path)!r} cannot {what}: it has no tables. "
                "Use a DuckDB database (db_path='....duckdb')."
            )
        return store

    # -- ingestion -------------------------------------------------------------------------
    @property
    def ingests(self) -> bool:
        """Whether the store has tables (ingestion and views work)."""
        return isinstance(self._store, TableStore)

    def _as_frame(self, data: Any) -> Any:
        """Rows as something a store can read: frames pass through, row dicts are framed."""
        if isinstance(data, dict):
            raise ArgumentTypeError(
                "data=... takes a DataFrame or a list of row dicts, not one dict."
            )
        if not isinstance(data, list | tuple):
            if not (self._frames.is_frame(data) or type(data).__module__.startswith("pyarrow")):
                raise ArgumentTypeError(
                    f"data={data!r:.80} is a {type(data).__name__}; give a DataFrame (pandas "
                    "or polars), an Arrow table, or a list of row dicts."
                )
            if self._frames.is_frame(data) and not self._frames.is_table(data):
                raise ArgumentTypeError(
                    f"data= is a {type(data).__name__}, which has no rows to put in a table; "
                    "give a DataFrame (pandas or polars), an Arrow table, or row dicts."
                )
            return self._frames.collect(data)  # a lazy polars query runs here, once
        if not all(isinstance(row, dict) for row in data):
            raise ArgumentTypeError("data=... as a list must hold one dict per row.")
        names = list(dict.fromkeys(key for row in data for key in row))
        return self._frames.from_records(names, [tuple(r.get(n) for n in names) for r in data])

    def check_fits(self, data: Any, schema: Any) -> None:
        """Refuse rows that do not fit ``schema`` before anything about them is recorded."""
        tables = self.table_store("check data")
        job = self._job(
            tables, table_name(schema), Provenance("", None), model_schema(schema), data
        )
        tables.validate(job)

    def _job(
        self,
        tables: TableStore,
        table: str,
        provenance: Provenance,
        model: TableSchema | None,
        data: Any = None,
        path: Path | None = None,
        driver: str | None = None,
    ) -> IngestJob:
        """An ingestion job in the form the store reads best: the file by name, a frame it
        scans, or plain rows."""
        if data is None and path is not None:
            if tables.reads_in_place(path):
                return IngestJob(table, provenance, path=path, driver=driver, model=model)
            data = self._frames.read(path, driver or "")
        frame = self._as_frame(data)
        if tables.accepts_frames:
            return IngestJob(table, provenance, frame=frame, model=model)
        return IngestJob(table, provenance, records=self._frames.to_records(frame), model=model)

    def ingest(
        self, artifact: Artifact | str, data: Any = None, schema: Any = None
    ) -> IngestResult:
        """Load a tabular artifact's rows into the database (its hot table).

        Parameters
        ----------
        artifact
            The artifact (or its key or id). Its csv, parquet or json file is read in bulk by
            the database unless ``data`` is given.
        data
            The rows instead of the file: a DataFrame (pandas or polars), an Arrow table, or a
            list of row dicts.
        schema
            A SQLModel table class. Its ``__tablename__`` names the table (default: the
            artifact key) and the data must fit it: a column the model does not declare, or
            values that cannot be cast to its types, raise ``SchemaValidationError`` naming
            them, and nothing is written.

        Returns
        -------
        IngestResult
            ``table``, ``rows`` and ``already`` (True when this artifact was ingested into
            the table before; ingesting again never duplicates rows).

        Rows carry ``consist_run_id`` etc. of the open run, or outside any run, of the run
        that produced the artifact.
        """
        tables = self.table_store("ingest data")
        if self.read_only:
            raise ReadOnlyError(
                "this tracker was opened with read_only=True, so it cannot ingest; open "
                "Tracker(..., read_only=False)."
            )
        artifact = self._artifact(artifact)
        table = table_name(schema) if schema is not None else check_table_name(artifact.key)
        model = model_schema(schema) if schema is not None else None
        session = self._current_session()
        run = session.run if session is not None else self._producer(artifact)
        provenance = _provenance(artifact.id, run)
        if data is not None:
            return tables.ingest(self._job(tables, table, provenance, model, data))
        path, driver = self._readable(artifact)
        return tables.ingest(self._job(tables, table, provenance, model, path=path, driver=driver))

    def ingest_source(self, source: ViewSource, table: str, schema: Any) -> None:
        """Ingest a view's file that the store cannot read in place (rows of its producer)."""
        assert source.path is not None
        tables = self.table_store("ingest data")
        model = model_schema(schema)
        tables.ingest(
            self._job(
                tables, table, source.provenance, model, path=source.path, driver=source.driver
            )
        )

    def _artifact(self, value: Artifact | str) -> Artifact:
        if isinstance(value, Artifact):
            return self._access.attach(value)
        if isinstance(value, str):
            return self._queries.get_artifact(value)
        raise ArgumentTypeError(
            f"ingest() takes an Artifact (or its key or id), got {type(value).__name__} "
            f"({value!r:.80})."
        )

    def _producer(self, artifact: Artifact) -> Run | None:
        if artifact.run_id is None:
            return None
        try:
            return self._queries.get_run(artifact.run_id)
        except RunNotFoundError:
            return None

    def _readable(self, artifact: Artifact) -> tuple[Path, str]:
        driver = artifact.driver
        if driver not in INGEST_DRIVERS:
            raise ArgumentError(
                f"artifact {artifact.key!r} has driver {driver!r}; ingest reads "
                f"{', '.join(INGEST_DRIVERS)} files, or pass data=... with its rows."
            )
        path = self._access.locate(artifact)
        if path is None:
            raise MissingBytesError(artifact.key, artifact.uri, self._access.local_path(artifact))
        return path, driver

    # -- rows standing in for missing files ------------------------------------------------
    def rebuild_for_load(self, artifact: Artifact, db_fallback: str) -> Path | None:
        """For a load whose file is gone: a copy rebuilt from ingested rows, if allowed."""
        if db_fallback == "never" or artifact.driver not in VIEW_DRIVERS:
            return None
        if db_fallback == "inputs-only":
            session = self._current_session()
            if session is None or artifact not in session.inputs.values():
                return None
        dest = self._consist_dir / "rebuilt" / f"{artifact.id}.{artifact.driver}"
        if dest.exists() or self.rebuild_from_rows(artifact, dest):
            return dest
        return None

    def rebuild_from_rows(self, artifact: Artifact, dest: Path) -> bool:
        """Write ``artifact``'s ingested rows to ``dest`` as its driver; False if it was
        never ingested (or the store has no tables)."""
        store = self._store
        if not isinstance(store, TableStore) or artifact.driver not in VIEW_DRIVERS:
            return False
        table = store.ingested_table(artifact.id)
        if table is None:
            return False
        names, rows = store.read_rows(table, artifact.id)
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.partial")
        self._frames.write(self._frames.from_records(names, rows), partial, artifact.driver)
        os.replace(partial, dest)
        return True

    def is_rebuildable(self, artifact: Artifact) -> bool:
        """Whether ``artifact``'s file can be rebuilt from its ingested rows."""
        store = self._store
        return (
            isinstance(store, TableStore)
            and artifact.driver in VIEW_DRIVERS
            and store.ingested_table(artifact.id) is not None
        )

    # -- schema export -----------------------------------------------------------------------
    def export_schema_sqlmodel(
        self,
        artifact_id: str | None = None,
        schema_id: str | None = None,
        class_name: str | None = None,
        table_name: str | None = None,
        out_path: str | os.PathLike[str] | None = None,
    ) -> str:
        """Render a captured schema as an editable SQLModel class (Python source).

        Parameters
        ----------
        artifact_id, schema_id
            Exactly one: the artifact whose captured schema to export (by id or key), or a
            schema id.
        class_name, table_name
            Default to the artifact key in CapWords and as is.
        out_path
            Also write the source to this file.
        """
        if (artifact_id is None) == (schema_id is None):
            raise ArgumentError(
                "export_schema_sqlmodel() takes exactly one of artifact_id=... or schema_id=...."
            )
        tables = self.table_store("export schemas")
        self._flush()
        name = "table"
        if artifact_id is not None:
            artifact = self._artifact(artifact_id)
            schema = tables.schema_of_artifact(artifact.id)
            name, source = artifact.key, f"artifact {artifact.key!r} ({artifact.id})"
            if schema is None:
                raise SchemaNotFoundError(
                    f"no schema was captured for artifact {artifact.key!r}; ingest it "
                    "(tracker.ingest) or log it as a csv/parquet output."
                )
        else:
            assert schema_id is not None
            schema = tables.table_schema(schema_id)
            source = f"schema {schema_id}"
            if schema is None:
                raise SchemaNotFoundError(
                    f"no captured schema has id {schema_id!r}; schema ids are in the "
                    "artifacts' meta['schema_id']."
                )
        from consist.core.schema_export import render_sqlmodel

        table = table_name or name
        code = render_sqlmodel(
            schema,
            class_name=class_name or _class_name(table),
            table_name=table,
            source=source,
        )
        if out_path is not None:
            target = absolute(out_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(code, encoding="utf-8")
        return code


def _class_name(table: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in table).split()
    return "".join(w[:1].upper() + w[1:] for w in words) or "Table"
