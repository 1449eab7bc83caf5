"""Durable, grouped recording of run events.

Every event is made durable in the run's snapshot first, then queued for the metadata
store. Queued rows are written in one transaction per flush — on a short timer, before any
read through the tracker, and at close — because a commit costs milliseconds while a run's
whole bookkeeping budget is about that. Cache lookups consult the queue before the store, so
a run is reusable the moment it completes.

The hand-off from the queue to the database is durable: before an event is queued, the name
of its snapshot is appended to the process's *journal* in ``.consist/pending/`` (one write
to an open file, write-ahead), and a journal file is removed only once every event it lists
is committed (the journal starts a new file at each flush). Whatever ends the process in
between — an exit, SIGKILL, a database another process keeps locked — the next tracker that
opens the database finds the runs listed there and imports them from their snapshots.

A database another process keeps locked never fails a step: the rows stay queued and are
retried with growing pauses. A batch the store refuses for any other reason (a full disk, a
damaged file) is retried run by run, so one bad run cannot hold back the others; runs still
refused leave the queue and wait in ``.consist/pending/``, instead of being retried for ever.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from consist.core.cache import is_reusable
from consist.core.errors import StoreError, StoreLockedError
from consist.core.model import Artifact, Direction, Link, Run, RunStatus, validate_key
from consist.core.ports.scheduler import Cancellable, Inline, Scheduler
from consist.core.ports.store import CacheCandidate, MetadataStore
from consist.core.record_queue import _link_key, _Queue
from consist.core.snapshot import encode_snapshot

log = logging.getLogger("consist")

#: Folder beside ``runs/`` holding copies of snapshots whose rows are not yet in the database.
PENDING_DIR = "pending"
#: Longest pause between flush attempts while the database is locked by another process.
MAX_RETRY_S = 2.0


def pending_path(snapshot: Path) -> Path:
    """Where the snapshot ``.consist/runs/<run_id>.json`` waits as pending."""
    return snapshot.parent.parent / PENDING_DIR / snapshot.name


class Journal(Protocol):
    """Write-ahead list of the snapshots whose rows are queued, durable against the death
    of the process (the api keeps it in ``.consist/pending/*.journal``)."""

    #: Whether :meth:`append` can keep a document itself (then a run's intermediate states
    #: need no snapshot file: creating a file costs more than the rest of a run's I/O).
    keeps_documents: bool

    def append(self, snapshot: Path, document: bytes | None = None) -> None:
        """Note ``snapshot`` (``<workspace>/.consist/runs/<run_id>.json``) as queued; with
        ``document``, the journal holds that state of the run instead of the file."""

    def rotate(self) -> Any:
        """Start new journal files; return a token naming the ones written so far."""

    def discard(self, token: Any) -> None:
        """Remove the journal files of ``token`` (every event they list is committed)."""


class _NoJournal:
    """For a recorder whose process never dies unexpectedly (unit tests, read-only use)."""

    keeps_documents = False

    def append(self, snapshot: Path, document: bytes | None = None) -> None:
        pass

    def rotate(self) -> Any:
        return None

    def discard(self, token: Any) -> None:
        pass


class Recorder:
    """Snapshot-then-store recording with grouped commits.

    Parameters
    ----------
    store
        The metadata store rows are flushed into.
    write_snapshot
        Atomic writer ``(path, bytes)``; called synchronously for every event, and for the
        pending copy of a run the database refused.
    remove
        Deletes a file (a missing one is fine).
    flush_interval
        Seconds a queued row may wait before a background flush; ``0`` flushes every event.
    journal
        Where queued events are noted first (see the module docstring); none by default.
    scheduler
        Locks and the delayed call behind the flush timer (threads, from the api); by
        default a single-threaded caller's, with no background flush.
    """

    def __init__(
        self,
        store: MetadataStore,
        write_snapshot: Callable[[Path, bytes], None],
        remove: Callable[[Path], None],
        *,
        flush_interval: float = 0.1,
        journal: Journal | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.store = store
        self._write_snapshot = write_snapshot
        self._remove = remove
        self._interval = flush_interval
        self._retry = flush_interval
        self._journal: Journal = journal if journal is not None else _NoJournal()
        # Journal tokens whose events are not all committed yet (a flush failed).
        self._unwritten: list[Any] = []
        self._stalled = False  # the last flush found the database locked
        self._scheduler: Scheduler = scheduler if scheduler is not None else Inline()
        self._lock = self._scheduler.lock(reentrant=True)
        self._flush_lock = self._scheduler.lock()
        self._queue = _Queue()
        self._inflight: _Queue | None = None
        self._timer: Cancellable | None = None
        self._closed = False
        self._owed: Callable[[], None] | None = None
        self._owed_lock = self._scheduler.lock()

    # -- events ---------------------------------------------------------------------------
    def record(
        self,
        run: Run,
        inputs: dict[str, Artifact],
        outputs: dict[str, Artifact],
        *,
        snapshot_dir: Path,
        unlink_outputs: dict[str, Artifact] | None = None,
    ) -> None:
        """Make the current state of ``run`` durable in ``snapshot_dir/<run_id>.json``, then
        queue its rows."""
        validate_key(run.id, "run id")  # it names a file: never a path out of snapshot_dir
        path, data = snapshot_dir / f"{run.id}.json", encode_snapshot(run, inputs, outputs)
        # A run's states while it runs are kept by the journal (durable, and one write to an
        # open file); the state it ends in gets its snapshot file, written first.
        in_journal = run.status is RunStatus.RUNNING and self._journal.keeps_documents
        if not in_journal:
            self._write_snapshot(path, data)
        # Queue a copy: the caller keeps mutating its Run (running → completed) while a
        # background flush may be writing the queued state.
        run = dataclasses.replace(run, meta=dict(run.meta), tags=list(run.tags))
        with self._lock:
            # Write-ahead, under the lock: the journal file this lands in is rotated out
            # together with the queue that holds the event.
            self._journal.append(path, data if in_journal else None)
            q = self._queue
            q.runs[run.id] = run
            for direction, group in ((Direction.INPUT, inputs), (Direction.OUTPUT, outputs)):
                for key, artifact in group.items():
                    q.artifacts.setdefault(artifact.id, artifact)
                    link = Link(run.id, artifact.id, direction, key)
                    q.links[_link_key(link)] = link
                    q.unlinks.pop(_link_key(link), None)
            for key, artifact in (unlink_outputs or {}).items():
                link = Link(run.id, artifact.id, Direction.OUTPUT, key)
                q.links.pop(_link_key(link), None)
                q.unlinks[_link_key(link)] = link
            q.outputs[run.id] = dict(outputs)
            q.snapshots[run.id] = (path, data)
            if is_reusable(run) and run.signature:
                q.by_signature[run.signature] = run.id
            self._schedule()
        if self._interval <= 0:
            self.flush_or_keep()
        if run.status is not RunStatus.RUNNING:
            # The run has ended and nothing is held: the scheduler's moment to let other
            # processes' steps go first (see Scheduler.pause).
            self._scheduler.pause()

    # -- reads that must see queued rows ---------------------------------------------------
    def find_cached(self, signature: str) -> CacheCandidate | None:
        """The newest reusable run with ``signature``: queued rows first, then the store."""
        with self._lock:
            for queue in (self._queue, self._inflight):
                if queue is not None:
                    found = queue.candidate(signature)
                    if found is not None:
                        return found
        try:
            return self.store.find_cached(signature)
        except StoreLockedError as exc:
            # Running the step again is better than failing it (SPEC: a busy database never
            # fails a step); the warning says why a hit may have been missed.
            log.warning("consist: cache lookup skipped, treating as a miss: %s", exc)
            return None

    def get_run(self, run_id: str) -> Run | None:
        with self._lock:
            for queue in (self._queue, self._inflight):
                if queue is not None and run_id in queue.runs:
                    return queue.runs[run_id]
        self._settle()  # a read of the store sees what recovery owed to it
        return self.store.get_run(run_id)

    # -- flushing ------------------------------------------------------------------------------
    def _schedule(self) -> None:
        if self._timer is None and self._interval > 0 and not self._closed:
            self._timer = self._scheduler.call_later(self._retry, self._timed_flush)

    def _timed_flush(self) -> None:
        try:
            self.flush_or_keep()
        except Exception:  # the next flush retries; the snapshot already holds the data
            log.warning("consist: background flush failed; will retry", exc_info=True)

    def flush_or_keep(self) -> bool:
        """:meth:`flush`, but a database that is locked or refuses rows leaves them pending
        (with a logged warning or error) instead of raising.

        Returns
        -------
        bool
            True when everything queued is in the database.
        """
        try:
            self.flush()
        except StoreLockedError as exc:
            # Once per stall: the retries that follow would repeat the same news.
            report = log.debug if self._stalled else log.warning
            report("consist: %d run(s) wait for the database: %s", self._queued(), exc)
            self._stalled = True
            return False
        except StoreError as exc:
            log.error("consist: %s", exc)
            return False
        if self._stalled:
            log.info("consist: the database is free again; pending runs written")
            self._stalled = False
        return True

    def owe(self, task: Callable[[], None]) -> None:
        """Run ``task`` once before the next flush, in whichever thread flushes first (the
        timer, a read, close): work that needs the store but could not have it yet, such
        as recovery at open while another process held the database. A task that raises
        stays owed, and the flush raises what it raised."""
        self._owed = task

    def _settle(self) -> None:
        if self._owed is None:
            return
        with self._owed_lock:
            task, self._owed = self._owed, None
            if task is None:  # another thread ran it meanwhile
                return
            try:
                task()  # it may flush itself: the task is no longer owed by then
            except BaseException:
                self._owed = task
                raise

    def flush(self) -> None:
        """Write every queued row in one transaction. On failure the rows stay queued."""
        self._settle()
        with self._flush_lock:
            with self._lock:
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                queue, self._queue = self._queue, _Queue()
                if not queue.batch():
                    return
                self._inflight = queue
                self._unwritten.append(self._journal.rotate())
            try:
                self.store.apply(queue.batch())
            except StoreLockedError:
                with self._lock:
                    self._queue = queue.merge_under(self._queue)
                    self._inflight = None
                    # Pause longer each time another process keeps the database.
                    self._retry = min(self._retry * 2, MAX_RETRY_S)
                    self._schedule()
                raise
            except Exception:
                self._write_one_by_one(queue)
                return
            except BaseException:  # KeyboardInterrupt mid-write: keep everything queued
                with self._lock:
                    self._queue = queue.merge_under(self._queue)
                    self._inflight = None
                raise
            with self._lock:
                self._inflight = None
                self._retry = self._interval
                self._discard_journals()

    def _write_one_by_one(self, queue: _Queue) -> None:
        """After the store refused ``queue`` for a reason other than its lock: write each run
        alone. Locked runs go back to the queue; runs refused again are left pending.

        Raises
        ------
        StoreError
            Naming the refused runs and the store's reason, when any run was refused.
        """
        refused: dict[str, Exception] = {}
        locked: list[_Queue] = []
        for part in queue.split():
            try:
                self.store.apply(part.batch())
            except StoreLockedError:
                locked.append(part)
            except Exception as exc:
                refused[next(iter(part.runs))] = exc
                self._keep_pending(part)
        with self._lock:
            requeued = _Queue()
            for part in locked:
                requeued.merge_under(part)
            self._queue = requeued.merge_under(self._queue)
            self._inflight = None
            if not locked:  # every event is written or has its pending copy
                self._discard_journals()
            self._schedule()
        if refused:
            reason = next(iter(refused.values()))
            raise StoreError(
                f"{len(refused)} run(s) could not be written to the database "
                f"({', '.join(sorted(refused)):.200}): {reason}. Their records are safe: "
                "each snapshot waits in .consist/pending/, and the next tracker that opens "
                "the database imports it (or run `consist db rebuild`)."
            ) from reason

    def _keep_pending(self, part: _Queue) -> None:
        """Copy the latest snapshot of each run of ``part`` (refused by the database) to
        the pending folder, where the next tracker finds it."""
        for path, data in part.snapshots.values():
            try:
                self._write_snapshot(pending_path(path), data)
            except OSError as exc:  # e.g. a full disk; runs/<id>.json still holds it
                log.error(
                    "consist: could not keep %s pending (%s); `consist db rebuild` recovers "
                    "it from its snapshot",
                    path.name,
                    exc,
                )

    def _discard_journals(self) -> None:
        """Every event of the journals waiting in ``_unwritten`` is committed: drop them.
        Called under ``_lock``."""
        tokens, self._unwritten = self._unwritten, []
        for token in tokens:
            self._journal.discard(token)

    def _queued(self) -> int:
        with self._lock:
            return len(self._queue.runs)

    def close(self) -> None:
        """Flush what is queued and stop the timer. Idempotent."""
        if self._closed:
            return
        try:
            self.flush_or_keep()
        finally:
            self._closed = True
            with self._lock:
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
