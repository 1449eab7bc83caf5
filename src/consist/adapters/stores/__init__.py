"""Metadata stores: where runs, artifacts and their links are recorded.

The SQL layer in :mod:`consist.adapters.stores.sql` is shared by every SQL store (DuckDB
today, SQLite later); :mod:`consist.adapters.stores.duckdb_` adds what is specific to
DuckDB. Nothing here is imported until the registry chooses a store.
"""
