"""Cross-run views in DuckDB (a component of :class:`~consist.adapters.stores.duckdb_.DuckDBStore`).

A view is the union of the hot table and the parquet/csv files of matching artifacts read in
place, joined to a small catalogue table (file → run, scenario, year …) so the provenance
columns cost one hash join rather than one sub-query per file. DuckDB cannot bind parameters
in a view definition, so the file list is written as SQL string literals, produced in one
place (:func:`_literal`), which doubles quotes and refuses paths DuckDB would treat as glob
patterns (the api ingests those files instead). Identifiers are always quoted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consist.adapters.stores.duckdb_tables import (
    READERS,
    hot_table,
    reads_in_place,
    sql_type,
    table_columns,
)
from consist.adapters.stores.sql.connection import Connections
from consist.adapters.stores.sql.hot import UNFINISHED, quote
from consist.core.errors import StoreError
from consist.core.tables import (
    SYSTEM_COLUMNS,
    VIEW_DRIVERS,
    TableSchema,
    ViewPlan,
    ViewSource,
)

_CATALOGUE = "consist_view_file"
_CATALOGUE_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_CATALOGUE} (view_name VARCHAR NOT NULL, path VARCHAR NOT "
    "NULL, artifact_id VARCHAR NOT NULL, run_id VARCHAR, scenario_id VARCHAR, year BIGINT, "
    "iteration BIGINT)"
)


def _literal(path: Path) -> str:
    text = str(path)
    if "\x00" in text or not reads_in_place(path):
        raise StoreError(f"path {text!r} cannot be named to DuckDB in place; ingest it instead.")
    return "'" + text.replace("'", "''") + "'"


class DuckDBViews:
    """The DuckDB store's views, over the store's ``db`` (locked connections)."""

    def __init__(self, db: Connections) -> None:
        self.db = db

    def hot_columns(self, table: str) -> list[str] | None:
        with self.db.reading(f"describe table {table!r}") as conn:
            return table_columns(conn, table)

    def build_view(self, plan: ViewPlan) -> None:
        with self.db.using(f"build view {plan.name!r}") as conn:
            parts: list[str] = []
            hot = table_columns(conn, plan.table)
            if hot is not None:
                parts.append(
                    _select(plan.model, set(hot), hot_table(plan.table), "", where=UNFINISHED)
                )
            with self.db.transaction(conn):
                conn.execute(_CATALOGUE_DDL)
                conn.execute(f"DELETE FROM {_CATALOGUE} WHERE view_name = ?", [plan.name])
                for driver, sources in plan.files_by_driver().items():
                    parts.append(self._cold_part(conn, plan, driver, sources))
                if not parts:
                    parts.append(_select(plan.model, set(), "(SELECT 1)", "", where="false"))
                body = " UNION ALL ".join(parts)
                conn.execute(f"CREATE OR REPLACE VIEW {quote(plan.name)} AS {body}")

    def _cold_part(self, conn: Any, plan: ViewPlan, driver: str, sources: list[ViewSource]) -> str:
        if driver not in VIEW_DRIVERS:
            raise ValueError(f"views read parquet and csv files, not {driver!r}.")
        rows = [
            (plan.name, str(s.path), s.artifact_id, s.provenance.run_id, s.provenance.scenario_id,
             s.provenance.year, s.provenance.iteration)
            for s in sources
        ]  # fmt: skip
        conn.executemany(f"INSERT INTO {_CATALOGUE} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        files = "[" + ", ".join(_literal(s.path) for s in sources if s.path is not None) + "]"
        reader = f"{READERS[driver]}({files}, union_by_name = true, filename = true)"
        present = {row[0] for row in conn.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()}
        source = (
            f"{reader} AS f JOIN {_CATALOGUE} AS m ON m.view_name = {_text(plan.name)} "
            "AND m.path = f.filename"
        )
        return _select(plan.model, present, source, "f.", catalogue="m.")


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _select(
    model: TableSchema,
    present: set[str],
    source: str,
    prefix: str,
    *,
    catalogue: str | None = None,
    where: str = "",
) -> str:
    """One branch of a view: the model's columns cast to their types (NULL where absent),
    then the provenance columns, from the hot table or from the catalogue join."""
    items = []
    for column in model.columns:
        value = f"{prefix}{quote(column.name)}" if column.name in present else "NULL"
        duck = sql_type(column.type)
        items.append(
            f"CAST({value} AS {duck}) AS {quote(column.name)}"
            if duck
            else f"{value} AS {quote(column.name)}"
        )
    for column, field in zip(
        SYSTEM_COLUMNS, ("run_id", "artifact_id", "scenario_id", "year", "iteration"), strict=True
    ):
        duck = sql_type(column.type)
        if catalogue is not None:
            value = f"{catalogue}{field}"
        else:
            value = quote(column.name) if column.name in present else "NULL"
        items.append(f"CAST({value} AS {duck}) AS {quote(column.name)}")
    return f"SELECT {', '.join(items)} FROM {source}{' WHERE ' + where if where else ''}"
