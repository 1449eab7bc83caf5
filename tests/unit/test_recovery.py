"""Which running runs belong to dead processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from consist.api.processes import (
    TOKEN_PREFIX,
    is_alive,
    start_token,
    this_process_token,
    token_time,
)
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
    assert is_alive(me, start_token(me)) and is_alive(me, this_process_token())
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    gone = int(done.stdout)
    assert start_token(gone) is None
    for token in (None, "12345", start_token(me)):
        assert not is_alive(gone, token)  # a pid that no longer exists, whatever was recorded


def test_a_start_token_that_differs_is_another_process() -> None:
    me = os.getpid()
    created = token_time(start_token(me))
    assert created is not None
    assert not is_alive(me, f"{TOKEN_PREFIX}{created - 3600:.6f}")  # started an hour earlier
    # Linux restates the boot time (part of a creation time) by a second after clock changes.
    assert is_alive(me, f"{TOKEN_PREFIX}{created + 0.5:.6f}")


@pytest.mark.parametrize("token", [None, "18342", "psutil:", "psutil:soon", "other:1.5"])
def test_without_a_readable_token_only_existence_counts(token: str | None) -> None:
    # "18342": /proc clock ticks, as runs recorded by earlier versions hold them.
    assert token_time(token) is None
    assert is_alive(os.getpid(), token)


@pytest.mark.parametrize("pid", [0, -1, 2**31, 2**62])
def test_impossible_pids_are_not_alive(pid: int) -> None:
    assert not is_alive(pid, None) and start_token(pid) is None


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no zombie processes")
def test_an_ended_child_not_yet_reaped_is_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while is_alive(child.pid, None):  # a zombie until waited for
            assert time.monotonic() < deadline, "the child never ended"
            time.sleep(0.02)
    finally:
        child.wait()


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
