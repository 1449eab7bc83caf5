"""Keeping the database in step with the snapshots: rebuilding it from them, importing
snapshots left pending by a locked database, and marking runs of dead processes crashed.

:class:`SnapshotMaintenance` is the service a ``Tracker`` holds for this: it runs
:meth:`~SnapshotMaintenance.recover` when the tracker opens and backs
``tracker.rebuild_from_snapshots``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from consist.api.journal import dead_journals
from consist.api.processes import HOST, is_alive
from consist.core.errors import ReadOnlyError, StoreLockedError
from consist.core.model import Run, RunStatus
from consist.core.ports.store import RunQuery
from consist.core.recorder import PENDING_DIR
from consist.core.recovery import PROCESS_STARTED, crash_message, orphaned, supersedes
from consist.core.snapshot import batch_from_snapshots, decode_snapshot

if TYPE_CHECKING:
    from consist.core.ports.filesystem import FileSystem
    from consist.core.ports.store import MetadataStore
    from consist.core.recorder import Recorder

log = logging.getLogger("consist")

#: Snapshots applied per database transaction while rebuilding.
REBUILD_CHUNK = 500


class SnapshotMaintenance:
    """``rebuild_from_snapshots``, and marking runs of dead processes ``crashed``.

    Parameters
    ----------
    store
        The metadata store the snapshots' rows are written to.
    recorder
        Queues the writes to ``store`` (flushed first) and records crashed runs.
    fs
        Writes and removes pending snapshot files.
    consist_dir
        This workspace's ``.consist`` folder (``runs/`` and the pending folder).
    read_only
        Refuse to rebuild (``ReadOnlyError``).
    """

    def __init__(
        self,
        store: MetadataStore,
        recorder: Recorder,
        fs: FileSystem,
        consist_dir: Path,
        read_only: bool,
    ) -> None:
        self._store = store
        self._recorder = recorder
        self._fs = fs
        self._consist_dir = consist_dir
        self.read_only = read_only

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
                "this tracker was opened for reading only (read_only=True or "
                "access_mode='analysis'), so it cannot rebuild the database; open "
                "Tracker(..., access_mode='standard')."
            )
        self._recorder.flush()
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

    def recover(self) -> None:
        """At open: import pending snapshots, then mark runs of dead processes crashed.

        When another process held the database at open (a DuckDB file shared by an array
        job), this process does not wait for its turn here: recovery runs at its first
        turn, before its first flush or read through the tracker (see
        :meth:`Recorder.owe`). A database locked past the timeout postpones both to the
        next tracker.
        """
        if self._store.held_elsewhere():
            self._recorder.owe(self._recover)
            return
        try:
            self._recover()
        except StoreLockedError as exc:
            log.warning("consist: recovery at open postponed: %s", exc)

    def _recover(self) -> None:
        self.import_pending()
        self._import_other_workspaces()
        self.mark_crashed()

    def _import_other_workspaces(self) -> None:
        """Register this workspace with the database, and import what processes of the
        other workspaces registered there left pending (those folders on this machine)."""
        own = str(self._consist_dir.parent)
        known = self._store.workspaces()
        if own not in known:
            self._store.add_workspace(own)
        for run_dir in known:
            consist_dir = Path(run_dir) / ".consist"
            if run_dir != own and (consist_dir / PENDING_DIR).is_dir():
                self.import_pending(consist_dir)

    def _pending_files(self, consist_dir: Path | None = None) -> list[Path]:
        return sorted(((consist_dir or self._consist_dir) / PENDING_DIR).glob("*.json"))

    def import_pending(self, consist_dir: Path | None = None) -> int:
        """Write the runs a workspace's pending folder lists: copies of snapshots the
        database refused, and the journals of processes that ended before their queued rows
        were committed. Runs still running in a live process are left to it.

        Each run is imported from its newest snapshot (``runs/<id>.json`` when present). A
        document that cannot be read or fails validation is left with a warning naming it;
        the others are imported. A journaled run the database refuses gets a pending copy.

        Returns
        -------
        int
            The number of runs written.
        """
        consist_dir = consist_dir or self._consist_dir
        pending = consist_dir / PENDING_DIR
        copies = {path.name: path for path in self._pending_files(consist_dir)}
        journals = dead_journals(pending)
        names = sorted(set(copies).union(*(journal.names for journal in journals)))
        # States a journal holds itself (runs that were running), the newest journal last.
        held = {n: d for journal in journals for n, d in journal.documents.items()}
        documents: dict[Path, bytes | Exception] = {}
        imported: list[str] = []
        for name in names:
            latest = consist_dir / "runs" / name
            source = latest if latest.exists() else copies.get(name)
            if source is None and name not in held:
                continue  # journaled, but its snapshot is gone: nothing to import
            try:
                data = source.read_bytes() if source is not None else held[name]
                source = source if source is not None else latest
                run = decode_snapshot(data)[0]
                if name != f"{run.id}.json":
                    raise ValueError(f"it holds run {run.id!r}, not the run its name says")
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning(
                    "consist: pending snapshot %s is unreadable, left alone: %s", source, exc
                )
                continue
            newer = supersedes(run, self._store.get_run(run.id))
            if newer and run.status is RunStatus.RUNNING and _owner_alive(run):
                continue  # still running: its own process records the rest
            imported.append(name)
            if newer:
                documents[source] = data
        refused = self._write_snapshots(documents) if documents else {}
        for path, reason in refused.items():
            log.warning("consist: pending snapshot %s was refused, left alone: %s", path, reason)
            kept = documents[path]
            if path.name not in copies and isinstance(kept, bytes):  # keep it pending
                self._fs.write_atomic(pending / path.name, kept)
        refused_names = {path.name for path in refused}
        for name in imported:
            if name in copies and name not in refused_names:
                self._fs.remove(copies[name])
        for journal in journals:
            self._fs.remove(journal.path)
        return len(documents) - len(refused)

    def mark_crashed(self) -> list[Run]:
        """Mark ``crashed`` the running runs of this host whose process is gone.

        Called when a tracker opens the database. The run's own snapshot wins over its row:
        a process killed after its step returned but before the row was updated left a
        snapshot saying so, and that state is imported instead. Crashed runs are never cache
        hits, so the step runs again the next time it is asked for.
        """
        running = self._store.find_runs(RunQuery(status=RunStatus.RUNNING.value))
        crashed = []
        for run in orphaned(running, HOST, is_alive):
            snapshot = (_consist_dir_of(run) or self._consist_dir) / "runs" / f"{run.id}.json"
            finished = _finished_snapshot(snapshot, run.id)
            if finished is not None:  # the snapshot wins: its step returned
                self._store.apply(batch_from_snapshots([finished]))
                continue
            run.status = RunStatus.CRASHED
            run.error = crash_message(run)
            linked = self._store.get_run_artifacts(run.id)
            # Into the run's own workspace only where its snapshot already is (the workspace
            # named by a database row is not trusted further than that), else into this one.
            target = snapshot.parent if snapshot.exists() else self._consist_dir / "runs"
            self._recorder.record(run, linked.inputs, linked.outputs, snapshot_dir=target)
            crashed.append(run)
        return crashed


def _finished_snapshot(path: Path, run_id: str) -> bytes | None:
    """The bytes of the snapshot at ``path`` if it is run ``run_id``'s and says it ended."""
    try:
        data = path.read_bytes()
        run = decode_snapshot(data)[0]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("consist: snapshot %s is unreadable: %s", path, exc)
        return None
    return data if run.id == run_id and run.status is not RunStatus.RUNNING else None


def _owner_alive(run: Run) -> bool:
    """Whether the process recorded as running ``run`` is alive on this host."""
    if run.host != HOST or run.pid is None:
        return False
    return is_alive(run.pid, (run.meta or {}).get(PROCESS_STARTED))


def _consist_dir_of(run: Run) -> Path | None:
    """The ``.consist`` folder of the workspace ``run`` recorded itself in, if it names one."""
    workspace = (run.meta or {}).get("workspace")
    run_dir = workspace.get("run_dir") if isinstance(workspace, dict) else None
    if not isinstance(run_dir, str) or not os.path.isabs(run_dir) or "\x00" in run_dir:
        return None
    return Path(os.path.normpath(run_dir)) / ".consist"


def _read_all(paths: list[Path]) -> dict[Path, bytes | Exception]:
    """Each file's bytes, or the error reading it raised."""
    found: dict[Path, bytes | Exception] = {}
    for path in paths:
        try:
            found[path] = path.read_bytes()
        except OSError as exc:
            found[path] = exc
    return found
