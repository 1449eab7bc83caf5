"""A persistent, process-safe memo of file digests keyed by a file's stat identity.

Storage is an append-only text log, one entry per line::

    <st_dev> <st_ino> <st_size> <st_mtime_ns> <st_ctime_ns> blake3:<64 hex> <crc32 of the rest>

Several processes may share one log. Each entry is appended with a single ``os.write`` on an
``O_APPEND`` descriptor; on a local filesystem such a short write lands whole and is never
interleaved with another process's. Every line read back is validated (field count, number
syntax, digest syntax and a CRC-32) and skipped if anything is off, so a line torn by a crash,
or a torn line that a later append glued onto, is never trusted. The worst a damaged or lost
line can cause is a re-hash, never a wrong digest.

Why ``st_ctime_ns`` is part of the key, beyond device, inode, size and mtime: tools such as
``cp -p``, ``rsync -t``, ``tar`` and ``unzip`` set the mtime of a file they rewrite to a value
chosen by the source, so new contents can share size and mtime with the old ones (sometimes
even the inode, when a deleted inode is reused). The kernel always moves ctime to "now" on such
a rewrite and it cannot be set by users, so keying on it closes that false-hit hole. The cost is
a re-hash after pure metadata changes (chmod, new hard link), which is harmless.

Why recent files are not memoised (the *racy window*): filesystem timestamps are coarse (one
kernel tick on Linux, 2 s on FAT), so a file still being written can change its bytes while
keeping size, mtime and ctime. A file whose mtime or ctime lies within ``racy_window_ns`` of
"now" (or in the future) is therefore hashed every time until it has been quiet for the
window; only then is its digest remembered.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import threading
import time
import zlib
from pathlib import Path
from typing import Protocol

_log = logging.getLogger(__name__)

DEFAULT_RACY_WINDOW_NS = 2_000_000_000
DEFAULT_COMPACT_MIN_LINES = 10_000

_DIGEST_RE = re.compile(rb"blake3:[0-9a-f]{64}")
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows would otherwise translate newlines

Key = tuple[int, int, int, int, int]

# A module-level clock so unit tests can move "now" without sleeping through the window.
_now_ns = time.time_ns


class StatLike(Protocol):
    """The parts of an ``os.stat_result`` that identify one version of a file."""

    @property
    def st_dev(self) -> int: ...
    @property
    def st_ino(self) -> int: ...
    @property
    def st_size(self) -> int: ...
    @property
    def st_mtime_ns(self) -> int: ...
    @property
    def st_ctime_ns(self) -> int: ...


def _key(st: StatLike) -> Key:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _format(key: Key, digest: str) -> bytes:
    body = b"%d %d %d %d %d %s" % (*key, digest.encode("ascii"))
    return body + b" %08x\n" % zlib.crc32(body)


def _parse(line: bytes) -> tuple[Key, str] | None:
    """One log line as ``(key, digest)``, or None if it is not exactly a well-formed entry."""
    body, sep, crc = line.rpartition(b" ")
    if not sep or len(crc) != 8:
        return None
    fields = body.split(b" ")
    if len(fields) != 6 or not _DIGEST_RE.fullmatch(fields[5]):
        return None
    try:
        if int(crc, 16) != zlib.crc32(body):
            return None
        dev, ino, size, mtime, ctime = (int(f) for f in fields[:5])
    except ValueError:
        return None
    return (dev, ino, size, mtime, ctime), fields[5].decode("ascii")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class HashCache:
    """A persistent memo ``stat identity -> "blake3:<hex>"`` shared by processes.

    Parameters
    ----------
    path
        The log file. Its directory is created on the first write.
    racy_window_ns
        Files modified (mtime or ctime) less than this long ago are not memoised.
    compact_min_lines
        The log is rewritten without superseded lines once it holds more than this many
        lines *and* more than twice as many lines as distinct entries.

    Notes
    -----
    The log is read lazily on the first lookup; a lookup that misses re-reads whatever other
    processes appended since, so a digest computed elsewhere is reused rather than recomputed.
    Failing to read or write the log never fails a digest: the cache logs a warning and stops
    writing, and digests are simply computed.
    """

    def __init__(
        self,
        path: Path,
        *,
        racy_window_ns: int = DEFAULT_RACY_WINDOW_NS,
        compact_min_lines: int = DEFAULT_COMPACT_MIN_LINES,
    ) -> None:
        self.path = Path(path)
        self.racy_window_ns = racy_window_ns
        self.compact_min_lines = compact_min_lines
        self._entries: dict[Key, str] | None = None
        self._log_id: tuple[int, int] | None = None  # (st_dev, st_ino) of the log read so far
        self._offset = 0  # bytes of that log consumed, always at a line boundary
        self._lines = 0  # lines of that log consumed (valid or not) -- drives compaction
        self._readable = self._writable = True
        self._lock = threading.Lock()

    def get(self, st: StatLike) -> str | None:
        """The memoised digest of the file version ``st`` describes, or None.

        Parameters
        ----------
        st
            A fresh ``os.stat`` result of the file.

        Returns
        -------
        str or None
            ``"blake3:<hex>"`` if this exact version was digested before.
        """
        entries = self._entries if self._entries is not None else self._load()
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        digest = entries.get(key)
        if digest is None and st.st_ino and self._refresh():
            digest = entries.get(key)
        return digest

    def put(self, st: StatLike, digest: str) -> None:
        """Remember ``digest`` for the file version ``st`` (unless it is too recent).

        Parameters
        ----------
        st
            The ``os.stat`` result taken *before* the bytes were hashed.
        digest
            ``"blake3:<64 hex>"``.

        Raises
        ------
        ValueError
            If ``digest`` is not a full BLAKE3 digest.
        """
        if not _DIGEST_RE.fullmatch(digest.encode("ascii", "replace")):
            raise ValueError(f"HashCache only stores 'blake3:<64 hex>' digests, got {digest!r}.")
        # Without an inode number (some network filesystems report 0) two files could share
        # a key, so such files are never memoised.
        if not st.st_ino:
            return
        if max(st.st_mtime_ns, st.st_ctime_ns) >= _now_ns() - self.racy_window_ns:
            return
        entries = self._entries if self._entries is not None else self._load()
        key = _key(st)
        if entries.get(key) == digest:
            return
        entries[key] = digest
        if not self._writable:
            return
        with self._lock:
            self._append(_format(key, digest))
            if self._lines > self.compact_min_lines and self._lines > 2 * len(entries):
                self._compact(entries)

    # -- internals -------------------------------------------------------------------------

    def _load(self) -> dict[Key, str]:
        with self._lock:
            if self._entries is None:
                entries: dict[Key, str] = {}
                self._read_new(entries)
                self._entries = entries  # published only once filled
            return self._entries

    def _refresh(self) -> bool:
        """Read lines other processes appended since; True if any were read."""
        if not self._readable:
            return False
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        if (st.st_dev, st.st_ino) == self._log_id and st.st_size == self._offset:
            return False
        assert self._entries is not None
        with self._lock:
            return self._read_new(self._entries)

    def _read_new(self, entries: dict[Key, str]) -> bool:
        try:
            f = open(self.path, "rb")  # noqa: SIM115 -- closed just below
        except FileNotFoundError:
            return False
        except OSError as exc:
            # Warn once, then stop trying: this path is taken on every miss.
            self._readable = self._writable = False
            _log.warning("hash cache %s is unusable (%s); digests are recomputed", self.path, exc)
            return False
        with f:
            fst = os.fstat(f.fileno())
            if (fst.st_dev, fst.st_ino) != self._log_id or fst.st_size < self._offset:
                # Replaced by another process's compaction (or truncated): read it whole.
                # Entries already known stay: every entry ever validated is a true fact.
                self._log_id, self._offset, self._lines = (fst.st_dev, fst.st_ino), 0, 0
            f.seek(self._offset)
            data = f.read()
        # A last line without its newline may still be being written; leave it for later.
        end = data.rfind(b"\n") + 1
        if not end:
            return False
        lines = data[:end].split(b"\n")[:-1]
        for line in lines:
            parsed = _parse(line)
            if parsed is not None:
                entries[parsed[0]] = parsed[1]
        self._offset += end
        self._lines += len(lines)
        return True

    def _append(self, line: bytes) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _O_BINARY
        try:
            try:
                fd = os.open(self.path, flags, 0o666)
            except FileNotFoundError:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, flags, 0o666)
            try:
                # One write call: O_APPEND makes it land whole after every other writer's.
                written = os.write(fd, line)
                end = os.lseek(fd, 0, os.SEEK_CUR)
                fst = os.fstat(fd)
            finally:
                os.close(fd)
            if written != len(line):
                raise OSError(f"short write ({written} of {len(line)} bytes)")
        except OSError as exc:
            self._writable = False
            _log.warning(
                "hash cache %s is not writable (%s); digests will not persist", self.path, exc
            )
            return
        # If nobody else appended since our last read, our line is the whole unread tail:
        # account for it now instead of re-reading it on the next miss.
        ident = (fst.st_dev, fst.st_ino)
        if self._log_id in (None, ident) and end == self._offset + len(line):
            self._log_id, self._offset, self._lines = ident, end, self._lines + 1

    def _compact(self, entries: dict[Key, str]) -> None:
        # Pick up other processes' appends first so the rewrite does not drop them. Lines
        # appended between this read and the rename are lost, which only costs a re-hash.
        self._read_new(entries)
        payload = b"".join(_format(k, d) for k, d in entries.items())
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
            try:
                _write_all(fd, payload)
                fst = os.fstat(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            _log.warning("hash cache %s could not be compacted (%s)", self.path, exc)
            return
        self._log_id, self._offset, self._lines = (
            (fst.st_dev, fst.st_ino),
            len(payload),
            len(entries),
        )
