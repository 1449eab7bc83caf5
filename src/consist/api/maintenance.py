"""Keeping the database in step with the snapshots: rebuilding it from them, importing
snapshots left pending by a locked database, and marking runs of dead processes crashed.

Mixed into :class:`~consist.api.tracker.Tracker`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from consist.api.processes import is_alive
from consist.core.errors import ReadOnlyError, StoreLockedError
from consist.core.model import Run, RunStatus
from consist.core.ports.store import RunQuery
from consist.core.recorder import PENDING_DIR
from consist.core.recovery import crash_message, orphaned, supersedes
from consist.core.snapshot import batch_from_snapshots, decode_snapshot
from consist.core.step import HOST

if TYPE_CHECKING:
    from consist.core.ports.filesystem import FileSystem
    from consist.core.ports.store import MetadataStore
    from consist.core.recorder import Recorder

log = logging.getLogger("consist")

#: Snapshots applied per database transaction while rebuilding.
REBUILD_CHUNK = 500


class MaintenanceMixin:
    """``rebuild_from_snapshots``, and marking runs of dead processes ``crashed``."""

    if TYPE_CHECKING:  # provided by Tracker
        read_only: bool
        _store: MetadataStore
        _recorder: Recorder
        _consist_dir: Path
        _fs: FileSystem

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
        for path in self._pending_files():  # every snapshot is in now, pending ones too
            self._fs.remove(path)
        return len(files)

    def _recover(self) -> None:
        """At open: import pending snapshots, then mark runs of dead processes crashed.

        A database another process keeps locked postpones both to the next tracker.
        """
        try:
            self._import_pending()
            self._mark_crashed()
        except StoreLockedError as exc:
            log.warning("consist: recovery at open postponed: %s", exc)

    def _pending_files(self) -> list[Path]:
        return sorted((self._consist_dir / PENDING_DIR).glob("*.json"))

    def _import_pending(self) -> int:
        """Write the runs whose snapshots wait in ``.consist/pending/`` (left there when a
        database write could not be made), then remove those copies.

        Each run is imported from its newest snapshot (``runs/<id>.json`` when present).
        An unreadable copy is left in place with a warning.

        Returns
        -------
        int
            The number of runs written.
        """
        documents: list[bytes] = []
        imported: list[Path] = []
        for path in self._pending_files():
            latest = self._consist_dir / "runs" / path.name
            try:
                data = (latest if latest.exists() else path).read_bytes()
                run = decode_snapshot(data)[0]
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning("consist: pending snapshot %s is unreadable, left alone: %s", path, exc)
                continue
            imported.append(path)
            if supersedes(run, self._store.get_run(run.id)):
                documents.append(data)
        if documents:
            self._store.apply(batch_from_snapshots(documents))
        for path in imported:
            self._fs.remove(path)
        return len(documents)

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
