"""Which processes are alive on this machine, told apart from later ones with the same pid.

``psutil`` answers on Linux, macOS and Windows alike. It is imported by the functions here,
when a tracker first needs it, so ``import consist`` stays light. On Linux a start token is
read from ``/proc`` instead, the way psutil computes it: every run asks for its process's
token, and a process that only runs steps then never loads psutil (about 1 MB).

A run records a *start token* of its process: ``"psutil:<creation time>"``. Runs recorded by
earlier versions hold ``/proc`` clock ticks (bare digits), which cannot be compared with a
creation time; such a token counts as unknown, and only the pid's existence is checked.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache

#: This machine's name, as runs record it.
HOST = socket.gethostname()

#: Prefix of the start tokens written here; tokens without it are of another format.
TOKEN_PREFIX = "psutil:"
#: Two creation times this close belong to one process. On Linux psutil adds the boot time,
#: which the kernel reports in whole seconds and restates after clock adjustments; a pid is
#: not reused by another process within a second of its previous owner's start.
SAME_START_S = 1.0


def start_token(pid: int) -> str | None:
    """The start token of process ``pid``, or None where it cannot be read (no such process,
    or one this user may not inspect)."""
    created = _proc_creation_time(pid)
    if created is None:
        import psutil

        try:
            created = psutil.Process(pid).create_time()
        except (psutil.Error, OSError, ValueError, OverflowError):  # no such pid, or none
            return None
    return f"{TOKEN_PREFIX}{created:.6f}"


def _proc_creation_time(pid: int) -> float | None:
    """Linux: the creation time psutil reports for ``pid`` (the boot time from
    ``/proc/stat`` plus the process's start in clock ticks from ``/proc/<pid>/stat``);
    None where there is no such ``/proc`` (then psutil answers)."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as f:
            stat = f.read()
        with open("/proc/stat", "rb") as f:
            boot = next(line for line in f if line.startswith(b"btime "))
        # The command name (field 2) may hold spaces and parentheses: count from its end.
        # ``starttime`` is field 22, the 20th after the name.
        ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])
        return float(boot.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration, OverflowError):
        return None


def this_process_token() -> str | None:
    """The start token of the calling process (computed once per process, fork-safe)."""
    return _token_of(os.getpid())


@lru_cache(maxsize=8)
def _token_of(pid: int) -> str | None:
    return start_token(pid)


class ThisProcess:
    """The calling process, read when a run asks: the start token (which needs psutil) is
    not computed until the first run, so opening a tracker does not pay for it, and a
    forked child reports its own pid and token."""

    host = HOST

    @property
    def pid(self) -> int:
        return os.getpid()

    @property
    def started(self) -> str | None:
        return this_process_token()


def token_time(token: str | None) -> float | None:
    """The creation time in a token written by :func:`start_token`; None for no token or one
    of another format (e.g. ``/proc`` clock ticks recorded by an earlier version)."""
    if token is None or not token.startswith(TOKEN_PREFIX):
        return None
    try:
        return float(token[len(TOKEN_PREFIX) :])
    except ValueError:
        return None


def is_alive(pid: int, token: str | None) -> bool:
    """Whether process ``pid`` exists and, when ``token`` is known, is the same process.

    A zombie (ended, not yet reaped by its parent) counts as gone: it can no longer finish
    its runs. A process this user may not inspect counts as the recorded one.
    """
    import psutil

    try:
        if pid <= 0 or not psutil.pid_exists(pid):
            return False
    except OverflowError:  # larger than any pid this system hands out
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        recorded = token_time(token)
        if recorded is None:
            return True
        return abs(process.create_time() - recorded) < SAME_START_S
    except psutil.NoSuchProcess:  # ended meanwhile (a ZombieProcess is one too)
        return False
    except psutil.AccessDenied:  # it exists; whose it is cannot be told
        return True
