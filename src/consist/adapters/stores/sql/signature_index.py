"""A copy of a database's cache index that every process can read at once.

A DuckDB file admits one process at a time, so with several processes sharing it a cache
lookup used to wait for the file (and its ~20 ms handover) before every step. The cache
index — signature → the reusable run and its outputs — is small and changes only when a
batch is committed, so the store keeps a copy of it in a SQLite file beside the database
(``<db>.consist-index``, WAL mode: readers never wait) and answers lookups from there.

The copy is only ever behind the database, never ahead: it is rewritten by the process
holding the database, after that process's commit and before it lets the file go. Each
commit that changes the index bumps a generation number stored in the database; the copy
records the generation (and the database's id) it mirrors, and a holder that finds them
different (a process died between its commit and the copy, the copy was deleted, or the
database file was replaced) rebuilds the copy from the database. A lookup that misses in a
copy that is behind is a cache miss, never a wrong hit; a copy that cannot be opened or
read turns this off and lookups go to the database as before.

A process that starts while another one holds the database cannot compare generations
without waiting for its turn. It trusts the copy if the copy was last written for this very
database file (same device and inode, recorded with every write): the copy is then at worst
behind. A store about to create the database file forgets the copy's file first, since a new
file may get the inode of a deleted one; until a holder has checked the copy against the new
database, it is not used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consist.adapters.stores.sql.ops import Row

log = logging.getLogger("consist")

SUFFIX = ".consist-index"
#: How long a process that started while another held the database waits, once, for that
#: holder to write the copy; and how often it looks meanwhile.
_COPY_WAIT_S = 0.5
_COPY_POLL_S = 0.005
#: SQLite page cache of the copy's connection, in KiB.
_PAGE_CACHE_KB = 256

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entry (run_id TEXT PRIMARY KEY, signature TEXT NOT NULL, "
    "created_at TEXT NOT NULL, run_json TEXT NOT NULL, outputs_json TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_entry_signature ON entry (signature)",
    "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_FIND = "SELECT run_id, created_at, run_json, outputs_json FROM entry WHERE signature = ?"
_UPSERT = (
    "INSERT OR REPLACE INTO entry (run_id, signature, created_at, run_json, outputs_json) "
    "VALUES (?, ?, ?, ?, ?)"
)
_SET_STATE = "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)"


def _file_identity(path: str) -> str | None:
    """``<device>:<inode>`` of ``path``: another file once it is deleted and made again."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return f"{found.st_dev}:{found.st_ino}"


def _text_time(value: Any) -> str:
    """A stored creation time as ISO text (the database hands back datetimes or text)."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


class SignatureIndex:
    """The shared copy of one database's cache index (see the module docstring).

    Parameters
    ----------
    path
        The SQLite file (created if missing).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._database_file = path.removesuffix(SUFFIX)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.usable = True

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            # A lookup reads a handful of pages; the operating system caches the file anyway.
            # SQLite's default page cache (2 MB) would mostly hold entries written once.
            conn.execute(f"PRAGMA cache_size = -{_PAGE_CACHE_KB}")
            for statement in _SCHEMA:
                conn.execute(statement)
            self._conn = conn
        return self._conn

    def _disable(self, what: str, exc: BaseException) -> None:
        log.warning(
            "consist: the shared cache-index copy %s could not %s (%s); cache lookups read "
            "the database instead",
            self.path,
            what,
            exc,
        )
        self.usable = False
        self.close()

    # -- reads (any process, any time) --------------------------------------------------------
    def find(self, signature: str) -> list[Row] | None:
        """The entries for ``signature`` as ``(run_id, created_at, run_json, outputs_json)``,
        or None when the copy cannot be read (ask the database instead)."""
        if not self.usable:
            return None
        try:
            with self._lock:
                return self._connection().execute(_FIND, [signature]).fetchall()
        except sqlite3.Error as exc:
            self._disable("be read", exc)
            return None

    def state(self) -> tuple[str, int] | None:
        """``(database id, generation)`` the copy mirrors; None for a new or unreadable copy."""
        try:
            with self._lock:
                rows = dict(self._connection().execute("SELECT key, value FROM state").fetchall())
        except sqlite3.Error as exc:
            self._disable("be read", exc)
            return None
        if "database" not in rows or "generation" not in rows:
            return None
        try:
            return rows["database"], int(rows["generation"])
        except ValueError:
            return None

    def mirrors_file(self) -> bool:
        """Whether the copy was last written for the database file now at its place."""
        try:
            with self._lock:
                rows = self._connection().execute("SELECT value FROM state WHERE key = 'file'")
                written_for = rows.fetchall()
        except sqlite3.Error as exc:
            self._disable("be read", exc)
            return False
        current = _file_identity(self._database_file)
        return current is not None and written_for == [(current,)]

    def forget_file(self) -> None:
        """Stop vouching for any database file (called before a new one is created)."""
        try:
            with self._lock:
                self._connection().execute("DELETE FROM state WHERE key = 'file'")
        except sqlite3.Error as exc:
            self._disable("be written", exc)

    # -- writes (only by the process holding the database) ------------------------------------
    def replace_all(self, database: str, generation: int, rows: Iterable[Sequence[Any]]) -> None:
        """Make the copy hold exactly ``rows`` (cache-index rows in the database's column
        order: run_id, signature, created_at, run_json, outputs_json)."""
        self._write(database, generation, rows, obsolete=None)

    def apply(
        self,
        database: str,
        generation: int,
        obsolete: Iterable[str],
        rows: Iterable[Sequence[Any]],
    ) -> None:
        """Drop the entries of ``obsolete`` run ids, then add ``rows`` (one transaction)."""
        self._write(database, generation, rows, obsolete=list(obsolete))

    def _write(
        self,
        database: str,
        generation: int,
        rows: Iterable[Sequence[Any]],
        obsolete: list[str] | None,
    ) -> None:
        if not self.usable:
            return
        entries = [(r[0], r[1], _text_time(r[2]), r[3], r[4]) for r in rows]
        try:
            with self._lock:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if obsolete is None:
                        conn.execute("DELETE FROM entry")
                    else:
                        conn.executemany(
                            "DELETE FROM entry WHERE run_id = ?", [(i,) for i in obsolete]
                        )
                    conn.executemany(_UPSERT, entries)
                    conn.execute(_SET_STATE, ["database", database])
                    conn.execute(_SET_STATE, ["generation", str(generation)])
                    conn.execute(_SET_STATE, ["file", _file_identity(self._database_file) or ""])
                    conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            self._disable("be written", exc)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()


# -- keeping the copy in step with the database ---------------------------------------------
_READ_META = "SELECT key, value FROM consist_meta WHERE key IN ('database_id', 'cache_generation')"
_WRITE_META = (
    "INSERT INTO consist_meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
_ALL_ENTRIES = "SELECT run_id, signature, created_at, run_json, outputs_json FROM cache_index"


@dataclass(frozen=True, slots=True)
class Ticket:
    """A commit's change to the cache index, to publish to the copy once committed."""

    database: str
    before: int
    after: int
    obsolete: list[str]
    entries: list[Row]


class IndexMirror:
    """Reads and writes the database side of a :class:`SignatureIndex` (the database's id
    and its cache-index generation, in ``consist_meta``). Every method runs on a connection
    of the process holding the database."""

    def __init__(self, index: SignatureIndex) -> None:
        self.index = index
        #: Whether the copy is known to mirror this database: checked against it (sync,
        #: publish) or written for this very file. Until then lookups read the database.
        self.verified = False
        self._waited = False

    def find(self, signature: str) -> list[Row] | None:
        if not self.verified and not self._verify():
            return None
        return self.index.find(signature)

    def _verify(self) -> bool:
        """Whether the copy is now known to mirror this database. Another process held the
        database at open; it writes the copy right after opening and after every commit, so
        the first lookup waits a moment for that (several processes of an array job start
        at once) rather than queueing for the database itself."""
        deadline = time.monotonic() + (0.0 if self._waited else _COPY_WAIT_S)
        self._waited = True
        while True:
            self.verified = self.index.usable and self.index.mirrors_file()
            if self.verified or time.monotonic() >= deadline:
                return self.verified
            time.sleep(_COPY_POLL_S)

    def _meta(self, conn: Any) -> tuple[str | None, int]:
        values = dict(conn.execute(_READ_META).fetchall())
        try:
            generation = int(values.get("cache_generation") or 0)
        except ValueError:
            generation = -1  # unreadable: never equal to a copy's generation
        return values.get("database_id"), generation

    def sync(self, conn: Any, begin: Any) -> None:
        """Rebuild the copy unless it mirrors this database at its current generation.
        ``begin`` starts a write transaction on ``conn`` (the dialect's)."""
        if not self.index.usable:
            return
        database, generation = self._meta(conn)
        if database is None:  # a database from before copies: give it its id
            database = uuid.uuid4().hex
            begin(conn)
            conn.execute(_WRITE_META, ["database_id", database])
            conn.execute("COMMIT")
        # A copy written before copies recorded their file is rewritten once, so processes
        # that start while this one holds the database can trust it.
        if self.index.state() != (database, generation) or not self.index.mirrors_file():
            self.index.replace_all(database, generation, conn.execute(_ALL_ENTRIES).fetchall())
        self.verified = True

    def record(self, conn: Any, obsolete: list[str], entries: list[Row]) -> Ticket | None:
        """Inside the commit's transaction: count one more generation of the cache index."""
        if not self.index.usable or not (obsolete or entries):
            return None
        database, generation = self._meta(conn)
        if database is None:
            database = uuid.uuid4().hex
            conn.execute(_WRITE_META, ["database_id", database])
        conn.execute(_WRITE_META, ["cache_generation", str(generation + 1)])
        return Ticket(database, generation, generation + 1, obsolete, entries)

    def publish(self, conn: Any, ticket: Ticket) -> None:
        """After the commit, before the database is let go: bring the copy up to date."""
        if self.index.state() == (ticket.database, ticket.before):
            self.index.apply(ticket.database, ticket.after, ticket.obsolete, ticket.entries)
        else:  # the copy missed an earlier commit (or is new): copy the whole index
            rows = conn.execute(_ALL_ENTRIES).fetchall()
            self.index.replace_all(ticket.database, ticket.after, rows)
        self.verified = True
