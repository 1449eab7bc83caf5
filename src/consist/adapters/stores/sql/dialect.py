"""What differs between the SQL databases a :class:`~consist.adapters.stores.sql.dbapi.SqlStore`
runs on, gathered in one :class:`Dialect` object per database.

The store and its table components hold a dialect and call it; they never subclass one
another to change behaviour. The base class is the plain qmark DB-API behaviour (one
multi-row ``VALUES`` insert, bound ``IN`` lists, ``BEGIN TRANSACTION``, no second reader);
:class:`~consist.adapters.stores.duckdb_.DuckDBDialect` and
:class:`~consist.adapters.stores.sqlite_.SQLiteDialect` override what their database does
differently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, ClassVar

from consist.adapters.stores.sql.ops import Row, insert_values, select_in

if TYPE_CHECKING:
    from consist.adapters.stores.sql.connection import Connections


class Dialect:
    """How to connect to, lock and write one kind of SQL database over DB-API."""

    #: The schema dialect (``consist.adapters.stores.sql.schema``): ``"duckdb"``, ``"sqlite"``.
    name: ClassVar[str] = ""
    #: Exception classes of the driver; they never reach callers untranslated.
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    #: Fragments of driver messages that mean another process holds the database.
    lock_conflicts: ClassVar[tuple[str, ...]] = ()
    #: Whether one process at a time may open the database file (DuckDB): the store then
    #: holds the file only while using it and lets go when another process asks.
    exclusive_file: ClassVar[bool] = False
    #: Whether the database is a local file (its folder is created on connect); False for
    #: a server reached by URL (PostgreSQL).
    file_based: ClassVar[bool] = True
    #: Condition that is true when ``run.tags`` (a JSON array) holds the bound tag exactly.
    tag_match_sql: ClassVar[str] = (
        "EXISTS (SELECT 1 FROM json_each(run.tags) WHERE json_each.value = ?)"
    )
    #: The function extracting a JSON value as text.
    json_text: ClassVar[str] = "json_extract"

    def connect(self, path: str, timeout: float) -> Any:
        """A new connection to ``path`` (``timeout``: seconds to wait for another
        process's lock, where the driver waits by itself)."""
        raise NotImplementedError

    def open_reader(self, conn: Any, path: str, timeout: float) -> Any:
        """A second connection for reads that may run during a write, or None to share."""
        return None

    def begin(self, conn: Any) -> None:
        """Start a write transaction on ``conn``."""
        conn.execute("BEGIN TRANSACTION")

    def writing_batch(self, conn: Any) -> AbstractContextManager[None]:
        """Around the transaction that writes a batch of the recorder's rows."""
        return nullcontext()

    def insert(self, conn: Any, table: str, rows: Sequence[Row]) -> None:
        """Insert new rows into one of Consist's tables."""
        insert_values(conn, table, rows)

    def select_in(
        self, conn: Any, table: str, columns: tuple[str, ...], key: str, ids: Iterable[Any]
    ) -> list[Row]:
        """Rows whose ``key`` is one of ``ids`` (used for facet documents)."""
        return select_in(conn, table, columns, key, ids)

    def is_busy(self, exc: BaseException) -> bool:
        """Whether ``exc`` says another process holds the database."""
        text = str(exc)
        return isinstance(exc, self.driver_errors) and any(
            fragment in text for fragment in self.lock_conflicts
        )

    def sqlalchemy_engine(self, db: Connections, conn: Any) -> Any:
        """A new SQLAlchemy engine over ``db``'s database (called once, holding its
        connection ``conn``)."""
        raise NotImplementedError(f"no SQLAlchemy engine for {type(self).__name__}")
