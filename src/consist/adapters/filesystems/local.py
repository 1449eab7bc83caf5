"""The local filesystem adapter: BLAKE3 digests, a persistent hash cache and atomic writes."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import blake3

from consist.adapters.filesystems.copying import copy_verified
from consist.adapters.filesystems.hashcache import DEFAULT_RACY_WINDOW_NS, HashCache
from consist.core.errors import OptionValueError, SpecialFileError
from consist.core.inputs import skipped_in_digest
from consist.core.ports.filesystem import FileDigest

# Below this size, thread start-up costs more than it saves.
_LARGE_FILE = 8 * 1024 * 1024
# Large chunks let the multi-threaded hasher split work across cores per update.
_CHUNK = 4 * 1024 * 1024
_HASHINGS = ("full", "fast")
# A BLAKE3 key-derivation context separates directory manifests from file contents: no file
# can be crafted to share a digest with a directory.
_DIR_CONTEXT = "consist directory manifest v1"
_O_BINARY = getattr(os, "O_BINARY", 0)
# On Windows DirEntry.stat() leaves st_ino at 0, which would make every file unmemoisable.
_ENTRY_STAT_HAS_INODE = os.name != "nt"


def _hash_file(path: str, size: int) -> str:
    """``"blake3:<hex>"`` of the bytes at ``path``; ``size`` (from stat) picks the strategy."""
    if size < _LARGE_FILE:
        with open(path, "rb", buffering=0) as f:
            return "blake3:" + blake3.blake3(f.readall()).hexdigest()
    # Chunked reads, not mmap: a file truncated by another process while mapped kills this
    # process with SIGBUS, and chunked reads already run at the read+hash baseline.
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    _update_chunked(hasher, path)
    return "blake3:" + hasher.hexdigest()


def _update_chunked(hasher: blake3.blake3, path: str) -> None:
    # One reused buffer: no per-chunk allocation, so throughput stays near the read rate.
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            hasher.update(view[:n])


def _same_version(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns, a.st_ctime_ns) == (
        b.st_dev,
        b.st_ino,
        b.st_size,
        b.st_mtime_ns,
        b.st_ctime_ns,
    )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _by_path(item: tuple[bytes, str, os.stat_result | None, bytes]) -> bytes:
    # Byte order of the encoded relative path: a total order independent of locale and of
    # the order in which files were created or listed.
    return item[0]


def _record(rel: bytes, value: bytes) -> bytes:
    # Length prefixes make the manifest unambiguous whatever bytes a file name contains.
    return len(rel).to_bytes(8, "big") + rel + len(value).to_bytes(8, "big") + value


class LocalFileSystem:
    """The :class:`~consist.core.ports.filesystem.FileSystem` port for local paths.

    Parameters
    ----------
    cache_dir
        Where the persistent hash cache (``hash-cache.log``) lives. ``None`` disables it and
        every ``"full"`` digest reads the bytes.
    fsync
        Flush written files (and their directory) to stable storage in :meth:`write_atomic`.
        Off by default: an fsync costs milliseconds per write, and without it a crash can
        lose only the newest write -- the rename never exposes a half-written file, so the
        previous version stays intact.
    racy_window_ns
        Files changed more recently than this are not memoised (see
        :mod:`consist.adapters.filesystems.hashcache`).

    Notes
    -----
    A directory's digest covers every regular file below it, recursively, by sorted relative
    POSIX path and by that file's own digest, so renaming, adding, removing or editing a file
    changes it (zarr format 2's metadata files, ``.zarray``, ``.zattrs``, ``.zgroup`` and
    ``.zmetadata``, count as data). Deliberately left out: other names starting with ``.`` at
    any depth (version-control
    and editor droppings such as ``.git``, ``.DS_Store``, swap files and this adapter's own
    temporary files, which churn without being data), empty directories, and special files
    (FIFOs, sockets, devices), whose reading would block or never end. Symbolic links are
    followed, because a step reads through them; a dangling link is recorded by its target
    and a link cycle raises ``OSError(ELOOP)``.
    """

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        fsync: bool = False,
        racy_window_ns: int = DEFAULT_RACY_WINDOW_NS,
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.fsync = fsync
        # Folders this instance created or saw: snapshots land in the same folder run after
        # run, and a mkdir per write costs a failing syscall and an exception.
        self._known_dirs: set[Path] = set()
        self._cache = (
            HashCache(self.cache_dir / "hash-cache.log", racy_window_ns=racy_window_ns)
            if self.cache_dir is not None
            else None
        )

    def digest(self, path: Path | str, hashing: str = "full") -> FileDigest:
        """Digest a file or a directory.

        Parameters
        ----------
        path
            A file or a directory.
        hashing
            ``"full"`` hashes the bytes (``"blake3:<hex>"``), memoised by the hash cache;
            ``"fast"`` hashes size and mtime only (``"fast:<hex>"``) and reads nothing.

        Returns
        -------
        FileDigest
            The digest and the size in bytes (for a directory, of all files it covers).

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        OptionValueError
            If ``hashing`` is neither ``"full"`` nor ``"fast"``.
        SpecialFileError
            If ``path`` is a device, FIFO or socket (checked by ``stat``: never opened).
        """
        if hashing != "full" and hashing != "fast":
            raise OptionValueError("hashing", hashing, _HASHINGS)
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            name = os.fspath(path)
            raise FileNotFoundError(errno.ENOENT, "cannot digest a missing path", name) from None
        if stat.S_ISREG(st.st_mode):
            return FileDigest(self._digest_file(os.fspath(path), st, hashing), st.st_size)
        if stat.S_ISDIR(st.st_mode):
            return self._digest_dir(os.fspath(path), st, hashing)
        raise SpecialFileError(os.fspath(path), st.st_mode)

    def read_bytes(self, path: Path | str) -> bytes | None:
        """The contents of the file at ``path``, or None if there is none."""
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            return None

    def write_atomic(self, path: Path | str, data: bytes) -> None:
        """Write ``data`` to ``path`` through a temporary file and a rename.

        Readers see the old file or the new one, never a mix. Parent directories are created.
        The new file gets default permissions (``0o666`` less the umask), not the old file's.

        Parameters
        ----------
        path
            The destination file.
        data
            The complete new contents.
        """
        target = Path(path)
        if target.parent not in self._known_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._known_dirs.add(target.parent)
        # Same directory, so the rename stays on one filesystem and is atomic; a leading dot
        # keeps a leftover temp file out of directory digests. The name is cut so a long
        # target name cannot push the temp name past NAME_MAX.
        tmp = target.with_name(f".{target.name[:120]}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
        except FileNotFoundError:  # the folder was removed since: make it again
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
        try:
            try:
                _write_all(fd, data)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if self.fsync and os.name != "nt":
            # The rename itself is durable only once the directory entry is flushed.
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def exists(self, path: Path | str) -> bool:
        """Whether ``path`` exists (a dangling symbolic link does not).

        Parameters
        ----------
        path
            Any path.
        """
        return os.path.exists(path)

    def mtime_ns(self, path: Path | str) -> int:
        """Modification time of ``path`` in nanoseconds (the filesystem's own clock)."""
        return os.stat(path).st_mtime_ns

    def copy_verified(
        self,
        src: Path | str,
        dest: Path | str,
        digest: str | None = None,
        size: int | None = None,
    ) -> FileDigest:
        """Copy a file or directory, verified against its recorded ``digest`` (see
        :func:`consist.adapters.filesystems.copying.copy_verified`)."""
        return copy_verified(Path(src), Path(dest), digest, size, self._full_digest)

    def _full_digest(self, path: Path) -> FileDigest:
        return self.digest(path, "full")

    def remove(self, path: Path | str) -> None:
        """Delete the file at ``path``; a file that is already gone is fine."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    def make_dirs(self, path: Path | str) -> None:
        """Create the directory ``path`` and its parents; an existing one is fine."""
        target = Path(path)
        if target not in self._known_dirs:
            target.mkdir(parents=True, exist_ok=True)
            self._known_dirs.add(target)

    # -- internals -------------------------------------------------------------------------

    def _digest_file(self, path: str, st: os.stat_result, hashing: str) -> str:
        if hashing == "fast":
            return "fast:" + blake3.blake3(b"%d:%d" % (st.st_size, st.st_mtime_ns)).hexdigest()
        cache = self._cache
        if cache is None:
            return _hash_file(path, st.st_size)
        hit = cache.get(st)
        if hit is not None:
            return hit
        digest = _hash_file(path, st.st_size)
        # Memoise only if the file did not change while it was read: otherwise the digest may
        # mix two versions and must not be attached to the version `st` describes.
        with contextlib.suppress(OSError):
            if _same_version(st, os.stat(path)):
                cache.put(st, digest)
        return digest

    def _digest_dir(self, root: str, st: os.stat_result, hashing: str) -> FileDigest:
        files = sorted(self._walk(root, "", frozenset({(st.st_dev, st.st_ino)})), key=_by_path)
        manifest = blake3.blake3(derive_key_context=_DIR_CONTEXT)
        total = 0
        for rel, full, file_st, link_target in files:
            if file_st is None:
                value = b"dangling-symlink:" + link_target
            else:
                value = self._digest_file(full, file_st, hashing).encode("ascii")
                total += file_st.st_size
            manifest.update(_record(rel, value))
        prefix = "fast:" if hashing == "fast" else "blake3:"
        return FileDigest(prefix + manifest.hexdigest(), total)

    def _walk(
        self, directory: str, prefix: str, ancestors: frozenset[tuple[int, int]]
    ) -> Iterator[tuple[bytes, str, os.stat_result | None, bytes]]:
        """Yield ``(relative path, path, stat or None if dangling, link target)`` per file."""
        with os.scandir(directory) as it:
            for entry in it:
                if skipped_in_digest(entry.name):
                    continue
                rel = prefix + entry.name
                try:
                    st = entry.stat() if _ENTRY_STAT_HAS_INODE else os.stat(entry.path)
                except FileNotFoundError:
                    if entry.is_symlink():
                        yield (
                            os.fsencode(rel),
                            entry.path,
                            None,
                            os.fsencode(os.readlink(entry.path)),
                        )
                    continue  # otherwise it vanished mid-walk: digest what is there now
                if stat.S_ISDIR(st.st_mode):
                    ident = (st.st_dev, st.st_ino)
                    if ident in ancestors:
                        raise OSError(errno.ELOOP, "symbolic link cycle in directory", entry.path)
                    yield from self._walk(entry.path, rel + "/", ancestors | {ident})
                elif stat.S_ISREG(st.st_mode):
                    yield os.fsencode(rel), entry.path, st, b""
