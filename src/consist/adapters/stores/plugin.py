"""Registers the built-in DuckDB, SQLite and PostgreSQL metadata stores.

The factory is a ``"module:Class"`` string so that discovering this plugin imports neither
``duckdb`` nor SQLAlchemy; they load only when a DuckDB store is opened.
"""

from __future__ import annotations

from consist.core.hookspecs import hookimpl
from consist.core.registry import StoreSpec


@hookimpl
def consist_stores() -> list[StoreSpec]:
    """Return the specs of the DuckDB store (``duckdb://`` URLs, ``.duckdb``/``.ddb`` paths)
    the SQLite store (``sqlite://`` URLs, ``.sqlite``/``.sqlite3``/``.db`` paths) and the
    PostgreSQL store (``postgresql://`` URLs; needs ``psycopg``).

    Returns
    -------
    list of StoreSpec
        Specs named ``"duckdb"``, ``"sqlite"`` and ``"postgres"``.
    """
    return [
        StoreSpec(
            name="duckdb",
            factory="consist.adapters.stores.duckdb_:DuckDBStore",
            schemes=("duckdb",),
            suffixes=(".duckdb", ".ddb"),
            plugin="consist.adapters.stores.plugin",
            capabilities=("sql-engine", "ingest"),
        ),
        StoreSpec(
            name="sqlite",
            factory="consist.adapters.stores.sqlite_:SQLiteStore",
            schemes=("sqlite",),
            suffixes=(".sqlite", ".sqlite3", ".db"),
            plugin="consist.adapters.stores.plugin",
            capabilities=("sql-engine", "ingest"),
        ),
        StoreSpec(
            name="postgres",
            factory="consist.adapters.stores.postgres_:PostgresStore",
            schemes=("postgresql", "postgres", "postgresql+psycopg"),
            suffixes=(),
            plugin="consist.adapters.stores.plugin",
            requires=("psycopg",),
            capabilities=("sql-engine", "ingest", "multi-host"),
        ),
    ]
