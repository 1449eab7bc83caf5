"""Registers the built-in filesystem adapters: local paths, and object stores via fsspec.

The factories are ``"module:Class"`` strings so that discovering this plugin imports neither
``blake3``, ``fsspec`` nor the adapter modules; each loads only when its filesystem is chosen.
"""

from __future__ import annotations

from consist.core.hookspecs import hookimpl
from consist.core.registry import FileSystemSpec


@hookimpl
def consist_filesystems() -> list[FileSystemSpec]:
    """Return the specs of the local filesystem (``file://`` URIs and plain paths) and of
    the fsspec one (object stores: ``s3://`` and any other protocol fsspec knows).

    Returns
    -------
    list of FileSystemSpec
        Specs named ``"local"`` and ``"fsspec"``.
    """
    return [
        FileSystemSpec(
            name="local",
            factory="consist.adapters.filesystems.local:LocalFileSystem",
            protocols=("file", ""),
            plugin="consist.adapters.filesystems.plugin",
            capabilities=("digest", "hash-cache", "atomic-write"),
        ),
        # Protocols listed here are the ones tested or commonly used; any other URL scheme
        # falls back to this adapter too, since fsspec resolves protocols itself.
        FileSystemSpec(
            name="fsspec",
            factory="consist.adapters.filesystems.fsspec_:FsspecFileSystem",
            protocols=("s3", "s3a", "gs", "gcs", "az", "abfs", "memory"),
            requires=("fsspec", "s3fs (for s3://)"),
            plugin="consist.adapters.filesystems.plugin",
            capabilities=("digest", "object-store", "streamed-upload", "verified-download"),
        ),
    ]
