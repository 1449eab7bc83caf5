"""The gate DuckDB stores queue at: one holder at a time, requests by mtime, never blocking."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from consist.adapters.stores.sql.lease import Gate

HOLD = """
import sys
from consist.adapters.stores.sql.lease import Gate

gate = Gate(sys.argv[1])
assert gate.try_enter()
print("in", flush=True)
sys.stdin.readline()
"""


def test_one_holder_at_a_time_and_the_next_one_after_it_leaves(tmp_path: Path) -> None:
    path = str(tmp_path / "p.duckdb.consist-lock")
    first, second = Gate(path), Gate(path)
    try:
        assert first.try_enter()
        started = time.perf_counter()
        assert not second.try_enter()  # refused at once, not waited for
        assert time.perf_counter() - started < 0.5
        first.leave()
        assert second.try_enter()
        assert not first.try_enter()
    finally:
        first.close()
        second.close()
    assert os.path.exists(path)  # the file stays: waiters and requests share it


def test_a_closed_gate_lets_the_next_one_in(tmp_path: Path) -> None:
    path = str(tmp_path / "gate")
    first, second = Gate(path), Gate(path)
    assert first.try_enter()
    first.close()
    first.close()  # idempotent
    assert second.try_enter()
    second.close()


def test_a_holder_hears_requests_made_after_it_took_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "gate")
    holder, waiter = Gate(path), Gate(path)
    try:
        assert holder.try_enter()
        holder.heard()
        assert not holder.asked()
        time.sleep(0.01)  # some filesystems keep coarse timestamps
        waiter.ask()
        deadline = time.monotonic() + 5
        while not holder.asked():  # a stamp equal to the last one heard is no request
            assert time.monotonic() < deadline
            time.sleep(0.01)
            waiter.ask()
        holder.heard()
        assert not holder.asked()
    finally:
        holder.close()
        waiter.close()


def test_asking_creates_a_missing_gate_file_and_never_raises(tmp_path: Path) -> None:
    Gate(str(tmp_path / "new")).ask()
    assert (tmp_path / "new").exists()
    Gate(str(tmp_path / "no" / "folder" / "gate")).ask()  # nobody to ask: nothing happens


def test_a_gate_that_cannot_be_opened_does_not_hold_anyone_back(tmp_path: Path) -> None:
    gate = Gate(str(tmp_path / "no" / "folder" / "gate"))
    assert gate.try_enter()  # the database's own lock still guards the file
    gate.leave()
    gate.close()


def test_another_process_holding_the_gate_keeps_this_one_out(tmp_path: Path) -> None:
    path = str(tmp_path / "gate")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    gate = Gate(path)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "in"
        assert not gate.try_enter()
        holder.communicate("\n", timeout=60)  # the holder exits: the system drops its lock
        assert gate.try_enter()
    finally:
        gate.close()
        if holder.poll() is None:
            holder.kill()
            holder.wait()
