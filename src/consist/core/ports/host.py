"""Which machine and process executes the steps: recorded on every run, so that a tracker
opened later can tell a run whose process died (and mark it crashed) from a live one.

The core only carries these values; the api reads them from the operating system.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class ProcessIdentity(Protocol):
    """What a run records about the process executing it (read when a run is created)."""

    @property
    def host(self) -> str | None: ...

    @property
    def pid(self) -> int | None: ...

    @property
    def started(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """The executing process: ``host`` name, ``pid`` and a ``started`` token that tells it
    apart from a later process given the same pid (None where unknown, as in tests)."""

    host: str | None = None
    pid: int | None = None
    started: str | None = None
