"""psycopg 3 connections speaking the qmark SQL of the shared layer, and their errors.

The shared SQL layer (:mod:`consist.adapters.stores.sql`) writes ``?`` placeholders, which
DuckDB and SQLite take as they are; psycopg takes ``%s`` and reads every ``%`` as the start
of one. :func:`to_pyformat` rewrites a statement once (cached per text), and
:class:`PgConnection` applies it on every ``execute``, so the store runs the very same
statements as the other SQL stores.

A connection that the server dropped (a restart, a network cut, an idle timeout of a
proxy) is replaced by a new one before the next statement that starts outside a
transaction, so a long-lived worker survives a server restart without a new tracker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import pq

from consist.core.errors import StoreError, redact

# Literals and quoted identifiers are copied as they are (a '?' inside them is text, not a
# placeholder); outside them '?' is a placeholder. '%' must be doubled everywhere, since
# psycopg scans literals too.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\$\$.*?\$\$|\?|%", re.DOTALL)


@lru_cache(maxsize=1024)
def to_pyformat(statement: str) -> str:
    """``statement`` with ``?`` placeholders as ``%s`` and literal ``%`` as ``%%``."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        return token.replace("%", "%%")

    return _TOKENS.sub(swap, statement)


def libpq_url(location: str) -> str:
    """The libpq connection URL of a ``postgresql://`` (or ``postgres://``,
    ``postgresql+psycopg://``) location: SQLAlchemy's driver suffix is dropped."""
    scheme, _, rest = location.partition("://")
    return f"postgresql://{rest}" if scheme.lower().startswith("postgres") else location


def describe(location: str) -> str:
    """``host:port/database`` of a location, for messages (no credentials)."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(libpq_url(location))
    except psycopg.Error:
        return redact(location)
    host = info.get("host") or "localhost"
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or ''}"


def _password(location: str) -> str | None:
    try:
        value = psycopg.conninfo.conninfo_to_dict(libpq_url(location)).get("password")
    except psycopg.Error:
        return None
    return str(value) if value else None


def scrub(text: str, location: str) -> str:
    """``text`` without credentials: URLs redacted, and the location's password removed
    wherever a driver message might quote it."""
    text = redact(text)
    secret = _password(location)
    return text.replace(secret, "***") if secret else text


def connect_error(location: str, exc: BaseException) -> StoreError:
    """Why a connection to ``location`` failed, and what to do about it."""
    lines = [line.strip() for line in scrub(str(exc), location).splitlines() if line.strip()]
    detail = "; ".join(lines) or type(exc).__name__
    if not detail.endswith((".", "?", "!")):
        detail += "."
    where = describe(location)
    lowered = detail.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        fix = "Check the user name and password in db_path (or in ~/.pgpass / $PGPASSWORD)."
    elif "does not exist" in lowered and "database" in lowered:
        fix = (
            "Create the database first (e.g. `createdb <name>` or CREATE DATABASE), or name "
            "an existing one in db_path."
        )
    else:
        host, _, rest = where.partition(":")
        port = rest.partition("/")[0]
        fix = (
            f"Start the server or correct host/port in db_path; `pg_isready -h {host} -p "
            f"{port}` tells whether a server answers there."
        )
    return StoreError(
        f"metadata store {redact(location)!r}: cannot connect to the PostgreSQL server at "
        f"{where}: {detail} {fix}"
    )


class PgConnection:
    """A psycopg connection (autocommit; transactions are explicit ``BEGIN``/``COMMIT``)
    that takes qmark statements, reconnecting when the server dropped it.

    Parameters
    ----------
    location : str
        The ``postgresql://`` URL, as the user gave it.
    timeout : float
        Seconds to wait for the server to answer a connection attempt.
    """

    def __init__(self, location: str, timeout: float) -> None:
        self.location = location
        self._timeout = max(1, round(timeout))
        self._in_transaction = False
        self.raw = self._open()

    def _open(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            libpq_url(self.location),
            autocommit=True,
            connect_timeout=self._timeout,
            application_name="consist",
        )

    def _ensure_open(self, statement: str) -> None:
        if not (self.raw.closed or self.raw.broken):
            return
        opening = statement.lstrip()[:5].upper() == "BEGIN"
        if self._in_transaction and not opening:
            return  # let the statement fail: the transaction it belonged to is lost
        self._in_transaction = False
        self.raw = self._open()

    def execute(self, statement: str, params: Sequence[Any] | None = None) -> Any:
        """Run one qmark statement; returns the psycopg cursor (``fetchall``...)."""
        self._ensure_open(statement)
        head = statement.lstrip()[:8].upper()
        if head.startswith("BEGIN"):
            self._in_transaction = True
        elif head.startswith(("COMMIT", "ROLLBACK")):
            self._in_transaction = False
            if self.raw.info.transaction_status == pq.TransactionStatus.UNKNOWN:
                raise psycopg.OperationalError("the connection to the server was lost")
        try:
            return self.raw.execute(to_pyformat(statement), list(params or ()))  # type: ignore[call-overload]
        except psycopg.OperationalError:
            # A connection the server dropped is only noticed when used. Starting a
            # transaction, or a read outside one, is safe to repeat on a new connection.
            if not self.raw.broken or not (head.startswith(("BEGIN", "SELECT"))):
                raise
            if head.startswith("SELECT") and self._in_transaction:
                raise
            self.raw = self._open()
            return self.raw.execute(to_pyformat(statement), list(params or ()))  # type: ignore[call-overload]

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one qmark statement for each row (psycopg pipelines them)."""
        self._ensure_open(statement)
        with self.raw.cursor() as cursor:
            cursor.executemany(to_pyformat(statement), [list(row) for row in rows])  # type: ignore[arg-type]

    def close(self) -> None:
        self.raw.close()
