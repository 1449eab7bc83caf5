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

    def rebuild_from_snapshots(
        self,
        progress: Callable[[int, int], None] | None = None,
        *,
        on_skip: Callable[[Path, str], None] | None = None,
    ) -> int:
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
        on_skip
            Called as ``on_skip(path, reason)`` for each snapshot that could not be restored
            (unreadable, or refused by the database); each is also logged as a warning. The
            other snapshots are restored regardless.

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
        skipped: dict[Path, str] = {}
        for start in range(0, len(files), REBUILD_CHUNK):
            chunk = files[start : start + REBUILD_CHUNK]
            skipped.update(self._write_snapshots(_read_all(chunk)))
            if progress is not None:
                progress(start + len(chunk), len(files))
        for path, reason in skipped.items():
            log.warning("consist: snapshot %s was not restored: %s", path, reason)
            if on_skip is not None:
                on_skip(path, reason)
        left = {path.name for path in skipped}
        for path in self._pending_files():  # every snapshot is in now, pending ones too
            if path.name not in left:
                self._fs.remove(path)
        return len(files) - len(skipped)

    def _write_snapshots(self, documents: dict[Path, bytes | Exception]) -> dict[Path, str]:
        """Write the rows of ``documents`` in one transaction, or, when a document cannot be
        read or the database refuses the batch, one document at a time.

        Returns
        -------
        dict
            The documents left out, each with the reason.

        Raises
        ------
        StoreLockedError
            When another process keeps the database; nothing is left out then.
        """
        readable = {path: data for path, data in documents.items() if isinstance(data, bytes)}
        skipped = {p: str(e) for p, e in documents.items() if isinstance(e, Exception)}
        try:
            self._store.apply(batch_from_snapshots(readable.values()))
            return skipped
        except StoreLockedError:
            raise
        except Exception:
            pass  # find the documents at fault below; the others go in regardless
        for path, data in readable.items():
            try:
                self._store.apply(batch_from_snapshots([data]))
            except StoreLockedError:
                raise
            except Exception as exc:
                skipped[path] = f"{type(exc).__name__}: {exc}"
        return skipped

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
        documents: dict[Path, bytes | Exception] = {}
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
                documents[path] = data
        refused = self._write_snapshots(documents) if documents else {}
        for path, reason in refused.items():
            log.warning("consist: pending snapshot %s was refused, left alone: %s", path, reason)
        for path in imported:
            if path not in refused:
                self._fs.remove(path)
        return len(documents) - len(refused)

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


def _read_all(paths: list[Path]) -> dict[Path, bytes | Exception]:
    """Each file's bytes, or the error reading it raised."""
    found: dict[Path, bytes | Exception] = {}
    for path in paths:
        try:
            found[path] = path.read_bytes()
        except OSError as exc:
            found[path] = exc
    return found
