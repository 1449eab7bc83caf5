"""A fake :class:`~consist.core.ports.filesystem.FileSystem` that keeps its files in memory.

:class:`MemoryFileSystem` never touches the disk: files are bytes and an mtime in a dict keyed
by path, folders a set of paths (every parent of a file exists). Paths are compared as given
(``Path`` objects, not resolved). Tests set files up behind its back through
:attr:`MemoryFileSystem.files` (a :class:`MemoryFiles`, the
:class:`~consist.testing.contracts.filesystem.Files` back door of the filesystem contract).

Digests have the adapter's format (``"blake3:<64 hex>"``, ``"fast:<64 hex>"``) and its
properties -- equal bytes, equal digests; a directory digest covers sorted relative paths and
contents, skipping names that start with ``"."`` -- but ``consist.testing`` imports only the
standard library and the core, so the hash is BLAKE2b-256, not BLAKE3: a digest made by this
fake never equals the local adapter's for the same bytes (a declared gap of the contract).
"""

from __future__ import annotations

import errno
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath

from consist.core.errors import IntegrityError, OptionValueError
from consist.core.inputs import skipped_in_digest
from consist.core.ports.filesystem import FileDigest

_HASHINGS = ("full", "fast")
_DIR_KEY = b"consist directory manifest v1"


@dataclass(slots=True)
class _File:
    data: bytes
    mtime_ns: int


def _hex(data: bytes, key: bytes = b"") -> str:
    return hashlib.blake2b(data, digest_size=32, key=key).hexdigest()


def _record(rel: bytes, value: bytes) -> bytes:
    return len(rel).to_bytes(8, "big") + rel + len(value).to_bytes(8, "big") + value


def _missing(path: Path, what: str = "no such file or directory") -> FileNotFoundError:
    return FileNotFoundError(errno.ENOENT, what, str(path))


def _mismatch(src: Path, expected: str, found: str) -> IntegrityError:
    return IntegrityError(
        f"{src} does not match its recorded digest (recorded {expected}, found {found}): the "
        "bytes changed after they were recorded."
    )


class MemoryFileSystem:
    """The filesystem port over files held in memory.

    Parameters
    ----------
    clock
        Returns the time in nanoseconds given to written files (``time.time_ns`` by default);
        each write gets a later mtime than the one before, as a real clock would give
        eventually.
    """

    def __init__(self, clock: Callable[[], int] | None = None) -> None:
        self._clock: Callable[[], int] = clock if clock is not None else time.time_ns
        self._last_ns = 0
        self._files: dict[Path, _File] = {}
        self._dirs: dict[Path, int] = {}
        self.files = MemoryFiles(self)

    def __repr__(self) -> str:
        return f"MemoryFileSystem({len(self._files)} files)"

    # -- the port --------------------------------------------------------------------------

    def digest(self, path: Path | str, hashing: str = "full") -> FileDigest:
        if hashing not in _HASHINGS:
            raise OptionValueError("hashing", hashing, _HASHINGS)
        path = Path(path)
        entry = self._files.get(path)
        if entry is not None:
            return FileDigest(self._digest_file(entry, hashing), len(entry.data))
        if path in self._dirs:
            return self._digest_dir(path, hashing)
        raise _missing(path, "cannot digest a missing path")

    def write_atomic(self, path: Path | str, data: bytes) -> None:
        self._put(Path(path), bytes(data))

    def read_bytes(self, path: Path | str) -> bytes | None:
        entry = self._files.get(Path(path))
        return None if entry is None else entry.data

    def exists(self, path: Path | str) -> bool:
        path = Path(path)
        return path in self._files or path in self._dirs

    def mtime_ns(self, path: Path | str) -> int:
        path = Path(path)
        entry = self._files.get(path)
        if entry is not None:
            return entry.mtime_ns
        if path in self._dirs:
            return self._dirs[path]
        raise _missing(path)

    def remove(self, path: Path | str) -> None:
        path = Path(path)
        if path in self._dirs:
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        if self._files.pop(path, None) is not None:
            self._touch_dir(path.parent)

    def make_dirs(self, path: Path | str) -> None:
        self._mkdirs(Path(path))

    def copy_verified(
        self,
        src: Path | str,
        dest: Path | str,
        digest: str | None = None,
        size: int | None = None,
    ) -> FileDigest:
        src, dest = Path(src), Path(dest)
        self._mkdirs(dest.parent)
        if src in self._dirs:
            found = self.digest(src)
            if digest is not None and digest.startswith("blake3:") and found.digest != digest:
                raise _mismatch(src, digest, found.digest)
            copies = {dest / rel: entry.data for rel, entry in self._under(src)}
            if dest in self._dirs or dest in self._files:
                self._delete_tree(dest)
            self._mkdirs(dest)
            for path, data in copies.items():
                self._put(path, data)
            return found
        entry = self._files.get(src)
        if entry is None:
            raise _missing(src)
        found_digest = self._digest_file(entry, "full")
        if digest is not None and digest.startswith("blake3:") and found_digest != digest:
            raise _mismatch(src, digest, found_digest)
        copied = len(entry.data)
        fast = digest is not None and digest.startswith("fast:")
        if fast and size is not None and copied != size:
            raise _mismatch(src, f"{size} bytes", f"{copied} bytes")
        self._put(dest, entry.data)
        return FileDigest(found_digest, copied)

    # -- internals -------------------------------------------------------------------------

    def _now(self) -> int:
        self._last_ns = max(int(self._clock()), self._last_ns + 1)
        return self._last_ns

    def _touch_dir(self, path: Path) -> None:
        if path in self._dirs:
            self._dirs[path] = self._now()

    def _mkdirs(self, path: Path) -> None:
        chain = [path, *path.parents]
        for folder in chain:
            if folder in self._files:
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(folder))
        now = self._now()
        for folder in chain:
            self._dirs.setdefault(folder, now)

    def _put(self, path: Path, data: bytes, mtime_ns: int | None = None) -> None:
        if path in self._dirs:
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        self._mkdirs(path.parent)
        self._files[path] = _File(data, self._now() if mtime_ns is None else mtime_ns)
        self._touch_dir(path.parent)

    def _under(self, root: Path) -> Iterator[tuple[PurePath, _File]]:
        for path, entry in self._files.items():
            if path != root and root in path.parents:
                yield path.relative_to(root), entry

    def _delete_tree(self, root: Path) -> None:
        self._files.pop(root, None)
        for path in [p for p in self._files if root in p.parents]:
            del self._files[path]
        for folder in [d for d in self._dirs if d == root or root in d.parents]:
            del self._dirs[folder]

    def _digest_file(self, entry: _File, hashing: str) -> str:
        if hashing == "fast":
            return "fast:" + _hex(b"%d:%d" % (len(entry.data), entry.mtime_ns))
        return "blake3:" + _hex(entry.data)

    def _digest_dir(self, root: Path, hashing: str) -> FileDigest:
        listed = [
            (rel.as_posix().encode(), entry)
            for rel, entry in self._under(root)
            if not any(skipped_in_digest(part) for part in rel.parts)
        ]
        manifest = hashlib.blake2b(digest_size=32, key=_DIR_KEY)
        total = 0
        for rel, entry in sorted(listed, key=lambda item: item[0]):
            manifest.update(_record(rel, self._digest_file(entry, hashing).encode("ascii")))
            total += len(entry.data)
        prefix = "fast:" if hashing == "fast" else "blake3:"
        return FileDigest(prefix + manifest.hexdigest(), total)


class MemoryFiles:
    """The back door to a :class:`MemoryFileSystem`: change its files as other programs would
    change files on disk (the filesystem contract's
    :class:`~consist.testing.contracts.filesystem.Files`)."""

    def __init__(self, fs: MemoryFileSystem) -> None:
        self._fs = fs

    def write(self, path: Path, data: bytes) -> Path:
        self._fs._put(Path(path), bytes(data))
        return path

    def patch(self, path: Path, offset: int, data: bytes) -> None:
        entry = self._entry(Path(path))
        buf = bytearray(entry.data)
        buf[offset : offset + len(data)] = data
        entry.data = bytes(buf)
        entry.mtime_ns = self._fs._now()

    def read(self, path: Path) -> bytes:
        return self._entry(Path(path)).data

    def set_mtime(self, path: Path, mtime_ns: int) -> None:
        path = Path(path)
        if path in self._fs._dirs:
            self._fs._dirs[path] = mtime_ns
        else:
            self._entry(path).mtime_ns = mtime_ns

    def mtime_ns(self, path: Path) -> int:
        return self._fs.mtime_ns(path)

    def rename(self, src: Path, dest: Path) -> Path:
        fs, src, dest = self._fs, Path(src), Path(dest)
        if src in fs._files:
            entry = fs._files.pop(src)
            fs._put(dest, entry.data, entry.mtime_ns)
            fs._touch_dir(src.parent)
            return dest
        if src not in fs._dirs:
            raise _missing(src)
        moved = [(rel, entry) for rel, entry in fs._under(src)]
        folders = [d.relative_to(src) for d in fs._dirs if d == src or src in d.parents]
        fs._delete_tree(src)
        for rel_dir in folders:
            fs._mkdirs(dest / rel_dir)
        for rel, entry in moved:
            fs._put(dest / rel, entry.data, entry.mtime_ns)
        return dest

    def rmtree(self, path: Path) -> None:
        path = Path(path)
        if path not in self._fs._dirs:
            raise _missing(path)
        self._fs._delete_tree(path)

    def listdir(self, path: Path) -> list[str]:
        path = Path(path)
        if path not in self._fs._dirs:
            raise _missing(path)
        names = {p.name for p in self._fs._files if p.parent == path}
        names.update(d.name for d in self._fs._dirs if d.parent == path and d != path)
        return sorted(names)

    def is_file(self, path: Path) -> bool:
        return Path(path) in self._fs._files

    def _entry(self, path: Path) -> _File:
        entry = self._fs._files.get(path)
        if entry is None:
            raise _missing(path)
        return entry
