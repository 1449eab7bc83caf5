"""Registers the built-in DuckDB metadata store.

The factory is a ``"module:Class"`` string so that discovering this plugin imports neither
``duckdb`` nor SQLAlchemy; they load only when a DuckDB store is opened.
"""

from __future__ import annotations

from consist.core.hookspecs import hookimpl
from consist.core.registry import StoreSpec


@hookimpl
def consist_stores() -> list[StoreSpec]:
    """Return the spec of the DuckDB store (``duckdb://`` URLs, ``.duckdb``/``.ddb`` paths).

    Returns
    -------
    list of StoreSpec
        One spec named ``"duckdb"``.
    """
    return [
        StoreSpec(
            name="duckdb",
            factory="consist.adapters.stores.duckdb_:DuckDBStore",
            schemes=("duckdb",),
            suffixes=(".duckdb", ".ddb"),
            plugin="consist.adapters.stores.plugin",
            capabilities=("sql-engine", "ingest"),
        )
    ]
