"""The table store port: ingesting tabular artifacts and viewing many of them as one table.

A capability a metadata store may offer besides :class:`~consist.core.ports.store.
MetadataStore`. Hot rows live in tables named by schema or key (in schema
:data:`~consist.core.tables.HOT_SCHEMA` where the database has schemas), each row carrying
the system columns of :data:`~consist.core.tables.SYSTEM_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from consist.core.tables import IngestJob, IngestResult, TableSchema, ViewPlan, ViewSource


@runtime_checkable
class TableStore(Protocol):
    """Hot tables, ingestion records, captured schemas and cross-run views.

    ``accepts_frames`` says whether :meth:`ingest` takes ``IngestJob.frame`` (an in-memory
    table the database scans); otherwise jobs carry ``records``.
    """

    accepts_frames: bool

    def ingest(self, job: IngestJob) -> IngestResult:
        """Bulk-load ``job``'s rows in one transaction, unless that artifact is already in
        the table (then report the earlier ingestion with ``already=True``)."""
        ...

    def validate(self, job: IngestJob) -> None:
        """Raise ``SchemaValidationError`` if ``job``'s data does not fit ``job.model``;
        write nothing."""
        ...

    def ingested_table(self, artifact_id: str) -> str | None:
        """The hot table holding ``artifact_id``'s rows, or None."""
        ...

    def read_rows(self, table: str, artifact_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """``artifact_id``'s hot rows: its own column names (system columns aside) and the
        rows, in the order they were ingested."""
        ...

    def reads_in_place(self, path: Path) -> bool:
        """Whether the store can read the file at ``path`` by name (else pass it a frame)."""
        ...

    def tables_version(self) -> tuple[int, ...]:
        """A cheap token that changes whenever artifacts, completed runs or ingestions are
        added (a view older than the token may be stale)."""
        ...

    def view_sources(self, names: Sequence[str], table: str) -> list[ViewSource]:
        """Parquet/csv outputs of completed runs whose schema name or key is in ``names``,
        oldest first, with their producer's provenance (``path`` unset); ``ingested`` tells
        whether their rows are in hot table ``table``."""
        ...

    def hot_columns(self, table: str) -> list[str] | None:
        """Columns of hot table ``table``, or None if it does not exist."""
        ...

    def build_view(self, plan: ViewPlan) -> None:
        """Create or replace the SQL view ``plan.name``."""
        ...

    def table_schema(self, schema_id: str) -> TableSchema | None:
        """A captured schema by id, or None."""
        ...

    def schema_of_artifact(self, artifact_id: str) -> TableSchema | None:
        """The schema captured for an artifact (when logged or ingested), or None."""
        ...
