"""Portable URIs for files: workspace-relative, mount-relative, or absolute ``file://``.

Pure path arithmetic (no filesystem access), so the mapping is the same on every machine
and trivially testable. A URI recorded on one machine resolves on another through that
machine's own ``run_dir`` and mounts.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote

from consist.core.errors import (
    ArgumentError,
    ArgumentTypeError,
    ConsistWarning,
    MountNotFoundError,
    UnsafeAddressError,
    redact,
)

WORKSPACE_SCHEME = "workspace"


def absolute(path: str | os.PathLike[str], base: Path | None = None) -> Path:
    """Absolute, normalised path (``..`` collapsed) without touching the filesystem.

    Raises
    ------
    ArgumentTypeError
        If ``path`` is not a ``str`` or ``os.PathLike``.
    ArgumentError
        If it contains a NUL character or a lone surrogate (no file can have either).
    """
    # Strings and os.path all the way, one Path at the end: this runs several times per run,
    # and each pathlib object costs more than the string work.
    try:
        text = os.fspath(path)
    except TypeError:
        text = None
    if not isinstance(text, str):
        raise ArgumentTypeError(
            f"{path!r:.80} is a {type(path).__name__}, not a path; give a str or pathlib.Path."
        )
    if text.startswith("~"):
        text = str(Path(text).expanduser())
    if "\x00" in text:
        raise ArgumentError(
            f"path {str(path)!r:.120} contains a NUL character; no file can have it."
        )
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        raise ArgumentError(
            f"path {str(path)!r:.120} is not valid Unicode (it holds a lone surrogate), so no "
            "file can have it; fix the text of the path."
        ) from None
    if not os.path.isabs(text):
        text = os.path.join(base if base is not None else os.getcwd(), text)
    return Path(os.path.normpath(text))


def _relative_to(path: str, root: str) -> str | None:
    """POSIX relative path of ``path`` under ``root`` (both absolute, normalised), or None.

    String arithmetic rather than ``Path.relative_to``: this runs several times per run.
    """
    if path == root:
        return ""
    prefix = root if root.endswith(os.sep) else root + os.sep
    if not path.startswith(prefix):
        return None
    rel = path[len(prefix) :]
    return rel if os.sep == "/" else PurePosixPath(*Path(rel).parts).as_posix()


@dataclass(slots=True)
class Workspace:
    """Maps local paths to portable URIs and back for one tracker."""

    run_dir: Path
    mounts: Mapping[str, Path] = field(default_factory=dict)
    _warned_outside: bool = field(default=False, repr=False)

    def warn_not_portable(self, path: Path) -> None:
        """Warn once per tracker that a file outside the workspace and mounts is recorded."""
        if self._warned_outside:
            return
        self._warned_outside = True
        warnings.warn(
            f"{path} is outside run_dir ({self.run_dir}) and every mount, so it is recorded "
            "by absolute file:// URI and will not resolve on another machine. Add a mount, "
            "e.g. Tracker(..., mounts={'data': '" + str(path.parent) + "'}).",
            ConsistWarning,
            stacklevel=6,
        )

    def to_uri(self, path: Path) -> tuple[str, bool]:
        """``(uri, portable)`` for an absolute local path.

        The most specific root wins: a mount nested inside ``run_dir`` keeps its name, and
        ``run_dir`` inside a mount (a mount of the project folder) stays ``workspace://``.
        A mount at ``run_dir`` itself wins over the workspace.
        """
        text = str(path)
        named = [*self.mounts.items(), (WORKSPACE_SCHEME, self.run_dir)]
        roots = sorted(named, key=lambda kv: len(str(kv[1])), reverse=True)  # stable: ties
        for name, root in roots:
            rel = _relative_to(text, str(root))
            if rel is not None:
                return f"{name}://{quote(rel)}", True
        return path.as_uri(), False

    def to_path(self, uri: str) -> Path:
        """The local path a URI designates on this machine.

        Raises
        ------
        UnsafeAddressError
            If a workspace or mount address would resolve outside its root (``..``, an
            absolute part): addresses come from snapshots and shared databases, which are
            checked like any other input.
        MountNotFoundError
            If it names a mount this workspace does not have.
        """
        scheme, sep, rest = uri.partition("://")
        if not sep:
            return Path(uri)
        if scheme == "file":
            return Path(unquote(rest))
        if scheme == WORKSPACE_SCHEME:
            return _inside(self.run_dir, uri, rest)
        root = self.mounts.get(scheme)
        if root is None:
            raise MountNotFoundError(
                f"URI {redact(uri)!r} names mount {scheme!r}, which this tracker does not have; "
                f"pass mounts={{{scheme!r}: '/local/root'}} to Tracker."
            )
        return _inside(root, uri, rest)


def check_address(uri: object) -> str:
    """Return ``uri`` if it is an address Consist could have recorded, else raise.

    ``file://`` addresses are absolute paths; workspace and mount addresses are relative
    paths that stay under their root. Used on snapshots and rows written by others.

    Raises
    ------
    UnsafeAddressError
        Naming the address and what is wrong with it.
    """
    if not isinstance(uri, str) or "\x00" in uri:
        raise UnsafeAddressError(uri, "is not an address")
    scheme, sep, rest = uri.partition("://")
    if not sep or not scheme.replace("_", "").replace("-", "").isalnum():
        raise UnsafeAddressError(uri, "has no scheme:// prefix")
    if scheme == "file":
        if not os.path.isabs(unquote(rest)):
            raise UnsafeAddressError(uri, "is a file:// address of a relative path")
        return uri
    _relative_part(uri, rest)
    return uri


def _relative_part(uri: str, rest: str) -> str:
    rel = unquote(rest)
    if rel.startswith(("/", "\\")) or (len(rel) > 2 and rel[1] == ":" and rel[2] in "/\\"):
        raise UnsafeAddressError(uri, "holds an absolute path where a relative one belongs")
    if ".." in rel.replace("\\", "/").split("/"):
        raise UnsafeAddressError(uri, "climbs out of its root with '..'")
    return rel


def _inside(root: Path, uri: str, rest: str) -> Path:
    return root / _relative_part(uri, rest) if rest else root
