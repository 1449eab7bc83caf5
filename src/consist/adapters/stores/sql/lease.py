"""Sharing a database file that admits one process at a time.

DuckDB locks its file for as long as a process keeps it open, and opening costs ~20 ms, so
neither "hold it forever" nor "open it per statement" works for several processes running
steps against one file. A store therefore *leases* the file: it keeps the connection while
it is in use and lets go when it falls idle or when another process asks for it.

Processes queue at a :class:`Gate` beside the database (``<db>.consist-lock``): an advisory
lock on the gate file (``flock`` on POSIX, ``LockFileEx`` on Windows, through ``filelock``)
taken before the database is opened and given up after it is closed. Trying the
gate costs microseconds where a refused DuckDB open costs ~10 ms, so waiters can try every
couple of milliseconds and take over the moment the holder lets go. Waiters also bump the
gate file's modification time; the holder notices (one ``stat``) when its current
transaction ends and lets go. A program that is not Consist (the DuckDB shell) never sees
the gate: the store then retries the open itself with jittered backoff, and lets go of an
idle file after :data:`IDLE_RELEASE_S` so such programs get their turn too.
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from consist.core.errors import OptionValueError

log = logging.getLogger("consist")

#: Seconds a process waits for another one's lock before giving up (then a run's records
#: stay pending in its snapshot and the next flush or tracker writes them).
DEFAULT_LOCK_TIMEOUT_S = 10.0
#: Environment variable overriding :data:`DEFAULT_LOCK_TIMEOUT_S`.
LOCK_TIMEOUT_ENV = "CONSIST_LOCK_TIMEOUT"
#: A held file is let go after this long without use, even if nobody asked for it.
IDLE_RELEASE_S = 1.0
#: How often an idle holder looks for requests to let go.
IDLE_POLL_S = 0.05
#: A holder keeps the file at least this long before answering a request. A handover costs
#: 25-100 ms (close, then open elsewhere); with 0.1 s turns four busy processes spent about
#: half their time handing over (4 x 50 steps: 4.8 s; with 0.5 s turns: 3.3 s).
MIN_HOLD_S = 0.5
#: After giving the file up because it was asked to, a process waits this long before
#: trying to take it back, so a waiter (trying every GATE_POLL_S) gets its turn.
HANDOVER_S = 0.01
#: How often a waiter tries the gate, and how often it repeats its request to let go.
GATE_POLL_S = 0.002
ASK_EVERY_S = 0.02
_FIRST_BACKOFF_S = 0.005
_MAX_BACKOFF_S = 0.1


def lock_timeout(value: float | None = None) -> float:
    """The lock timeout: ``value`` if given, else ``$CONSIST_LOCK_TIMEOUT``, else 10 s.

    Raises
    ------
    OptionValueError
        If the value is not a non-negative number of seconds.
    """
    source = value if value is not None else os.environ.get(LOCK_TIMEOUT_ENV)
    if source is None:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        seconds = float(source)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds >= 0:  # also rejects NaN
        raise OptionValueError(LOCK_TIMEOUT_ENV, source, ["<seconds, e.g. 10 or 0.5>"])
    return seconds


class Gate:
    """The lock file processes queue at before opening the database.

    The lock is held on a descriptor the gate opens once and keeps until :meth:`close`, so
    the file is never removed or replaced while others wait on it (its mtime carries the
    requests). ``filelock``'s descriptor functions take the same native lock ``FileLock``
    would; they are imported here, when a store first needs a gate, not with ``consist``.

    Parameters
    ----------
    path : str
        The gate file, created on first use.
    """

    def __init__(self, path: str) -> None:
        from filelock import lock_descriptor, unlock_descriptor

        self.path = path
        self._lock = lock_descriptor
        self._unlock = unlock_descriptor
        self._fd: int | None = None
        self._seen: int | None = None

    def try_enter(self) -> bool:
        """Take the gate if nobody holds it; never blocks."""
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            return self._lock(self._fd, blocking=False)
        except OSError:  # no file locks here (or no file): the database's own lock guards
            return True

    def leave(self) -> None:
        """Let the next process through."""
        if self._fd is not None:
            # Unlocking a gate that was not taken (a filesystem without locks) may fail.
            with suppress(OSError):
                self._unlock(self._fd)

    def close(self) -> None:
        """Leave and close the gate file."""
        self.leave()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def ask(self) -> None:
        """Ask whoever holds the database to let it go (bumps the file's mtime)."""
        now = time.time_ns()
        try:
            if not os.path.exists(self.path):
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o666))
            os.utime(self.path, ns=(now, now))
        except OSError:
            pass  # a waiter that cannot ask still gets its turn when the holder idles

    def _stamp(self) -> int | None:
        try:
            return os.stat(self.path).st_mtime_ns
        except OSError:
            return None

    def heard(self) -> None:
        """Forget the requests made so far (called when the database is taken)."""
        self._seen = self._stamp()

    def asked(self) -> bool:
        """Whether someone asked since :meth:`heard`."""
        return self._stamp() != self._seen


@dataclass(slots=True)
class Backoff:
    """Jittered exponential waits until a deadline.

    Parameters
    ----------
    timeout : float
        Seconds from now after which :meth:`wait` answers False.
    """

    timeout: float
    deadline: float = field(init=False)
    delay: float = _FIRST_BACKOFF_S

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout

    def wait(self) -> bool:
        """Sleep before the next attempt; False (without sleeping) once time is up."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            return False
        # Jitter keeps several waiters from retrying in lockstep.
        time.sleep(min(left, self.delay * random.uniform(0.5, 1.5)))  # noqa: S311
        self.delay = min(self.delay * 2, _MAX_BACKOFF_S)
        return True


class Busy(Exception):
    """The database stayed locked by another process for the whole lock timeout.

    Attributes
    ----------
    detail : str
        Who held it, as far as known (the driver's message).
    waited : float
        Seconds spent waiting.
    """

    def __init__(self, detail: str, waited: float) -> None:
        super().__init__(detail)
        self.detail = detail
        self.waited = waited


class Lease:
    """A connection held only while in use, for databases one process may open at a time.

    ``pin()`` returns the open handle (opening it if needed) and must be paired with
    ``unpin()``. When the last pin goes, the lease lets the handle go if another process
    asked for it (after :data:`MIN_HOLD_S`) or once it has been idle for
    :data:`IDLE_RELEASE_S`. Without a gate the handle is kept until :meth:`close` (for
    databases that several processes can open at once).

    Parameters
    ----------
    open_handle
        Opens the database; raises a driver error for which ``is_busy`` is true when
        another process holds it.
    close_handle
        Closes what ``open_handle`` returned.
    is_busy
        Whether an exception from ``open_handle`` is a lock conflict worth retrying.
    timeout
        Seconds to wait for a locked database.
    gate
        Where processes queue for the database, or None to hold the handle for the
        lease's lifetime.
    """

    def __init__(
        self,
        open_handle: Callable[[], Any],
        close_handle: Callable[[Any], None],
        *,
        is_busy: Callable[[BaseException], bool],
        timeout: float,
        gate: Gate | None,
    ) -> None:
        self._open = open_handle
        self._close = close_handle
        self._is_busy = is_busy
        self.timeout = timeout
        self._gate = gate
        self._state = threading.Lock()
        self.handle: Any = None
        self._pins = 0
        self._closed = False
        self._held_since = 0.0
        self._last_used = 0.0
        self._yielded_at = -math.inf
        self._unavailable = False
        self._timer: threading.Timer | None = None
        #: Another process held the database when :meth:`start` looked (a hint: it may
        #: have let go since).
        self.held_elsewhere = False

    def start(self) -> None:
        """Open the database now; a locked one is left to be opened on first use.

        Another Consist process holding the gate is not waited for: it keeps the file at
        least :data:`MIN_HOLD_S`, and processes of an array job that each waited for it here
        ran one after another. The first use (the first flush, a read) queues instead.
        """
        with self._state:
            # Entering the gate twice is harmless: _take enters it again at once.
            if self._gate is not None and not self._gate.try_enter():
                self.held_elsewhere = True
                return
            with suppress(Busy):
                self._take()

    def pin(self) -> Any:
        """The open handle, kept open until the matching :meth:`unpin`; None once closed.

        Raises
        ------
        Busy
            If another process kept the database locked for the whole timeout.
        """
        with self._state:
            if self._closed:
                return None
            if self.handle is None:
                self._take()
            self._pins += 1
            return self.handle

    def unpin(self) -> None:
        """End one use of the handle; the last one may let it go (see the class)."""
        with self._state:
            self._pins -= 1
            if self._pins or self._gate is None or self.handle is None:
                return
            self._last_used = time.monotonic()
            if self._asked():
                self._let_go(yielded=True)
            else:
                self._watch()

    def close(self) -> None:
        """Close the handle for good. Idempotent."""
        with self._state:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            handle, self.handle = self.handle, None
            try:
                if handle is not None:
                    self._close(handle)
            finally:
                if self._gate is not None:
                    self._gate.close()

    # -- under self._state -----------------------------------------------------------------

    def _take(self) -> None:
        # After a timeout, one attempt only: a step should not wait a whole timeout again
        # for every lookup while another process keeps the file.
        timeout = 0.0 if self._unavailable else self.timeout
        deadline = time.monotonic() + timeout
        since_yield = time.monotonic() - self._yielded_at
        if since_yield < HANDOVER_S:
            time.sleep(HANDOVER_S - since_yield)
        if self._gate is not None:
            self._enter_gate(self._gate, deadline, timeout)
        try:
            self.handle = self._open_when_free(deadline, timeout)
        except BaseException:
            if self._gate is not None:
                self._gate.leave()
            raise
        self._unavailable = False
        self.held_elsewhere = False
        self._held_since = time.monotonic()
        if self._gate is not None:
            self._gate.heard()

    def _enter_gate(self, gate: Gate, deadline: float, timeout: float) -> None:
        asked_at = -math.inf
        while not gate.try_enter():
            now = time.monotonic()
            if now >= deadline:
                self._unavailable = True
                raise Busy(f"another Consist process holds it (see {gate.path})", timeout)
            if now - asked_at >= ASK_EVERY_S:
                gate.ask()
                asked_at = now
            time.sleep(GATE_POLL_S)

    def _open_when_free(self, deadline: float, timeout: float) -> Any:
        # Past the gate only a program that is not Consist can hold the file.
        backoff = Backoff(max(0.0, deadline - time.monotonic()))
        while True:
            try:
                return self._open()
            except Exception as exc:
                if not self._is_busy(exc):
                    raise
                conflict = exc
            if not backoff.wait():
                self._unavailable = True
                raise Busy(str(conflict), timeout)

    def _asked(self) -> bool:
        return (
            self._gate is not None
            and time.monotonic() - self._held_since >= MIN_HOLD_S
            and self._gate.asked()
        )

    def _let_go(self, *, yielded: bool) -> None:
        handle, self.handle = self.handle, None
        if yielded:
            self._yielded_at = time.monotonic()
        try:
            self._close(handle)
        except Exception:  # the data was committed; a failed close only loses the handle
            log.warning("consist: closing an idle database connection failed", exc_info=True)
        finally:
            if self._gate is not None:
                self._gate.leave()

    def _watch(self) -> None:
        if self._timer is None and not self._closed:
            self._timer = threading.Timer(IDLE_POLL_S, self._idle_check)
            self._timer.daemon = True
            self._timer.start()

    def _idle_check(self) -> None:
        with self._state:
            self._timer = None
            if self.handle is None or self._closed:
                return
            if self._pins == 0:
                if self._asked():
                    self._let_go(yielded=True)
                    return
                if time.monotonic() - self._last_used >= IDLE_RELEASE_S:
                    self._let_go(yielded=False)
                    return
            self._watch()
