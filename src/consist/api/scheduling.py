"""The recorder's scheduler on threads: real locks, and delayed calls on one daemon thread.

A delayed call used to start a ``threading.Timer`` each time. Starting a thread waits until
the new thread runs, and with more busy processes than cores that wait is a scheduler time
slice (several ms) — paid by the step that queued the record. One long-lived worker per
scheduler, woken through a condition, costs the step only a notify.

:meth:`ThreadScheduler.pause` offers the processor when a step ends (``sched_yield``).
With more busy processes than cores (array jobs packed on a node), the kernel otherwise
takes the processor from a process when its time slice runs out — which with steps of a
millisecond or two means in the middle of one step in every few, possibly while it holds the
database's write lock that the others then wait for, and that step waits out several other
processes' slices (4 processes on 2 cores: p95 about 9x the median). Offering it where the
process holds nothing makes processes take turns between steps instead: the same work gets
done in the same time, and step latency stops depending on where a timer tick landed. With
the processor to itself a process gets it straight back (a system call, about a microsecond).
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from consist.core.ports.scheduler import Cancellable

#: ``os.sched_yield`` where the platform has it (POSIX); elsewhere a pause does nothing.
_sched_yield: Callable[[], None] | None = getattr(os, "sched_yield", None)


class _Call:
    """A pending delayed call; cancelling it before it is due means it never runs."""

    __slots__ = ("cancelled", "fn")

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ThreadScheduler:
    """Locks from :mod:`threading`; delayed calls run in order on one daemon thread, so a
    pending flush never keeps the interpreter from exiting (close and exit flush first)."""

    def __init__(self) -> None:
        self._wake = threading.Condition(threading.Lock())
        self._due: list[tuple[float, int, _Call]] = []
        self._order = itertools.count()
        self._worker: threading.Thread | None = None

    def lock(self, reentrant: bool = False) -> AbstractContextManager[Any]:
        return threading.RLock() if reentrant else threading.Lock()

    def call_later(self, seconds: float, fn: Callable[[], None]) -> Cancellable:
        call = _Call(fn)
        with self._wake:
            heapq.heappush(self._due, (time.monotonic() + seconds, next(self._order), call))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._run, name="consist-scheduler", daemon=True
                )
                self._worker.start()
            self._wake.notify()
        return call

    def pause(self) -> None:
        if _sched_yield is not None:
            _sched_yield()

    def _run(self) -> None:
        while True:
            with self._wake:
                while True:
                    if self._due and self._due[0][2].cancelled:
                        heapq.heappop(self._due)
                        continue
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    if wait is not None and wait <= 0:
                        call = heapq.heappop(self._due)[2]
                        break
                    self._wake.wait(wait)
            if not call.cancelled:
                call.fn()
