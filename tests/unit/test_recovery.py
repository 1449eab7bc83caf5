"""Which running runs belong to dead processes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from consist.api.processes import is_alive, start_token
from consist.core.model import Run, RunStatus
from consist.core.recovery import PROCESS_STARTED, orphaned, supersedes


def run(run_id: str, *, host: str = "h1", pid: int | None = 10, token: str | None = "t",
        status: RunStatus = RunStatus.RUNNING) -> Run:  # fmt: skip
    meta = {PROCESS_STARTED: token} if token else {}
    return Run(id=run_id, model_name="m", status=status, created_at=datetime.now(UTC),
               host=host, pid=pid, meta=meta)  # fmt: skip


def test_only_running_runs_of_this_host_with_a_dead_process() -> None:
    alive = {(10, "t")}
    runs = [
        run("dead", pid=11),
        run("alive"),
        run("reused_pid", token="older"),  # same pid, a different process now
        run("other_host", host="h2", pid=11),
        run("finished", pid=11, status=RunStatus.COMPLETED),
        run("no_pid", pid=None),
    ]
    gone = orphaned(runs, "h1", lambda pid, token: (pid, token) in alive)
    assert [r.id for r in gone] == ["dead", "reused_pid"]


def test_process_checks_tell_a_finished_process_from_a_live_one() -> None:
    me = os.getpid()
    assert is_alive(me, start_token(me))
    assert not is_alive(me, "0") or start_token(me) is None  # another start time: not us
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert not is_alive(int(done.stdout), None)


S = RunStatus


@pytest.mark.parametrize(
    ("pending", "stored", "imported"),
    [
        (S.RUNNING, None, True),  # unknown to the database
        (S.COMPLETED, S.RUNNING, True),  # the pending end of a run
        (S.FAILED, S.RUNNING, True),
        (S.RUNNING, S.RUNNING, True),
        (S.CRASHED, S.COMPLETED, True),  # a finished state: the snapshot is the truth
        (S.RUNNING, S.COMPLETED, False),  # never set a finished run back
        (S.RUNNING, S.CRASHED, False),
    ],
)
def test_a_pending_snapshot_supersedes_unless_it_sets_a_finished_run_back(
    pending: RunStatus, stored: RunStatus | None, imported: bool
) -> None:
    in_db = None if stored is None else run("r", status=stored)
    assert supersedes(run("r", status=pending), in_db) is imported
