"""The filesystem a run sees when some mounts are on object stores.

A step writes an output on a store into its staging folder; the run then asks the
filesystem port for the file's digest. For a staged file, *digesting is uploading*: the file
is streamed to its object once and hashed in the same pass, so the recorded digest is that of
the bytes the store received, and a file recorded as an output is always on the store. Every
other call goes to the local filesystem unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

from consist.api.remote import ObjectStores
from consist.core.ports.filesystem import FileDigest, FileSystem

# A staged file's identity for "already uploaded": the same inode, size and times.
_Version = tuple[int, int, int, int, int]


def _version(st: os.stat_result) -> _Version:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class StagedFileSystem:
    """A :class:`~consist.core.ports.filesystem.FileSystem` that uploads staged outputs.

    Parameters
    ----------
    local
        The local filesystem everything else goes to.
    objects
        The tracker's object stores (staging folders and upload).
    """

    def __init__(self, local: FileSystem, objects: ObjectStores) -> None:
        self.local = local
        self.objects = objects
        # Uploaded versions of staged files, so a file digested twice in a process (as an
        # output, then as a later step's input) is sent once.
        self._sent: dict[Path, tuple[_Version, FileDigest]] = {}

    def digest(self, path: Path, hashing: str = "full") -> FileDigest:
        """Digest ``path``; a staged file is uploaded to its object and digested as it
        streams (its digest is BLAKE3 of the bytes whatever ``hashing`` says)."""
        url = self.objects.staged_url(Path(path))
        if url is None:
            return self.local.digest(path, hashing)
        target = Path(path)
        if target.is_dir():
            found = self.local.digest(target, hashing)
            for item in sorted(target.rglob("*")):
                # Dot-names below the folder are not part of its digest, so not sent either.
                hidden = any(p.startswith(".") for p in item.relative_to(target).parts)
                if item.is_file() and not hidden:
                    self._send(item)
            return found
        return self._send(target)

    def _send(self, path: Path) -> FileDigest:
        url = self.objects.staged_url(path)
        assert url is not None
        version = _version(os.stat(path))
        sent = self._sent.get(path)
        if sent is not None and sent[0] == version:
            return sent[1]
        found = self.objects.upload(path, url)
        if _version(os.stat(path)) == version:  # not rewritten while it was being sent
            self._sent[path] = (version, found)
        return found

    def write_atomic(self, path: Path, data: bytes) -> None:
        self.local.write_atomic(path, data)

    def read_bytes(self, path: Path) -> bytes | None:
        return self.local.read_bytes(path)

    def exists(self, path: Path) -> bool:
        return self.local.exists(path)

    def mtime_ns(self, path: Path) -> int:
        return self.local.mtime_ns(path)

    def remove(self, path: Path) -> None:
        self.local.remove(path)

    def make_dirs(self, path: Path) -> None:
        self.local.make_dirs(path)

    def copy_verified(
        self, src: Path, dest: Path, digest: str | None = None, size: int | None = None
    ) -> FileDigest:
        """Copy locally (verified). Bytes put into a staging folder this way are already on
        the store (hydration fetched them from it), so nothing is uploaded."""
        return self.local.copy_verified(src, dest, digest, size)
