"""The filesystem port: digests and durable writes for one family of URIs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class FileDigest:
    """Content identity of a file or directory: ``"blake3:<hex>"`` (or ``"fast:<hex>"``)."""

    digest: str
    size: int


@runtime_checkable
class FileSystem(Protocol):
    """Digests files and directories and writes bytes atomically."""

    def digest(self, path: Path, hashing: str = "full") -> FileDigest:
        """Digest a file or a directory.

        ``"full"`` digests the bytes (memoised by a persistent hash cache keyed by device,
        inode, size and mtime); ``"fast"`` digests size and mtime only. A directory's digest
        covers its sorted relative paths and their contents.
        """
        ...

    def write_atomic(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` through a temporary file and a rename."""
        ...

    def read_bytes(self, path: Path) -> bytes | None:
        """The contents of the file at ``path``, or None if there is none."""
        ...

    def exists(self, path: Path) -> bool:
        """Whether ``path`` exists."""
        ...

    def mtime_ns(self, path: Path) -> int:
        """Modification time of ``path`` in nanoseconds, as the filesystem's clock set it."""
        ...

    def remove(self, path: Path) -> None:
        """Delete the file at ``path`` if it exists."""
        ...

    def make_dirs(self, path: Path) -> None:
        """Create the directory ``path`` and its parents; an existing one is fine."""
        ...

    def copy_verified(
        self, src: Path, dest: Path, digest: str | None = None, size: int | None = None
    ) -> FileDigest:
        """Copy ``src`` to ``dest`` only if its bytes match ``digest``.

        The copy goes through a temporary file in the destination folder and is renamed into
        place after the check; on a mismatch it raises ``IntegrityError`` and leaves nothing.
        """
        ...
