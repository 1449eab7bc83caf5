"""The object-store capability of a filesystem: metadata, verified downloads, uploads.

A filesystem adapter for a remote protocol (S3 through fsspec, ...) offers this beside the
:class:`~consist.core.ports.filesystem.FileSystem` port. Addresses are full URLs
(``s3://bucket/key``); local files are :class:`~pathlib.Path` objects. Content identity is
always the BLAKE3 digest of the bytes: an object's ETag or version id is only a *hint* that
it has not changed since it was last read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from consist.core.ports.filesystem import FileDigest


@dataclass(frozen=True, slots=True)
class ObjectStat:
    """What an object store says about one object without reading it.

    Attributes
    ----------
    url
        The object's address.
    size
        Its length in bytes.
    etag
        The store's entity tag, if any (not a content hash for multipart uploads).
    version
        The version id on a versioned bucket, else None.
    """

    url: str
    size: int
    etag: str | None = None
    version: str | None = None

    @property
    def hint(self) -> str | None:
        """A token that changes whenever the object is replaced, or None if the store gives
        none. A version id is exact; an ETag changes with every write of other bytes."""
        tag = self.version or self.etag
        return f"{self.url}\0{tag}\0{self.size}" if tag else None


@runtime_checkable
class ObjectStore(Protocol):
    """Cheap metadata, verified downloads and digested uploads for one URL protocol."""

    def stat(self, url: str) -> ObjectStat | None:
        """The object's metadata (one HEAD request), or None if there is no such object."""
        ...

    def download(
        self, url: str, dest: Path, digest: str | None = None, size: int | None = None
    ) -> FileDigest:
        """Fetch the object into the local file ``dest``, digesting what arrived.

        The bytes go to a temporary file beside ``dest`` and are renamed into place only if
        they match ``digest`` (and ``size``) when given; otherwise ``IntegrityError`` is
        raised and nothing is left behind. A prefix is fetched as a folder, verified by its
        directory digest.
        """
        ...

    def upload(self, src: Path, url: str) -> FileDigest:
        """Stream the local file ``src`` to ``url``, digesting the bytes as they are sent."""
        ...
