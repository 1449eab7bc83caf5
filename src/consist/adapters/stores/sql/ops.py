"""Small execution helpers over a qmark DB-API connection: chunked inserts and ``IN`` reads."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from consist.adapters.stores.sql import statements as sql
from consist.core.errors import StoreError, redact

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


def first_row(conn: Any, statement: str, params: Sequence[Any] = ()) -> Row | None:
    """The first row of a statement, with the result fully consumed.

    ``fetchone()`` would leave the rest of the result open, and DuckDB 2 refuses some work
    on a connection with an unfinished result (``register`` of a frame among it): every
    read in the stores fetches to the end, through this or ``fetchall()``.
    """
    rows = conn.execute(statement, list(params)).fetchall()
    return tuple(rows[0]) if rows else None


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


MEMORY = ":memory:"


def database_path(location: str, scheme: str, serves: str) -> str:
    """The file path (or ``":memory:"``) named by a path or a ``<scheme>://`` URL.

    URLs follow the SQLAlchemy convention: ``<scheme>:///relative.db``,
    ``<scheme>:////absolute/path.db``, ``<scheme>:///:memory:`` (or ``<scheme>://``) in
    memory; a query string is ignored. ``serves`` describes the store in errors.
    """
    given, sep, rest = location.partition("://")
    if not sep:
        return os.path.expanduser(location)
    if given.lower() != scheme:
        raise StoreError(f"metadata store {redact(location)!r}: the {serves}, not {given}:// ones.")
    path = rest.partition("?")[0]
    path = path[1:] if path.startswith("/") else path
    return os.path.expanduser(path) if path else MEMORY
