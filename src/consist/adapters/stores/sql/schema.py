"""Schema versioning: create a new database, migrate an old one, refuse a newer one.

Opening an existing database at the current version costs one raw SQL read. Creating one
runs DDL compiled ahead of time from :mod:`consist.adapters.stores.sql.tables` and shipped
in :mod:`consist.adapters.stores.sql.ddl` (a test checks it against a live compile), so a
process that only runs steps never imports SQLAlchemy (~60 MB of memory).

Regenerate the shipped DDL after changing the tables::

    python -m consist.adapters.stores.sql.schema
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from consist.adapters.stores.sql.ddl import SHIPPED_DDL
from consist.adapters.stores.sql.ops import first_row
from consist.core.errors import SchemaVersionError, redact

#: Version of the schema this library writes. Bump it together with an entry in MIGRATIONS.
SCHEMA_VERSION = 3

#: Forward migrations: ``{n: statements}`` takes a database from version ``n - 1`` to ``n``.
#: Statements must be plain SQL valid in every supported dialect (or be split per dialect
#: when that day comes); they run in one transaction with the version update.
MIGRATIONS: dict[int, list[str]] = {
    # 2: captured column schemas and ingestion records (tables and views).
    2: [
        "CREATE TABLE IF NOT EXISTS table_schema (id VARCHAR NOT NULL, columns_json VARCHAR "
        "NOT NULL, created_at TIMESTAMP NOT NULL, PRIMARY KEY (id))",
        "CREATE TABLE IF NOT EXISTS ingestion (artifact_id VARCHAR NOT NULL, table_name "
        "VARCHAR NOT NULL, run_id VARCHAR, schema_id VARCHAR, row_count BIGINT NOT NULL, "
        "ingested_at TIMESTAMP NOT NULL, PRIMARY KEY (artifact_id, table_name))",
    ],
    # 3: the arguments component of a run's identity, and what its identity was built from.
    3: [
        "ALTER TABLE run ADD COLUMN arguments_digest VARCHAR",
        "ALTER TABLE run ADD COLUMN identity_json VARCHAR",
    ],
}

_READ_VERSION = "SELECT value FROM consist_meta WHERE key = ?"
_WRITE_VERSION = (
    "INSERT INTO consist_meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
_VERSION_KEY = "schema_version"
# SQLite's plain BEGIN takes no lock until the first write, so two processes could both
# read "no schema" and both create it; IMMEDIATE makes the second wait for the first.
# PostgreSQL creates tables concurrently without complaint only under a lock of its own.
_BEGIN_WRITE: dict[str, tuple[str, ...]] = {
    "sqlite": ("BEGIN IMMEDIATE",),
    "postgresql": ("BEGIN", "SELECT pg_advisory_xact_lock(hashtext('consist:schema'))"),
}

# Whether consist_meta exists, asked of each dialect's catalog.
_HAS_META_TABLE: dict[str, str] = {
    "duckdb": "SELECT count(*) FROM information_schema.tables WHERE table_name = 'consist_meta'",
    "sqlite": "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'consist_meta'",
    "postgresql": "SELECT count(*) FROM information_schema.tables WHERE table_name = "
    "'consist_meta' AND table_schema = current_schema()",
}

# Created with a new database, after the tables, where the dialect needs more than tables:
# PostgreSQL gets SQLite's JSON path function on JSON text (what the shared SQL calls) and
# the schema of the hot tables.
EXTRA_DDL: dict[str, tuple[str, ...]] = {
    "postgresql": (
        "CREATE OR REPLACE FUNCTION consist_json_text(doc text, path text) RETURNS text "
        "LANGUAGE sql IMMUTABLE STRICT AS "
        "$$ SELECT CAST(doc AS jsonb) #>> string_to_array(substring(path from 3), '.') $$",
        "CREATE SCHEMA IF NOT EXISTS global_tables",
    ),
}


#: Secondary indexes a dialect goes without. DuckDB holds every index in memory (an ART each,
#: starting at a quarter megabyte per node type) and scans a column of 100 000 rows in about
#: a millisecond, so it keeps only the indexes of the write path (a batch reads the links of
#: its runs), of lineage walks (the runs that read an artifact) and of cache lookups; the
#: five left out held ~4 MB of a process doing 1 000 runs. Databases created before keep
#: theirs.
SKIPPED_INDEXES: dict[str, frozenset[str]] = {
    "duckdb": frozenset(
        {
            "ix_artifact_key",
            "ix_artifact_run_id",
            "ix_run_model_name",
            "ix_run_parent_run_id",
            "ix_run_signature",
        }
    ),
}


def ddl_statements(dialect_name: str) -> list[str]:
    """``CREATE TABLE``/``CREATE INDEX`` statements of the whole schema for a dialect.

    Parameters
    ----------
    dialect_name : str
        A SQLAlchemy dialect name, e.g. ``"duckdb"`` or ``"sqlite"``.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.schema import CreateIndex, CreateTable

    from consist.adapters.stores.sql.tables import ConsistTable

    dialect = make_url(f"{dialect_name}://").get_dialect()()
    skipped = SKIPPED_INDEXES.get(dialect_name, frozenset())
    statements: list[str] = []
    for table in ConsistTable.metadata.sorted_tables:
        statements.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
        for index in sorted(table.indexes, key=lambda ix: ix.name or ""):
            if index.name in skipped:
                continue
            statements.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))
    return statements


def read_version(conn: Any, dialect_name: str) -> int | None:
    """The schema version recorded in the database, or None for a database without one.

    Asks the catalog first rather than reading and catching "no such table": another
    process may create the table between a failed read and the check, and inside a
    transaction a failed statement would abort it on DuckDB.
    """
    # Both reads consume their whole result: a DuckDB connection left with an unfinished
    # one refuses to register a frame later (a second process ingesting failed that way).
    has_table = first_row(conn, _HAS_META_TABLE[dialect_name])
    if not (has_table and has_table[0]):
        return None
    row = first_row(conn, _READ_VERSION, [_VERSION_KEY])
    return None if row is None else int(row[0])


def ensure_schema(conn: Any, dialect_name: str, location: str = "") -> int:
    """Make the database at ``conn`` hold the current schema; return its version.

    Parameters
    ----------
    conn : DB-API connection
        Raw driver connection taking qmark parameters, in autocommit mode.
    dialect_name : str
        SQLAlchemy dialect name used to compile DDL when the database is new.
    location : str, optional
        The database's path or URL, for error messages.

    Raises
    ------
    SchemaVersionError
        If the database was written by a newer Consist.
    """
    if read_version(conn, dialect_name) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    # Take the write lock, then look again: several processes may open a new database at
    # once, and only the first should create (or migrate) it.
    for begin in _BEGIN_WRITE.get(dialect_name, ("BEGIN TRANSACTION",)):
        conn.execute(begin)
    try:
        version = _upgrade(conn, dialect_name, read_version(conn, dialect_name), location)
        conn.execute("COMMIT")
    except BaseException:
        with suppress(Exception):  # the original failure is the one worth reporting
            conn.execute("ROLLBACK")
        raise
    return version


def _upgrade(conn: Any, dialect_name: str, version: int | None, location: str) -> int:
    """Bring a database at ``version`` to :data:`SCHEMA_VERSION`, inside a transaction."""
    if version == SCHEMA_VERSION:
        return version
    where = f"database {redact(location)!r}" if location else "the database"
    if version is not None and version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{where} has schema version {version}, but this consist only understands "
            f"schema versions up to {SCHEMA_VERSION}. It was written by a newer consist: "
            "upgrade consist (pip install -U consist) to open it."
        )
    if version is None:
        steps = list(SHIPPED_DDL.get(dialect_name) or ddl_statements(dialect_name))
        steps += EXTRA_DDL.get(dialect_name, ())
    else:
        missing = [v for v in range(version + 1, SCHEMA_VERSION + 1) if v not in MIGRATIONS]
        if missing:
            raise SchemaVersionError(
                f"{where} has schema version {version} and this consist has no migration to "
                f"version {missing[0]}; open it with the consist release that wrote it."
            )
        steps = [s for v in range(version + 1, SCHEMA_VERSION + 1) for s in MIGRATIONS[v]]
    for statement in steps:
        conn.execute(statement)
    conn.execute(_WRITE_VERSION, [_VERSION_KEY, str(SCHEMA_VERSION)])
    return SCHEMA_VERSION


def render_ddl_module(dialects: tuple[str, ...] = ("duckdb", "sqlite")) -> str:
    """The source of :mod:`consist.adapters.stores.sql.ddl` for the current tables."""
    lines = [
        '"""DDL compiled from the SQLModel tables (generated: python -m '
        'consist.adapters.stores.sql.schema)."""',
        "",
        "SHIPPED_DDL: dict[str, tuple[str, ...]] = {",
    ]
    for dialect in dialects:
        lines.append(f"    {dialect!r}: (")
        lines += [f"        {statement!r}," for statement in ddl_statements(dialect)]
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).with_name("ddl.py")
    target.write_text(render_ddl_module())
    print(f"wrote {target}")
