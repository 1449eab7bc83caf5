"""Tables: column schemas, ingestion requests and the plan of a cross-run view.

Everything here is plain data and pure decisions. Stores turn an :class:`IngestJob` into a
bulk load and a :class:`ViewPlan` into a SQL view; the api gathers what they need.

Column types are *logical* (``integer``, ``float``, ``string`` ...), so a schema captured
from a pandas frame, a parquet footer or a DuckDB table compares equal, and each store maps
them to its own SQL types.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consist.core.checks import encodable
from consist.core.errors import InvalidKeyError

#: Logical column types; anything a store cannot name more precisely is ``"other"``.
LOGICAL_TYPES = (
    "integer",
    "float",
    "decimal",
    "boolean",
    "string",
    "binary",
    "date",
    "time",
    "timestamp",
    "interval",
    "other",
)

#: Drivers whose files a view reads in place.
VIEW_DRIVERS = ("parquet", "csv")
#: Drivers :meth:`ingest` reads from a file.
INGEST_DRIVERS = ("parquet", "csv", "json")

#: Artifact meta keys of a captured schema: its id, and (until stored) its columns as JSON.
SCHEMA_ID = "schema_id"
SCHEMA_COLUMNS = "schema_columns"

#: Schema (namespace) of the hot tables in stores that have schemas.
HOT_SCHEMA = "global_tables"


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name as in the data, and its logical type."""

    name: str
    type: str = "other"
    nullable: bool = True


RUN_ID = "consist_run_id"
ARTIFACT_ID = "consist_artifact_id"
SCENARIO_ID = "consist_scenario_id"
YEAR = "consist_year"
ITERATION = "consist_iteration"

#: Provenance columns of every hot table row and every view row.
SYSTEM_COLUMNS: tuple[Column, ...] = (
    Column(RUN_ID, "string"),
    Column(ARTIFACT_ID, "string", nullable=False),
    Column(SCENARIO_ID, "string"),
    Column(YEAR, "integer"),
    Column(ITERATION, "integer"),
)
SYSTEM_NAMES = frozenset(c.name for c in SYSTEM_COLUMNS)


@dataclass(frozen=True, slots=True)
class TableSchema:
    """An ordered list of columns; its :attr:`id` is a digest of the content."""

    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def id(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:20]

    def to_json(self) -> str:
        return json.dumps(
            [[c.name, c.type, c.nullable] for c in self.columns], separators=(",", ":")
        )

    @classmethod
    def from_json(cls, text: str) -> TableSchema:
        return cls(tuple(Column(str(n), str(t), bool(nl)) for n, t, nl in json.loads(text)))

    def without_system(self) -> TableSchema:
        return TableSchema(tuple(c for c in self.columns if c.name not in SYSTEM_NAMES))


def stored_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """An artifact's meta as a store keeps it: a captured schema's columns are stored once
    per distinct schema, the artifact keeps only the schema's id."""
    if not meta or SCHEMA_COLUMNS not in meta:
        return dict(meta or {})
    return {k: v for k, v in meta.items() if k != SCHEMA_COLUMNS}


def check_table_name(name: object, what: str = "table name") -> str:
    """A name usable as a SQL identifier once quoted: non-empty text without NUL or quotes'
    worth of surprises (it is always quoted, never interpolated raw)."""
    if (
        not isinstance(name, str)
        or not name.strip()
        or "\x00" in name
        or len(name) > 120
        or not encodable(name)
    ):
        raise InvalidKeyError(
            f"{what} {name!r} cannot name a table: use non-empty, valid Unicode text of at "
            "most 120 characters (set __tablename__ on the schema, or pass key=...)."
        )
    if name.startswith("consist_") or name in SYSTEM_NAMES:
        raise InvalidKeyError(
            f"{what} {name!r} is reserved: names starting with 'consist_' belong to the "
            "library; choose another __tablename__ or key."
        )
    return name


def unknown_columns(model: TableSchema, observed: Iterable[str]) -> list[str]:
    """Columns of the data that the model does not declare (system columns aside)."""
    known = set(model.names) | SYSTEM_NAMES
    return [name for name in observed if name not in known]


# -- ingestion ---------------------------------------------------------------------------------


def _fits(value: Any, logical: str) -> bool:
    """Whether ``value`` can be stored as a ``logical`` column without losing meaning."""
    if value is None or logical in ("string", "other"):
        return True
    if isinstance(value, str):
        text = value.strip()
        try:
            if logical == "integer":
                int(text)
            elif logical in ("float", "decimal"):
                float(text)
            elif logical == "boolean":
                return text.lower() in ("true", "false", "0", "1")
            return True
        except ValueError:
            return False
    if logical == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if logical in ("float", "decimal"):
        return isinstance(value, int | float)
    if logical == "boolean":
        return isinstance(value, bool) or value in (0, 1)
    return True


def schema_problems(
    model: TableSchema, data: TableSchema, rows: Iterable[Sequence[Any]]
) -> dict[str, str]:
    """Why ``rows`` (with ``data``'s columns) do not fit ``model``: columns it does not
    declare, and values that cannot be cast to its types (for stores that check in Python)."""
    problems = {name: "not declared in the schema" for name in unknown_columns(model, data.names)}
    types = {c.name: c.type for c in model.columns}
    checked = [(i, n, types[n]) for i, n in enumerate(data.names) if n in types]
    bad: dict[str, int] = {}
    for row in rows:
        for index, name, logical in checked:
            if not _fits(row[index], logical):
                bad[name] = bad.get(name, 0) + 1
    for name, count in bad.items():
        problems[name] = f"{count} value(s) cannot be cast to {types[name]}"
    return problems


@dataclass(frozen=True, slots=True)
class Provenance:
    """The system-column values every ingested row of one artifact carries."""

    artifact_id: str
    run_id: str | None
    scenario_id: str | None = None
    year: int | None = None
    iteration: int | None = None

    def values(self) -> dict[str, Any]:
        return {
            RUN_ID: self.run_id,
            ARTIFACT_ID: self.artifact_id,
            SCENARIO_ID: self.scenario_id,
            YEAR: self.year,
            ITERATION: self.iteration,
        }


@dataclass(frozen=True, slots=True)
class IngestJob:
    """Load one artifact's rows into hot table ``table``.

    Exactly one source is set: ``path`` (a file read with ``driver``), ``frame`` (an
    in-memory table the store's driver can scan: pandas, polars, arrow) or ``records`` (the
    data's column schema and its rows as tuples, for stores that cannot scan frames). With
    ``model`` the data must fit it: columns it does not declare, or values that cannot be cast
    to its types, are refused with :class:`~consist.core.errors.SchemaValidationError` and
    nothing is written.
    """

    table: str
    provenance: Provenance
    path: Path | None = None
    driver: str | None = None
    frame: Any = None
    records: tuple[TableSchema, list[tuple[Any, ...]]] | None = None
    model: TableSchema | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What an ingestion did: rows written (or found from an earlier ingestion)."""

    table: str
    rows: int
    schema: TableSchema
    already: bool = False


# -- views -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ViewSource:
    """An artifact that belongs in a view, with its producer's provenance.

    ``ingested`` says its rows are in the view's hot table; otherwise the view reads the file
    at ``path`` (resolved by the api; None while unresolved or when the bytes are gone).
    """

    artifact_id: str
    key: str
    uri: str
    driver: str
    provenance: Provenance
    ingested: bool = False
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class ViewPlan:
    """A view over hot table ``table`` plus ``files`` read in place, typed by ``model``."""

    name: str
    table: str
    model: TableSchema
    files: tuple[ViewSource, ...] = ()
    fingerprint: str = field(default="", compare=False)

    def files_by_driver(self) -> dict[str, list[ViewSource]]:
        grouped: dict[str, list[ViewSource]] = {}
        for source in self.files:
            grouped.setdefault(source.driver, []).append(source)
        return grouped


def plan_view(
    name: str,
    table: str,
    model: TableSchema,
    sources: Sequence[ViewSource],
    readable_in_place: Callable[[ViewSource], bool],
) -> tuple[ViewPlan, list[ViewSource]]:
    """The view to build, and the sources that must be ingested first.

    ``sources`` come oldest first. An ingested artifact is read once, from its hot rows. A
    file the store cannot name safely in place (``readable_in_place`` false) is ingested
    instead; one whose bytes are gone is left out (a deleted file never breaks the view).
    """
    by_path: dict[Path, ViewSource] = {}
    for source in sources:
        if not source.ingested and source.path is not None:
            # A file rewritten in place holds the bytes of its newest artifact only.
            by_path[source.path] = source
    files: list[ViewSource] = []
    to_ingest: list[ViewSource] = []
    for source in by_path.values():
        (files if readable_in_place(source) else to_ingest).append(source)
    files.sort(key=lambda s: s.artifact_id)
    digest = hashlib.sha256(model.to_json().encode())
    for source in files:
        digest.update(f"\0{source.artifact_id}\0{source.path}".encode())
    plan = ViewPlan(name, table, model, tuple(files), digest.hexdigest())
    return plan, to_ingest
