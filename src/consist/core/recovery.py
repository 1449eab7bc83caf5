"""Runs left ``running`` by a process that died: which ones to mark ``crashed``.

A run records the host, pid and start time of the process that executes it. A later tracker
on the same host can tell whether that process still exists; a pid that was reused by a
newer process is told apart by its start time. Runs of other hosts are left alone: nothing
here can see their processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from consist.core.model import Run, RunStatus

#: Run meta key holding the start time of the process that executes the run.
PROCESS_STARTED = "process_started"

#: ``(pid, recorded start token or None) -> whether that process still runs``.
ProcessCheck = Callable[[int, str | None], bool]


def orphaned(runs: Iterable[Run], host: str, is_alive: ProcessCheck) -> list[Run]:
    """The ``running`` runs of ``host`` whose process is gone."""
    return [
        run
        for run in runs
        if run.status is RunStatus.RUNNING
        and run.host == host
        and run.pid is not None
        and not is_alive(run.pid, (run.meta or {}).get(PROCESS_STARTED))
    ]


def crash_message(run: Run) -> str:
    return (
        f"the process that ran it (host {run.host}, pid {run.pid}) ended without closing the "
        "run; it was marked crashed by a later tracker"
    )


def supersedes(snapshot: Run, stored: Run | None) -> bool:
    """Whether a pending snapshot's state of a run may replace the database's.

    The snapshot is the newer truth, except that a run the database already holds as
    finished is never set back to ``running`` (its owner wrote the end itself while the
    pending copy waited).
    """
    running = RunStatus.RUNNING
    return stored is None or stored.status is running or snapshot.status is not running
