"""Registers the built-in local filesystem adapter.

The factory is a ``"module:Class"`` string so that discovering this plugin imports neither
``blake3`` nor the adapter module; both load only when the local filesystem is chosen.
"""

from __future__ import annotations

from consist.core.hookspecs import hookimpl
from consist.core.registry import FileSystemSpec


@hookimpl
def consist_filesystems() -> list[FileSystemSpec]:
    """Return the spec of the local filesystem (``file://`` URIs and plain paths).

    Returns
    -------
    list of FileSystemSpec
        One spec named ``"local"``.
    """
    return [
        FileSystemSpec(
            name="local",
            factory="consist.adapters.filesystems.local:LocalFileSystem",
            protocols=("file", ""),
            plugin="consist.adapters.filesystems.plugin",
            capabilities=("digest", "hash-cache", "atomic-write"),
        )
    ]
