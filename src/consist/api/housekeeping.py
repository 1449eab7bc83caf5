"""Looking after a workspace's files: checking that recorded files are still there and
unchanged (``validate``), and deleting the bytes of outputs nothing needs any more (``gc``).

:class:`Housekeeping` works on an open :class:`~consist.Tracker` and backs
``consist validate`` and ``consist gc``. Provenance is never deleted: ``gc`` removes files
only, and records on each producing run which of its outputs lost their bytes, in
``run.meta["bytes_removed"]`` (``{artifact_id: ISO time}``). The run's snapshot is rewritten
with that marker first, so a database rebuilt from snapshots keeps it. Runs were chosen to
carry the marker because artifact rows are written once and never updated, while a run's
row takes the state of its latest snapshot; no table or column had to be added.

A step whose outputs were collected runs again the next time it is asked for: the cache
check finds the files gone and treats the old run as a miss.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from consist.api.collectable import recorded_outputs, unneeded
from consist.core.checks import check_int
from consist.core.errors import ArgumentError, ReadOnlyError
from consist.core.model import Artifact, Run

if TYPE_CHECKING:
    from consist.api.tracker import Tracker
    from consist.core.ports.filesystem import FileSystem
    from consist.core.recorder import Recorder
    from consist.core.workspace import Workspace

#: Key of ``run.meta`` listing the run's outputs whose bytes ``gc`` deleted.
BYTES_REMOVED = "bytes_removed"

Progress = Callable[[int, int], None]
CheckStatus = Literal["ok", "missing", "altered", "removed", "unreachable"]


@dataclass(frozen=True, slots=True)
class FileCheck:
    """What ``validate`` found for one artifact.

    ``status``: ``"ok"``; ``"missing"`` (no file at any recorded location); ``"altered"``
    (the bytes no longer match the recorded digest); ``"removed"`` (``gc`` deleted them on
    purpose); ``"unreachable"`` (on a mount this tracker does not have, or not a local path).
    """

    artifact_id: str
    key: str
    uri: str
    run_id: str | None
    status: CheckStatus
    path: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class GcCandidate:
    """An artifact whose bytes ``gc`` deletes, and why."""

    artifact_id: str
    key: str
    uri: str
    run_id: str
    path: str
    size: int | None
    reason: str


@dataclass(slots=True)
class GcReport:
    """What ``collect`` did: the artifacts whose bytes went, and those it could not delete."""

    removed: list[GcCandidate] = dataclasses.field(default_factory=list)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def bytes_freed(self) -> int:
        return sum(c.size or 0 for c in self.removed)


def tracker_services(tracker: Tracker) -> Any:
    """The services a tracker was assembled from (``workspace``, ``recorder``, ``fs``, ...)
    by :func:`consist.api.bootstrap.bootstrap`."""
    return tracker.services


def removed_bytes(run: Run | None) -> dict[str, str]:
    """``{artifact_id: ISO time}`` of the run's outputs whose bytes ``gc`` deleted."""
    marked = (run.meta or {}).get(BYTES_REMOVED) if run is not None else None
    return dict(marked) if isinstance(marked, dict) else {}


def parse_age(text: str) -> timedelta:
    """``"30d"``, ``"12h"``, ``"45m"``, ``"90s"`` or ``"2w"`` as a duration."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    number, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if unit not in units or not number.isdigit():
        raise ArgumentError(
            f"age {text!r} is not understood: give a whole number and a unit, e.g. 30d, 12h, "
            "45m, 90s or 2w."
        )
    return timedelta(**{units[unit]: int(number)})


class Housekeeping:
    """``validate`` and ``gc`` over ``tracker``'s database, workspace and mounts.

    Parameters
    ----------
    tracker
        An open tracker; ``collect`` needs it writable (``read_only=False``).
    """

    def __init__(self, tracker: Tracker) -> None:
        self._tracker = tracker
        # The tracker's own workspace, recorder and filesystem: deletions resolve addresses
        # exactly as loading does, and markers are written snapshot first like any record.
        services = tracker_services(tracker)
        self._workspace: Workspace = services.workspace
        self._recorder: Recorder = services.recorder
        self._fs: FileSystem = services.fs
        self._runs: dict[str, Run | None] = {}

    def _run(self, run_id: str | None) -> Run | None:
        if run_id is None:
            return None
        if run_id not in self._runs:
            try:
                self._runs[run_id] = self._tracker.get_run(run_id)
            except LookupError:
                self._runs[run_id] = None
        return self._runs[run_id]

    # -- validate ------------------------------------------------------------------------------
    def validate(
        self, verify_digests: bool = False, progress: Progress | None = None
    ) -> list[FileCheck]:
        """Check every recorded artifact's file, newest first.

        Parameters
        ----------
        verify_digests
            Also re-digest each file and compare it with the recorded digest (reads every
            byte; without it only presence is checked).
        progress
            Called as ``progress(done, total)`` after each artifact.
        """
        artifacts = self._tracker.find_artifacts()
        checks = []
        for done, artifact in enumerate(artifacts, 1):
            checks.append(self._check(artifact, verify_digests))
            if progress is not None:
                progress(done, len(artifacts))
        return checks

    def _check(self, artifact: Artifact, verify_digests: bool) -> FileCheck:
        def result(status: CheckStatus, path: Path | None = None, detail: str | None = None):
            where = None if path is None else str(path)
            return FileCheck(
                artifact.id, artifact.key, artifact.uri, artifact.run_id, status, where, detail
            )

        if artifact.id in removed_bytes(self._run(artifact.run_id)):
            return result("removed", detail="deleted by gc; provenance kept")
        try:
            path = artifact.path
        except (LookupError, ValueError, RuntimeError) as exc:
            return result("unreachable", detail=str(exc))
        if not path.exists():
            return result("missing", path, "no file at the recorded location")
        if verify_digests and artifact.digest:
            hashing = "fast" if artifact.digest.startswith("fast:") else "full"
            found = self._fs.digest(path, hashing).digest
            if found != artifact.digest:
                return result("altered", path, f"digest {found} != recorded {artifact.digest}")
        return result("ok", path)

    # -- gc ------------------------------------------------------------------------------------
    def plan_gc(
        self,
        keep_last: int = 1,
        older_than: timedelta | None = None,
        now: datetime | None = None,
    ) -> list[GcCandidate]:
        """The outputs whose bytes :meth:`collect` would delete (``gc --dry-run``).

        An output is collected when nothing needs it (no run consumed it, and its run
        failed or crashed, or ``keep_last`` newer versions of the same computation exist:
        see :mod:`consist.api.collectable`) and its file lies inside this workspace or one
        of its mounts. Outputs of runs still running and external inputs are never touched;
        neither is a file that an output still needed shares.

        Parameters
        ----------
        keep_last
            Outputs kept per slot, newest first (at least 1).
        older_than
            Only outputs last handed out (produced or reused) longer ago than this.
        now
            The reference time for ``older_than`` (default: now).
        """
        keep_last = check_int(keep_last, "keep_last", low=1, high=2**31)
        cutoff = None if older_than is None else (now or datetime.now(UTC)) - older_than
        rows = recorded_outputs(self._tracker)
        reasons = unneeded(rows, keep_last)
        kept_uris = {row.uri for row in rows if row.id not in reasons}
        planned = []
        for row in sorted(rows, key=lambda r: (r.run_id, r.key, r.id)):
            reason = reasons.get(row.id)
            if reason is None or row.uri in kept_uris:  # a file a kept output shares stays
                continue
            if cutoff is not None and row.last_used > cutoff:
                continue
            if row.id in removed_bytes(self._run(row.run_id)):
                continue
            path = self._deletable_path(row.uri)
            if path is not None:
                planned.append(
                    GcCandidate(row.id, row.key, row.uri, row.run_id, str(path), row.size, reason)
                )
        return planned

    def _deletable_path(self, uri: str) -> Path | None:
        """The local file or folder behind ``uri`` if it exists inside the workspace or a
        local mount; None otherwise (``file://`` addresses, remote mounts, gone already)."""
        if uri.startswith("file://"):
            return None  # recorded outside every root: not ours to delete
        try:
            path = self._workspace.to_path(uri)
        except (LookupError, ValueError):
            return None
        roots = [self._workspace.run_dir, *self._workspace.mounts.values()]
        inside = any(_within(path, Path(root)) for root in roots)
        return path if inside and path.exists() and not path.is_symlink() else None

    def collect(self, planned: Iterable[GcCandidate], progress: Progress | None = None) -> GcReport:
        """Delete the bytes of ``planned`` outputs and mark them on their runs.

        Returns
        -------
        GcReport
            The outputs removed, and the ones that could not be (with the reason).
        """
        if self._tracker.read_only:
            raise ReadOnlyError(
                "this tracker was opened with read_only=True, so gc cannot delete files; "
                "open Tracker(..., read_only=False)."
            )
        planned = list(planned)
        report = GcReport()
        for done, candidate in enumerate(planned, 1):
            try:
                _delete(Path(candidate.path), self._workspace.run_dir)
                report.removed.append(candidate)
            except OSError as exc:
                report.failed[candidate.artifact_id] = f"{candidate.path}: {exc}"
            if progress is not None:
                progress(done, len(planned))
        self._mark(report.removed)
        return report

    def _mark(self, removed: list[GcCandidate]) -> None:
        """Record on each producing run which of its outputs lost their bytes."""
        by_run: dict[str, list[str]] = defaultdict(list)
        for candidate in removed:
            by_run[candidate.run_id].append(candidate.artifact_id)
        when = datetime.now(UTC).isoformat()
        for run_id, artifact_ids in by_run.items():
            run = self._tracker.get_run(run_id)
            marked = removed_bytes(run) | dict.fromkeys(artifact_ids, when)
            run = dataclasses.replace(run, meta={**(run.meta or {}), BYTES_REMOVED: marked})
            linked = self._tracker.get_artifacts_for_run(run_id)
            self._recorder.record(
                run, linked.inputs, linked.outputs, snapshot_dir=self._snapshot_dir(run)
            )
            self._runs[run_id] = run
        self._tracker.flush()

    def _snapshot_dir(self, run: Run) -> Path:
        """Where the run's snapshot is: its own workspace when its snapshot is there."""
        recorded = (run.meta or {}).get("workspace")
        run_dir = recorded.get("run_dir") if isinstance(recorded, dict) else None
        if isinstance(run_dir, str) and os.path.isabs(run_dir):
            candidate = Path(run_dir) / ".consist" / "runs"
            if (candidate / f"{run.id}.json").is_file():
                return candidate
        return self._workspace.run_dir / ".consist" / "runs"


def _within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return path.resolve() != root.resolve()


def _delete(path: Path, stop: Path) -> None:
    """Delete a file or folder, then the folders it leaves empty (up to ``stop``)."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    parent = path.parent
    while _within(parent, stop):
        try:
            parent.rmdir()  # only succeeds when empty
        except OSError:
            break
        parent = parent.parent
