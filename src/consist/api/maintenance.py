"""Keeping the database in step with the snapshots: rebuilding it from them.

Mixed into :class:`~consist.api.tracker.Tracker`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from consist.api.processes import is_alive
from consist.core.errors import ReadOnlyError
from consist.core.model import Run, RunStatus
from consist.core.ports.store import RunQuery
from consist.core.recovery import crash_message, orphaned
from consist.core.snapshot import batch_from_snapshots
from consist.core.step import HOST

if TYPE_CHECKING:
    from consist.core.ports.store import MetadataStore
    from consist.core.recorder import Recorder

#: Snapshots applied per database transaction while rebuilding.
REBUILD_CHUNK = 500


class MaintenanceMixin:
    """``rebuild_from_snapshots``, and marking runs of dead processes ``crashed``."""

    if TYPE_CHECKING:  # provided by Tracker
        read_only: bool
        _store: MetadataStore
        _recorder: Recorder
        _consist_dir: Path

        def flush(self) -> None: ...

    def rebuild_from_snapshots(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Recreate the database rows of every run snapshot in this workspace.

        Each snapshot (``run_dir/.consist/runs/<run_id>.json``) holds a run's last recorded
        state and every artifact it linked, so a deleted or damaged database can be rebuilt:
        runs, artifacts, links and facets come back as they were recorded. Rows already in
        the database are kept (runs are replaced by their snapshot state). Ingested table
        rows are data, not provenance, and are not in snapshots.

        Parameters
        ----------
        progress
            Called as ``progress(done, total)`` after each group of snapshots.

        Returns
        -------
        int
            The number of runs restored.
        """
        if self.read_only:
            raise ReadOnlyError(
                "this tracker was opened with read_only=True, so it cannot rebuild the "
                "database; open Tracker(..., read_only=False)."
            )
        self.flush()
        files = sorted((self._consist_dir / "runs").glob("*.json"))
        for start in range(0, len(files), REBUILD_CHUNK):
            chunk = files[start : start + REBUILD_CHUNK]
            self._store.apply(batch_from_snapshots(path.read_bytes() for path in chunk))
            if progress is not None:
                progress(start + len(chunk), len(files))
        return len(files)

    def _mark_crashed(self) -> list[Run]:
        """Mark ``crashed`` the running runs of this host whose process is gone.

        Called when a tracker opens the database. Crashed runs are never cache hits, so the
        step runs again the next time it is asked for.
        """
        running = self._store.find_runs(RunQuery(status=RunStatus.RUNNING.value))
        gone = orphaned(running, HOST, is_alive)
        for run in gone:
            run.status = RunStatus.CRASHED
            run.error = crash_message(run)
            linked = self._store.get_run_artifacts(run.id)
            self._recorder.record(
                run, linked.inputs, linked.outputs, snapshot_dir=self._consist_dir / "runs"
            )
        return gone
