"""Capturing files a step (often a legacy tool) wrote into a folder, as outputs keyed by stem.

``ctx.capture_outputs(folder)`` works two ways:

* as a plain call: files matching the pattern that were created or modified since the run
  started are logged;
* as a context manager: only files created or modified inside the ``with`` block are logged.

A call cannot know whether a ``with`` statement will use it, so the plain call *stages* its
files (chosen at call time) and commits them at the session's next operation, while
``__enter__`` — which a ``with`` statement runs immediately — withdraws that staging.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from consist.core.errors import ArgumentError, ArgumentTypeError, UnsupportedError, redact
from consist.core.model import Artifact
from consist.core.session import RunSession
from consist.core.workspace import absolute

# (inode, size, mtime_ns) identifies a version of a file cheaply.
_Version = tuple[int, int, int]


def capture_folder(folder: str | os.PathLike[str], what: str = "capture_dir") -> Path:
    """``folder`` as an absolute path, refused if it names a file: scanning a file finds
    nothing, so every output the step writes would be missed without a word. A folder that
    does not exist yet is fine (the step may create it)."""
    path = absolute(folder)
    if path.exists() and not path.is_dir():
        raise ArgumentError(
            f"{what}={redact(repr(str(path)))} is a file, not a folder; pass the folder the "
            f"step writes its outputs into, e.g. {redact(repr(str(path.parent)))}."
        )
    return path


def _scan(folder: Path, pattern: str, recursive: bool) -> dict[Path, _Version]:
    if not folder.is_dir():
        return {}
    matches = folder.rglob(pattern) if recursive else folder.glob(pattern)
    found: dict[Path, _Version] = {}
    for path in matches:
        try:
            stat = path.stat()
        except OSError:
            continue  # vanished while scanning
        if path.is_file() and not path.name.startswith("."):
            found[path] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return found


def _keys(paths: list[Path], folder: Path) -> dict[str, Path]:
    """Key each file by its stem; clashing files all fall back to their name, and files whose
    names clash too to their relative path (``sub__name.csv``)."""
    stems = [p.stem for p in paths]
    names = [p.name for p in paths]
    keyed: dict[str, Path] = {}
    for path in sorted(paths):
        if stems.count(path.stem) == 1:
            key = path.stem
        elif names.count(path.name) == 1:
            key = path.name
        else:
            key = "__".join(path.relative_to(folder).parts)
        keyed[key] = path
    return keyed


class Capture(Mapping[str, Artifact]):
    """The files captured from a folder, by key (a mapping of artifacts)."""

    def __init__(
        self,
        session: RunSession,
        folder: str | os.PathLike[str],
        pattern: str = "*",
        recursive: bool = False,
        *,
        log: Any = None,
    ) -> None:
        if not isinstance(pattern, str):
            raise ArgumentTypeError(
                f"pattern={pattern!r:.80} must be a glob pattern string such as '*.csv'."
            )
        self._session = session
        self._folder = capture_folder(folder, "folder")
        self._pattern = pattern
        self._recursive = recursive
        self._log = log or (lambda path, key: session.log_file(path, key=key))
        self._artifacts: dict[str, Artifact] = {}
        self._before: dict[Path, _Version] | None = None
        self._staged = self._changed_since_start()
        session.pending.append(self._commit)

    def _changed_since_start(self) -> list[Path] | None:
        since = self._session.started_mtime_ns
        if since is None:
            return None  # only a problem if this turns out to be a plain call (see _commit)
        files = _scan(self._folder, self._pattern, self._recursive)
        return [p for p, (_, _, mtime) in files.items() if mtime >= since]

    def _commit(self) -> None:
        staged, self._staged = self._staged, []
        if staged is None:
            raise UnsupportedError(
                "capture_outputs() as a plain call needs the run's start time, which steps run "
                "with inject_context=... have; elsewhere use it as a context manager."
            )
        self._log_files(staged)

    def _log_files(self, paths: list[Path]) -> None:
        for key, path in _keys(paths, self._folder).items():
            self._artifacts[key] = self._log(path, key)

    # -- context manager: only what the block writes ------------------------------------------
    def __enter__(self) -> Capture:
        if self._commit in self._session.pending:
            self._session.pending.remove(self._commit)
        self._staged = []
        self._before = _scan(self._folder, self._pattern, self._recursive)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None or self._before is None:
            return
        after = _scan(self._folder, self._pattern, self._recursive)
        self._log_files([p for p, version in after.items() if self._before.get(p) != version])

    # -- mapping of what was captured ----------------------------------------------------------
    def _settled(self) -> dict[str, Artifact]:
        if self._commit in self._session.pending:
            self._session.commit_pending()
        return self._artifacts

    def __getitem__(self, key: str) -> Artifact:
        return self._settled()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._settled())

    def __len__(self) -> int:
        return len(self._settled())

    def __repr__(self) -> str:
        keys = sorted(self._settled())
        return f"Capture({str(self._folder)!r}, pattern={self._pattern!r}, keys={keys})"
