"""One store connection and one write queue per database, shared by a process's trackers.

Two trackers on the same ``db_path`` in one process must see each other's runs at once
(a queued row is invisible to a second queue), and DuckDB allows one database instance per
file per process anyway. The last tracker to close a location flushes and closes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from consist.api.journal import FileJournal
from consist.api.scheduling import ThreadScheduler
from consist.core.ports.store import MetadataStore
from consist.core.recorder import Recorder


@dataclass(slots=True)
class _Shared:
    store: MetadataStore
    recorder: Recorder
    users: int = 0


_open: dict[str, _Shared] = {}
# Re-entrant: a tracker's finalizer (release) may run from garbage collection while this
# thread already holds the lock inside acquire.
_lock = threading.RLock()


def acquire(
    location: str,
    open_store: Callable[[], MetadataStore],
    write_snapshot: Callable[[Path, bytes], None],
    remove: Callable[[Path], None],
    flush_interval: float,
) -> Recorder:
    """The recorder for ``location``, opening its store on first use."""
    with _lock:
        shared = _open.get(location)
        if shared is None:
            store = open_store()
            recorder = Recorder(
                store,
                write_snapshot,
                remove,
                flush_interval=flush_interval,
                journal=FileJournal(),
                scheduler=ThreadScheduler(),
            )
            shared = _open[location] = _Shared(store, recorder)
        shared.users += 1
        return shared.recorder


def release(location: str) -> None:
    """Drop one user of ``location``; the last one flushes and closes the store."""
    with _lock:
        shared = _open.get(location)
        if shared is None:
            return
        shared.users -= 1
        if shared.users > 0:
            shared.recorder.flush_or_keep()
            return
        del _open[location]
    try:
        shared.recorder.close()
    finally:
        shared.store.close()
