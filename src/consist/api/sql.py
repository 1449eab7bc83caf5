"""Running your own SQLAlchemy / SQLModel statements against the metadata database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from consist.api.context import owner_tracker
from consist.core.errors import ArgumentTypeError, StoreError, redact


def _owner(tracker: Any, what: str) -> Any:
    return owner_tracker(tracker, what, "engine")


@contextmanager
def db_session(tracker: Any = None) -> Iterator[Any]:
    """A SQLModel session on the tracker's database (queued records are flushed first)."""
    from sqlmodel import Session

    engine = _owner(tracker, "db_session").engine
    with Session(engine, expire_on_commit=False) as session:
        yield session


def run_query(statement: Any, tracker: Any = None, *, scalars: bool | None = None) -> list[Any]:
    """Run a ``select(...)`` (or SQL text) and return the rows as a list.

    Rows are SQLAlchemy ``Row`` objects: tuple-like, with ``row.column_name`` and
    ``row._mapping``. A single-column select returns its plain values instead
    (``select(Run.id)`` → ids, ``select(Run)`` → ``Run`` objects) unless ``scalars=False``;
    ``scalars=True`` returns the first column's values whatever the select.
    """
    from sqlalchemy import Executable, text
    from sqlalchemy.exc import DBAPIError

    if isinstance(statement, str):
        statement = text(statement)
    if not isinstance(statement, Executable):
        raise ArgumentTypeError(
            f"run_query() takes a select(...) statement or SQL text, got "
            f"{type(statement).__name__} ({statement!r:.80})."
        )

    owner = _owner(tracker, "run_query")
    with db_session(owner) as session:
        try:
            result = session.execute(statement)
            single = len(result.keys()) == 1
            if scalars or (scalars is None and single):
                return list(result.scalars().all())
            return list(result.all())
        except DBAPIError as exc:  # the database refused the statement: say so plainly
            raise StoreError(
                f"the database {redact(owner.db_path)!r} could not run the query: {exc.orig}"
            ) from exc
