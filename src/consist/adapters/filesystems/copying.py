"""Verified copies: bytes land under their final name only if they match the recorded digest.

A file is streamed into a temporary file in the destination folder and hashed on the way;
a directory is copied into a temporary folder and digested like any directory input. Only a
match is renamed into place, so a failed copy never leaves a partial or wrong file behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import blake3

from consist.core.errors import IntegrityError
from consist.core.ports.filesystem import FileDigest

_CHUNK = 4 * 1024 * 1024


def _scratch(dest: Path, suffix: str) -> Path:
    return dest.with_name(f".{dest.name[:120]}.{os.getpid()}.{secrets.token_hex(6)}.{suffix}")


def _mismatch(src: Path, expected: str, found: str) -> IntegrityError:
    return IntegrityError(
        f"{src} does not match its recorded digest (recorded {expected}, found {found}): the "
        "bytes changed after they were recorded. Re-run the step that produced them, or "
        "restore the original file."
    )


def _stream_file(src: Path, tmp: Path) -> tuple[str, int]:
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    size = 0
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(src, "rb", buffering=0) as reader, open(tmp, "xb", buffering=0) as writer:
        while n := reader.readinto(buffer):
            chunk = view[:n]
            hasher.update(chunk)
            writer.write(chunk)
            size += n
    return "blake3:" + hasher.hexdigest(), size


def copy_verified(
    src: Path,
    dest: Path,
    digest: str | None,
    size: int | None,
    digest_dir: Callable[[Path], FileDigest],
) -> FileDigest:
    """Copy ``src`` (file or directory) to ``dest``, verified against ``digest``.

    ``"blake3:"`` digests are checked in full; ``"fast:"`` digests (size and mtime, which a
    copy cannot keep) are checked by size only; ``None`` skips the check.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        return _copy_dir(src, dest, digest, digest_dir)
    tmp = _scratch(dest, "tmp")
    try:
        found, copied = _stream_file(src, tmp)
        if digest is not None and digest.startswith("blake3:") and found != digest:
            raise _mismatch(src, digest, found)
        if (
            digest is not None
            and digest.startswith("fast:")
            and size is not None
            and copied != size
        ):
            raise _mismatch(src, f"{size} bytes", f"{copied} bytes")
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return FileDigest(found, copied)


def _copy_dir(
    src: Path, dest: Path, digest: str | None, digest_dir: Callable[[Path], FileDigest]
) -> FileDigest:
    tmp = _scratch(dest, "tmpdir")
    try:
        shutil.copytree(src, tmp, symlinks=False)
        found = digest_dir(tmp)
        if digest is not None and digest.startswith("blake3:") and found.digest != digest:
            raise _mismatch(src, digest, found.digest)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return found
