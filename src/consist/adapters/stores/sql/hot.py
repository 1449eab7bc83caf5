"""What every SQL store's table capability shares: the ingestion records, captured schemas,
and which artifacts belong in a view (plain SQL over Consist's own tables).

Each store's table component (``DuckDBTables``, ``SQLiteTables``) extends
:class:`HotTableCatalog`, built on the store's
:class:`~consist.adapters.stores.sql.connection.Connections`; the dialect names the JSON text
function. :class:`ViewBuilder` is what a store's view component offers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from consist.adapters.stores.sql.connection import Connections
from consist.adapters.stores.sql.ops import first_row
from consist.adapters.stores.sql.writer import insert_schemas
from consist.core.tables import (
    SYSTEM_NAMES,
    IngestJob,
    IngestResult,
    Provenance,
    TableSchema,
    ViewPlan,
    ViewSource,
)

# Hot rows of artifacts whose producing run did not complete (failed, crashed, running) stay
# out of views, as their files do.
UNFINISHED = (
    "consist_artifact_id NOT IN (SELECT a.id FROM artifact a JOIN run r ON r.id = a.run_id "
    "WHERE r.status <> 'completed')"
)
_VERSION = (
    "SELECT (SELECT count(*) FROM artifact), (SELECT count(*) FROM run WHERE status = "
    "'completed'), (SELECT count(*) FROM ingestion)"
)


def now() -> datetime:
    """Naive UTC, as timestamps are stored."""
    return datetime.now(UTC).replace(tzinfo=None)


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def create_or_widen(
    conn: Any,
    qualified: str,
    declared: Sequence[tuple[str, str]],
    columns_of: Callable[[], Iterable[str] | None],
) -> None:
    """Create the hot table ``qualified`` with the ``(name, SQL type)`` columns declared, or
    add those it lacks (``columns_of`` reads its columns once it exists)."""
    columns = ", ".join(f"{quote(n)} {t}" for n, t in declared)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {qualified} ({columns})")
    existing = set(columns_of() or ())
    for name, sql_type in declared:
        if name not in existing:
            conn.execute(f"ALTER TABLE {qualified} ADD COLUMN {quote(name)} {sql_type}")


def insert_rows(
    conn: Any, qualified: str, names: Sequence[str], values: Sequence[Sequence[Any]]
) -> None:
    """Insert ``values`` (one sequence per row, in ``names`` order) into ``qualified``."""
    if values:
        marks = ", ".join("?" for _ in names)
        conn.executemany(
            f"INSERT INTO {qualified} ({', '.join(quote(n) for n in names)}) VALUES ({marks})",
            values,
        )


class ViewBuilder(Protocol):
    """The view half of the table port, as a store's view component offers it."""

    def hot_columns(self, table: str) -> list[str] | None: ...

    def build_view(self, plan: ViewPlan) -> None: ...


class HotTableCatalog(ABC):
    """Ingestion records, captured schemas and view sources, for any qmark SQL store.

    Parameters
    ----------
    db : Connections
        The store's database: locked connections, transactions and the dialect.
    """

    #: Whether :meth:`ingest` takes ``IngestJob.frame`` (else jobs carry ``records``).
    accepts_frames: ClassVar[bool] = False

    def __init__(self, db: Connections) -> None:
        self.db = db
        self.json_text = db.dialect.json_text

    @abstractmethod
    def ingest(self, job: IngestJob) -> IngestResult:
        """Load ``job``'s rows into its hot table in one transaction (see the port)."""

    @abstractmethod
    def validate(self, job: IngestJob) -> None:
        """Raise ``SchemaValidationError`` if ``job``'s data does not fit its model."""

    @abstractmethod
    def read_rows(self, table: str, artifact_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """An artifact's hot rows: its own columns (as ingested), in the order ingested."""

    @abstractmethod
    def reads_in_place(self, path: Path) -> bool:
        """Whether the database reads ``path`` by name (else pass its rows)."""

    # -- ingestion records -----------------------------------------------------------------
    def ingested_table(self, artifact_id: str) -> str | None:
        with self.db.reading(f"look up the ingestion of {artifact_id!r}") as conn:
            row = first_row(
                conn,
                "SELECT table_name FROM ingestion WHERE artifact_id = ? ORDER BY ingested_at "
                "LIMIT 1",
                [artifact_id],
            )
        return None if row is None else str(row[0])

    @staticmethod
    def _ingestion(conn: Any, artifact_id: str, table: str) -> tuple[int, str | None] | None:
        row = first_row(
            conn,
            "SELECT row_count, schema_id FROM ingestion WHERE artifact_id = ? AND table_name = ?",
            [artifact_id, table],
        )
        return None if row is None else (int(row[0]), row[1])

    def _record_ingestion(
        self,
        conn: Any,
        artifact_id: str,
        table: str,
        run_id: str | None,
        schema: TableSchema,
        rows: int,
    ) -> None:
        insert_schemas(conn, {schema.id: (schema.to_json(), now())}, self.db.insert)
        self.db.insert(conn, "ingestion", [(artifact_id, table, run_id, schema.id, rows, now())])

    def _own_columns(
        self, conn: Any, table: str, artifact_id: str, present: list[str]
    ) -> list[str]:
        """The columns an artifact brought to ``table`` (as ingested, in order), among the
        table's ``present`` columns, without the system columns."""
        found = self._ingestion(conn, artifact_id, table)
        schema = self._schema(conn, found[1]) if found else None
        names = schema.names if schema else present
        return [n for n in names if n in present and n not in SYSTEM_NAMES]

    # -- captured schemas --------------------------------------------------------------------
    def table_schema(self, schema_id: str) -> TableSchema | None:
        with self.db.reading(f"read schema {schema_id!r}") as conn:
            return self._schema(conn, schema_id)

    def schema_of_artifact(self, artifact_id: str) -> TableSchema | None:
        with self.db.reading(f"read the schema of artifact {artifact_id!r}") as conn:
            row = first_row(
                conn,
                "SELECT coalesce((SELECT schema_id FROM ingestion WHERE artifact_id = ? LIMIT 1),"
                f" (SELECT {self.json_text}(meta_json, '$.schema_id') FROM artifact "
                "WHERE id = ?))",
                [artifact_id, artifact_id],
            )
            return self._schema(conn, row[0]) if row and row[0] else None

    @staticmethod
    def _schema(conn: Any, schema_id: str | None) -> TableSchema | None:
        if schema_id is None:
            return None
        row = first_row(conn, "SELECT columns_json FROM table_schema WHERE id = ?", [schema_id])
        return None if row is None else TableSchema.from_json(row[0])

    # -- what a view holds --------------------------------------------------------------------
    def tables_version(self) -> tuple[int, ...]:
        """A token that changes when artifacts, completed runs or ingestions are added."""
        with self.db.reading("check for new tabular outputs") as conn:
            return tuple(first_row(conn, _VERSION) or ())

    def view_sources(self, names: Sequence[str], table: str) -> list[ViewSource]:
        wanted = list(dict.fromkeys(names))
        marks = ", ".join("?" for _ in wanted)
        statement = (
            "SELECT a.id, a.key, a.uri, a.driver, a.run_id, r.parent_run_id, r.year, "
            "r.iteration, EXISTS (SELECT 1 FROM ingestion i WHERE i.artifact_id = a.id AND "
            "i.table_name = ?) FROM artifact a JOIN run r ON r.id = a.run_id "
            "WHERE r.status = 'completed' AND a.driver IN ('parquet', 'csv') "
            f"AND (a.key IN ({marks}) OR {self.json_text}(a.meta_json, '$.schema') "
            f"IN ({marks})) ORDER BY a.created_at, a.id"
        )
        with self.db.reading("find the artifacts of a view") as conn:
            rows = conn.execute(statement, [table, *wanted, *wanted]).fetchall()
        return [
            ViewSource(
                artifact_id=aid,
                key=key,
                uri=uri,
                driver=driver,
                provenance=Provenance(aid, run_id, scenario, year, iteration),
                ingested=bool(ingested),
            )
            for aid, key, uri, driver, run_id, scenario, year, iteration, ingested in rows
        ]
