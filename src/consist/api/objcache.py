"""The local download cache for objects on remote stores: content-addressed and bounded.

Layout under ``run_dir/.consist/cache/``::

    blobs/<first two hex>/<blake3 hex>    the bytes, named by their digest
    blobs/<first two hex>/<hex>.used      touched on every use (its mtime orders eviction)
    named/<blake3 hex>/<object name>      hard links to blobs under the object's file name
    hints.log                             one JSON line per object version seen:
                                          [url, etag or version id, size, digest]

A blob is the verified bytes of one digest, whichever URL they came from, so two objects
with the same content are stored once. Blobs are checked against their name every time
they are handed out; the local hash cache keeps that check to a ``stat`` for files that
have not changed.

Eviction: after a download the cache removes the least recently used blobs (by the mtime of
their ``.used`` marker, never the blob just added) until the total is at most
``max_bytes``. The bound comes from ``CONSIST_CACHE_MAX_BYTES`` (default 20 GiB); ``0``
keeps nothing but the newest blob. The marker is separate from the blob because touching
the blob itself would change its ctime and void the hash cache's memo of it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import warnings
from pathlib import Path

from consist.core.errors import ArgumentError, ConsistWarning
from consist.core.ports.filesystem import FileDigest, FileSystem

DEFAULT_MAX_BYTES = 20 * 1024**3
MAX_BYTES_VARIABLE = "CONSIST_CACHE_MAX_BYTES"


def max_bytes_from_environment() -> int:
    """The cache bound from ``CONSIST_CACHE_MAX_BYTES`` (bytes), else the default."""
    text = os.environ.get(MAX_BYTES_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ArgumentError(
            f"{MAX_BYTES_VARIABLE}={text!r} is not a number of bytes; set it to a "
            f"non-negative integer such as {DEFAULT_MAX_BYTES} (20 GiB), or unset it."
        )
    return value


def _tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class DownloadCache:
    """Verified local copies of remote objects, by BLAKE3 digest.

    Parameters
    ----------
    root
        The cache folder (``run_dir/.consist/cache``).
    fs
        The local filesystem, whose memoised digests make re-verification cheap.
    max_bytes
        Size bound of the blobs (see the module notes for the eviction rule).
    """

    def __init__(self, root: Path, fs: FileSystem, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self._fs = fs
        self.max_bytes = max_bytes
        self._hints: dict[tuple[str, str, int], str] | None = None

    # -- blobs -----------------------------------------------------------------------------
    def path_for(self, digest: str) -> Path:
        """Where the blob of ``digest`` lives (whether or not it is there)."""
        hex_part = digest.partition(":")[2]
        if not hex_part or not all(c in "0123456789abcdef" for c in hex_part):
            raise ArgumentError(f"{digest!r} is not a BLAKE3 digest; expected 'blake3:<hex>'.")
        return self.blobs / hex_part[:2] / hex_part

    def get(self, digest: str) -> Path | None:
        """The blob of ``digest`` if it is present and intact, else None.

        A blob whose bytes no longer match its name (edited, truncated, bit rot) is removed
        with a warning, so it is downloaded again instead of being handed to a step.
        """
        path = self.path_for(digest)
        if not path.exists():
            return None
        found = self._fs.digest(path, "full").digest
        if found != digest:
            warnings.warn(
                f"cached copy {path} does not match its digest {digest} (found {found}); it "
                "was altered on disk, so it is discarded and the object is downloaded again.",
                ConsistWarning,
                stacklevel=3,
            )
            self._discard(path)
            return None
        self._touch(path)
        return path

    def admit(self, digest: str) -> Path:
        """Note that the blob of ``digest`` was just written, then evict down to the bound."""
        path = self.path_for(digest)
        self._touch(path)
        self._evict(keep=path)
        return path

    def named(self, blob: Path, name: str) -> Path:
        """``blob`` under the object's own file name, for steps and tools that go by the
        suffix (``.nc``, ``.shp``): a hard link ``named/<digest>/<name>``, so it costs no
        space and is checked whenever its blob is. Folders and nameless objects are handed
        out as the blob itself."""
        if not name or name.startswith(".") or "/" in name or not blob.is_file():
            return blob
        link = self.root / "named" / blob.name / name
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(blob, link)
            except FileExistsError:
                pass  # another tracker made it meanwhile
            except OSError:
                return blob  # a filesystem without hard links: the blob will do
        return link

    def _touch(self, path: Path) -> None:
        marker = path.with_name(path.name + ".used")
        try:
            os.utime(marker)
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                marker.touch()

    def _discard(self, path: Path) -> None:
        shutil.rmtree(self.root / "named" / path.name, ignore_errors=True)
        if path.is_dir():  # a directory output (a zarr store, a folder of tiles)
            shutil.rmtree(path, ignore_errors=True)
        for victim in (path, path.with_name(path.name + ".used")):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                victim.unlink()

    def _entries(self) -> list[tuple[float, int, Path]]:
        """``(last use, size, path)`` of every blob."""
        found: list[tuple[float, int, Path]] = []
        if not self.blobs.is_dir():
            return found
        for shard in os.scandir(self.blobs):
            if not shard.is_dir():
                continue
            for entry in os.scandir(shard.path):
                if entry.name.endswith(".used") or entry.name.startswith("."):
                    continue
                blob = Path(entry.path)
                try:
                    size = _tree_size(blob) if entry.is_dir() else entry.stat().st_size
                    used = blob.with_name(blob.name + ".used").stat().st_mtime
                except FileNotFoundError:
                    used = 0.0
                found.append((used, size, blob))
        return found

    def _evict(self, keep: Path) -> None:
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        for _, size, blob in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            if blob == keep:
                continue
            self._discard(blob)
            total -= size

    # -- hints -----------------------------------------------------------------------------
    @property
    def hints_log(self) -> Path:
        return self.root / "hints.log"

    def _load_hints(self) -> dict[tuple[str, str, int], str]:
        if self._hints is None:
            self._hints = {}
            with contextlib.suppress(FileNotFoundError):
                for line in self.hints_log.read_text(encoding="utf-8").splitlines():
                    try:
                        url, tag, size, digest = json.loads(line)
                        self._hints[(str(url), str(tag), int(size))] = str(digest)
                    except (ValueError, TypeError):
                        continue  # a line cut by a crash: the object is simply read again
        return self._hints

    def known_digest(self, url: str, tag: str | None, size: int) -> str | None:
        """The digest recorded for this version of the object (a hint, never identity)."""
        if not tag:
            return None
        return self._load_hints().get((url, tag, size))

    def remember(self, url: str, tag: str | None, found: FileDigest) -> None:
        """Record that this version of ``url`` has digest ``found``."""
        if not tag:
            return
        hints = self._load_hints()
        key = (url, tag, found.size)
        if hints.get(key) == found.digest:
            return
        hints[key] = found.digest
        self.root.mkdir(parents=True, exist_ok=True)
        line = json.dumps([url, tag, found.size, found.digest]) + "\n"
        # One append per line: concurrent trackers on one workspace interleave whole lines.
        fd = os.open(self.hints_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
