"""The recorder's scheduler on threads: real locks, and delayed calls on daemon timers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from consist.core.ports.scheduler import Cancellable


class ThreadScheduler:
    """Locks from :mod:`threading`; a delayed call runs on a daemon timer thread, so a
    pending flush never keeps the interpreter from exiting (close and exit flush first)."""

    def lock(self, reentrant: bool = False) -> AbstractContextManager[Any]:
        return threading.RLock() if reentrant else threading.Lock()

    def call_later(self, seconds: float, fn: Callable[[], None]) -> Cancellable:
        timer = threading.Timer(seconds, fn)
        timer.daemon = True
        timer.start()
        return timer
