"""A core-only fake of the table capability (:class:`~consist.core.ports.tables.TableStore`).

:class:`InMemoryTableStore` is an :class:`~consist.testing.fakes.InMemoryStore` that also
keeps hot tables, ingestion records and captured schemas in dicts, and passes
:class:`consist.testing.contracts.tables.TableStoreContract` like the SQL stores do.

Known gaps, by design (this module may import only ``consist.core`` and the stdlib):

* Jobs must carry ``records``: ``accepts_frames`` is False and a job with only a ``path``
  (a parquet/csv/json file) or a ``frame`` is refused with ``ValueError``, as the SQLite
  store does. :meth:`~InMemoryTableStore.reads_in_place` is always False, so
  :func:`~consist.core.tables.plan_view` asks for every file to be ingested first.
* There is no SQL: :meth:`~InMemoryTableStore.build_view` records the
  :class:`~consist.core.tables.ViewPlan` (see :attr:`~InMemoryTableStore.views`) and
  :meth:`~InMemoryTableStore.view_rows` evaluates it over the hot rows in Python. A plan that
  reads ``files`` in place is refused with ``NotImplementedError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consist.core.errors import SchemaValidationError
from consist.core.model import RunStatus
from consist.core.ports.store import WriteBatch
from consist.core.tables import (
    ARTIFACT_ID,
    SCHEMA_COLUMNS,
    SCHEMA_ID,
    SYSTEM_COLUMNS,
    SYSTEM_NAMES,
    VIEW_DRIVERS,
    Column,
    IngestJob,
    IngestResult,
    Provenance,
    TableSchema,
    ViewPlan,
    ViewSource,
    check_table_name,
    schema_problems,
)
from consist.testing.fakes import InMemoryStore

__all__ = ["InMemoryTableStore"]


@dataclass
class _HotTable:
    """One hot table: its columns in order, and its rows as dicts in insertion order."""

    columns: list[Column] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add_columns(self, columns: Sequence[Column]) -> None:
        present = {c.name for c in self.columns}
        for column in columns:
            if column.name not in present:
                self.columns.append(column)
                present.add(column.name)


@dataclass(frozen=True)
class _Ingestion:
    artifact_id: str
    table: str
    run_id: str | None
    schema_id: str
    rows: int
    order: int


def _cast(value: Any, logical: str) -> Any:
    """``value`` as a column of type ``logical`` would hold it (the SQL stores cast too);
    :func:`~consist.core.tables.schema_problems` has already checked that it fits."""
    if value is None:
        return None
    try:
        if logical == "integer" and not isinstance(value, bool):
            if isinstance(value, str):
                return int(value.strip())
            if isinstance(value, float) and value.is_integer():
                return int(value)
        elif logical in ("float", "decimal") and isinstance(value, str | int):
            if not isinstance(value, bool):
                return float(value)
        elif logical == "boolean" and isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        elif logical == "boolean" and isinstance(value, int):
            return bool(value)
    except ValueError:
        return value
    return value


class InMemoryTableStore(InMemoryStore):
    """An :class:`InMemoryStore` with the table capability, held in memory.

    Attributes
    ----------
    views : dict[str, ViewPlan]
        The plan of every view built, by name (a rebuild replaces it).
    """

    #: Jobs carry ``records``; frames and files are read by the api (or not at all).
    accepts_frames = False

    def __init__(self) -> None:
        super().__init__()
        self._hot: dict[str, _HotTable] = {}
        self._ingestions: dict[tuple[str, str], _Ingestion] = {}
        self._schemas: dict[str, TableSchema] = {}
        self.views: dict[str, ViewPlan] = {}

    def __repr__(self) -> str:
        return (
            f"InMemoryTableStore({len(self._runs)} runs, {len(self._artifacts)} artifacts, "
            f"{len(self._hot)} hot tables)"
        )

    # -- the metadata store, capturing logged schemas ----------------------------------------

    def apply(self, batch: WriteBatch) -> None:
        """As :meth:`InMemoryStore.apply`; a new artifact's captured schema (``schema_id``
        and ``schema_columns`` in its meta) is kept once per schema id."""
        with self._lock:
            captured: dict[str, TableSchema] = {}
            for artifact in batch.artifacts:
                meta = artifact.meta or {}
                if artifact.id in self._artifacts:
                    continue
                if SCHEMA_ID in meta and SCHEMA_COLUMNS in meta:
                    captured.setdefault(
                        str(meta[SCHEMA_ID]), TableSchema.from_json(meta[SCHEMA_COLUMNS])
                    )
            super().apply(batch)
            for schema_id, schema in captured.items():
                self._schemas.setdefault(schema_id, schema)

    # -- ingestion ---------------------------------------------------------------------------

    @staticmethod
    def _records(job: IngestJob) -> tuple[TableSchema, list[tuple[Any, ...]]]:
        if job.records is None:
            raise ValueError(
                "the in-memory table store ingests plain rows (IngestJob.records), not files "
                "or frames."
            )
        return job.records

    def validate(self, job: IngestJob) -> None:
        """Raise ``SchemaValidationError`` if ``job``'s rows do not fit ``job.model``."""
        data, rows = self._records(job)
        if job.model is not None:
            problems = schema_problems(job.model, data.without_system(), rows)
            if problems:
                raise SchemaValidationError(job.table, problems)

    def ingest(self, job: IngestJob) -> IngestResult:
        """Load ``job``'s rows into its hot table, once per artifact and table."""
        table = check_table_name(job.table)
        artifact_id = job.provenance.artifact_id
        data, rows = self._records(job)
        observed = data.without_system()
        with self._lock:
            self._check_open(f"ingest into table {table!r}")
            done = self._ingestions.get((artifact_id, table))
            if done is not None:
                schema = self._schemas.get(done.schema_id, TableSchema(()))
                return IngestResult(table, done.rows, schema, already=True)
            self.validate(job)
            target = job.model.columns if job.model is not None else observed.columns
            types = {c.name: c.type for c in target}
            positions = [(i, n) for i, n in enumerate(data.names) if n in types]
            system = job.provenance.values()
            new_rows = [
                {**{n: _cast(row[i], types[n]) for i, n in positions}, **system} for row in rows
            ]
            hot = self._hot.setdefault(table, _HotTable())
            hot.add_columns((*target, *SYSTEM_COLUMNS))
            hot.rows = [r for r in hot.rows if r.get(ARTIFACT_ID) != artifact_id] + new_rows
            self._schemas.setdefault(observed.id, observed)
            self._ingestions[(artifact_id, table)] = _Ingestion(
                artifact_id,
                table,
                job.provenance.run_id,
                observed.id,
                len(rows),
                len(self._ingestions),
            )
        return IngestResult(table, len(rows), observed)

    def ingested_table(self, artifact_id: str) -> str | None:
        with self._lock:
            self._check_open(f"look up the ingestion of {artifact_id!r}")
            found = self._ingestions_of(artifact_id)
            return found[0].table if found else None

    def read_rows(self, table: str, artifact_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """``artifact_id``'s own columns (as ingested) and rows, in the order ingested."""
        with self._lock:
            self._check_open(f"read artifact {artifact_id!r} from table {table!r}")
            hot = self._hot.get(table)
            present = [c.name for c in hot.columns] if hot else []
            done = self._ingestions.get((artifact_id, table))
            schema = self._schemas.get(done.schema_id) if done else None
            names = schema.names if schema else present
            own = [n for n in names if n in present and n not in SYSTEM_NAMES]
            rows = [
                tuple(row.get(n) for n in own)
                for row in (hot.rows if hot else [])
                if row.get(ARTIFACT_ID) == artifact_id
            ]
            return own, rows

    def reads_in_place(self, path: Path) -> bool:
        """Always False: the fake reads no files."""
        return False

    # -- captured schemas ----------------------------------------------------------------------

    def table_schema(self, schema_id: str) -> TableSchema | None:
        with self._lock:
            self._check_open(f"read schema {schema_id!r}")
            return self._schemas.get(schema_id)

    def schema_of_artifact(self, artifact_id: str) -> TableSchema | None:
        with self._lock:
            self._check_open(f"read the schema of artifact {artifact_id!r}")
            found = self._ingestions_of(artifact_id)
            if found:
                return self._schemas.get(found[0].schema_id)
            artifact = self._artifacts.get(artifact_id)
            schema_id = (artifact.meta or {}).get(SCHEMA_ID) if artifact else None
            return self._schemas.get(str(schema_id)) if schema_id else None

    # -- what a view holds ----------------------------------------------------------------------

    def tables_version(self) -> tuple[int, ...]:
        """(artifacts, completed runs, ingestions), as the SQL stores count them."""
        with self._lock:
            self._check_open("check for new tabular outputs")
            completed = sum(1 for r in self._runs.values() if r.status == RunStatus.COMPLETED)
            return (len(self._artifacts), completed, len(self._ingestions))

    def view_sources(self, names: Sequence[str], table: str) -> list[ViewSource]:
        """Parquet/csv outputs of completed runs whose key or meta ``schema`` is in
        ``names``, oldest first."""
        wanted = set(names)
        with self._lock:
            self._check_open("find the artifacts of a view")
            found = []
            for artifact in self._artifacts.values():
                run = self._runs.get(artifact.run_id) if artifact.run_id is not None else None
                if run is None or run.status != RunStatus.COMPLETED:
                    continue
                if artifact.driver not in VIEW_DRIVERS:
                    continue
                schema_name = (artifact.meta or {}).get("schema")
                if artifact.key not in wanted and schema_name not in wanted:
                    continue
                found.append((artifact, run))
            found.sort(key=lambda pair: (pair[0].created_at, pair[0].id))
            return [
                ViewSource(
                    artifact_id=artifact.id,
                    key=artifact.key,
                    uri=artifact.uri,
                    driver=str(artifact.driver),  # one of VIEW_DRIVERS, checked above
                    provenance=Provenance(
                        artifact.id, run.id, run.parent_run_id, run.year, run.iteration
                    ),
                    ingested=(artifact.id, table) in self._ingestions,
                )
                for artifact, run in found
            ]

    def hot_columns(self, table: str) -> list[str] | None:
        with self._lock:
            self._check_open(f"describe table {table!r}")
            hot = self._hot.get(table)
            return [c.name for c in hot.columns] if hot else None

    def build_view(self, plan: ViewPlan) -> None:
        """Record ``plan`` as view ``plan.name`` (evaluated by :meth:`view_rows`)."""
        if plan.files:
            raise NotImplementedError(
                f"view {plan.name!r} reads {len(plan.files)} file(s) in place; the in-memory "
                "table store reads no files (ingest them first)."
            )
        with self._lock:
            self._check_open(f"build view {plan.name!r}")
            self.views[plan.name] = plan

    def view_rows(self, name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The rows view ``name`` would show: its model's and the system columns (None where
        the hot table lacks one), over hot rows of artifacts whose run is not unfinished."""
        with self._lock:
            self._check_open(f"read view {name!r}")
            plan = self.views[name]
            names = [c.name for c in (*plan.model.columns, *SYSTEM_COLUMNS)]
            types = {c.name: c.type for c in (*plan.model.columns, *SYSTEM_COLUMNS)}
            hot = self._hot.get(plan.table)
            rows = [
                tuple(_cast(row.get(n), types[n]) for n in names)
                for row in (hot.rows if hot else [])
                if not self._unfinished(str(row.get(ARTIFACT_ID)))
            ]
            return names, rows

    # -- helpers -------------------------------------------------------------------------------

    def _ingestions_of(self, artifact_id: str) -> list[_Ingestion]:
        found = [i for i in self._ingestions.values() if i.artifact_id == artifact_id]
        return sorted(found, key=lambda i: i.order)

    def _unfinished(self, artifact_id: str) -> bool:
        artifact = self._artifacts.get(artifact_id)
        run = self._runs.get(artifact.run_id) if artifact and artifact.run_id else None
        return run is not None and run.status != RunStatus.COMPLETED
