"""Downloading a whole prefix (a directory output such as a zarr store) as one verified tree.

Every object below the prefix is streamed into a temporary local folder and digested on the
way; the folder's digest is built from those digests exactly as the local filesystem digests
a directory (same manifest), and the folder is renamed into place only if it matches.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import blake3

from consist.adapters.filesystems.local import _DIR_CONTEXT, _record
from consist.core.errors import IntegrityError, redact
from consist.core.ports.filesystem import FileDigest

if TYPE_CHECKING:
    from consist.adapters.filesystems.fsspec_ import FsspecFileSystem


def download_tree(
    fs: FsspecFileSystem, url: str, dest: Path, digest: str | None, size: int | None
) -> FileDigest:
    """Fetch every object below ``url`` into the folder ``dest``, verified as a whole."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name[:100]}.{os.getpid()}.{secrets.token_hex(6)}.tree")
    prefix = url.rstrip("/") + "/"
    try:
        found: list[tuple[str, str]] = []
        total = 0
        for rel, _info in fs._walk(url):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            file_digest, length = fs._stream_to(prefix + rel, target)
            found.append((rel, file_digest))
            total += length
        manifest = blake3.blake3(derive_key_context=_DIR_CONTEXT)
        for rel, file_digest in sorted(found, key=lambda item: item[0].encode()):
            manifest.update(_record(rel.encode(), file_digest.encode("ascii")))
        result = FileDigest("blake3:" + manifest.hexdigest(), total)
        if digest is not None and digest.startswith("blake3:") and result.digest != digest:
            raise IntegrityError(
                f"{redact(url)} does not match its recorded digest (recorded {digest}, found "
                f"{result.digest}): objects below it changed after it was recorded. Re-run the "
                "step that produced it, or restore the original objects."
            )
        if size is not None and total != size:
            raise IntegrityError(
                f"{redact(url)} does not match its recorded digest: {total} bytes below it, "
                f"{size} recorded."
            )
        if not tmp.exists():
            tmp.mkdir()  # an empty prefix is an empty folder
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result
