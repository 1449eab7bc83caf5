"""Time and concurrency for the write-behind recorder: locks, a delayed call, and a pause.

The recorder groups database writes and flushes them on a short timer from a background
thread. The core decides *when* to flush; how a delayed call and a lock are made (threads
today) is the shell's business, so the core stays free of threads. Likewise the core knows
when a step has ended and holds nothing; what the process does with that moment
(:meth:`Scheduler.pause`) is the shell's.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol


class Cancellable(Protocol):
    def cancel(self) -> None:
        """Do not make the call, if it has not started yet."""


class Scheduler(Protocol):
    def lock(self, reentrant: bool = False) -> AbstractContextManager[Any]:
        """A lock shared by the callers and the delayed calls of this scheduler."""

    def call_later(self, seconds: float, fn: Callable[[], None]) -> Cancellable:
        """Call ``fn`` once, ``seconds`` from now, without blocking the caller."""

    def pause(self) -> None:
        """A step has ended and its caller holds nothing (no lock, no transaction, no
        half-written file): let work waiting for the processor go first, if any waits."""


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _NeverCalled:
    def cancel(self) -> None:
        pass


class Inline:
    """A scheduler for a single-threaded caller: no-op locks and no background calls (queued
    rows are written when asked: an explicit flush, a read through the recorder, close)."""

    def lock(self, reentrant: bool = False) -> AbstractContextManager[Any]:
        return _NoLock()

    def call_later(self, seconds: float, fn: Callable[[], None]) -> Cancellable:
        return _NeverCalled()

    def pause(self) -> None:
        pass
