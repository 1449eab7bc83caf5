"""Small execution helpers over a qmark DB-API connection: chunked inserts and ``IN`` reads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from consist.adapters.stores.sql import statements as sql

Row = tuple[Any, ...]
#: ``insert(conn, table, rows)``: add rows whose primary keys are new (a store may pass a
#: faster driver-specific bulk path than :func:`insert_values`).
Insert = Callable[[Any, str, Sequence[Row]], None]
#: ``select(conn, table, columns, key, ids)``: rows whose ``key`` is one of ``ids``, as
#: :func:`select_in` returns them (a store may pass a faster path for long id lists).
Select = Callable[[Any, str, tuple[str, ...], str, Iterable[Any]], list[Row]]


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """Consecutive slices of ``items`` holding at most ``size`` elements."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_values(conn: Any, table: str, rows: Sequence[Row]) -> None:
    """Insert ``rows`` into ``table`` with one multi-row ``VALUES`` statement per chunk.

    Parameters
    ----------
    conn : DB-API connection
        Takes qmark parameters in ``execute``.
    table : str
        A key of :data:`~consist.adapters.stores.sql.statements.TABLE_COLUMNS`.
    rows : sequence of tuple
        Values in that table's column order; their primary keys must be new.
    """
    size = sql.rows_per_statement(len(sql.TABLE_COLUMNS[table]))
    for chunk in chunks(rows, size):
        params = [value for row in chunk for value in row]
        conn.execute(sql.insert_rows(table, len(chunk)), params)


def select_in(
    conn: Any, table: str, columns: tuple[str, ...], key: str, ids: Iterable[Any]
) -> list[Row]:
    """Rows of ``table`` (only ``columns``) whose ``key`` is one of ``ids``.

    An ``IN`` list of bound values keeps DuckDB on the index of ``key``, whereas a join or
    sub-query would scan the table.
    """
    unique = list(dict.fromkeys(ids))
    found: list[Row] = []
    for chunk in chunks(unique, sql.MAX_ROWS):
        stmt = sql.select_where_in(table, columns, key, len(chunk))
        found.extend(conn.execute(stmt, list(chunk)).fetchall())
    return found
