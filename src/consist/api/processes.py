"""Which processes are alive on this machine, told apart from later ones with the same pid."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


def start_token(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from ``/proc``), or None where
    that cannot be read (no such process, or no ``/proc``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: count fields after it.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


@lru_cache(maxsize=1)
def this_process_token() -> str | None:
    return start_token(os.getpid())


def is_alive(pid: int, token: str | None) -> bool:
    """Whether process ``pid`` exists and, when ``token`` is known, is the same process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    if token is None:
        return True
    current = start_token(pid)
    return current is None or current == token
