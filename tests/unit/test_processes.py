"""Start tokens read from /proc on Linux agree with psutil's, so processes recorded either way
are told apart (or matched) alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from consist.api import processes
from consist.api.processes import SAME_START_S, is_alive, start_token, token_time

needs_proc = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="no /proc on this system: psutil answers"
)


@needs_proc
def test_a_token_from_proc_is_the_creation_time_psutil_reports() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        for pid in (os.getpid(), child.pid):
            from_proc = processes._proc_creation_time(pid)
            assert from_proc is not None
            assert abs(from_proc - psutil.Process(pid).create_time()) < 0.02
            assert is_alive(pid, start_token(pid))
    finally:
        child.kill()
        child.wait()


def test_without_proc_the_token_comes_from_psutil(monkeypatch) -> None:
    monkeypatch.setattr(processes, "_proc_creation_time", lambda pid: None)
    token = start_token(os.getpid())
    assert abs(token_time(token) - psutil.Process().create_time()) < SAME_START_S
    assert start_token(2**22 + 12345) is None  # no such process


def test_a_command_name_with_spaces_and_parentheses_is_read_past(tmp_path) -> None:
    named = tmp_path / "a) b (c"
    named.symlink_to(sys.executable)
    child = subprocess.Popen([str(named), "-c", "import time; time.sleep(5)"])
    try:
        if processes._proc_creation_time(child.pid) is None:
            pytest.skip("no /proc on this system")
        assert (
            abs(token_time(start_token(child.pid)) - psutil.Process(child.pid).create_time()) < 0.02
        )
    finally:
        child.kill()
        child.wait()


def test_the_step_path_does_not_load_psutil_on_linux(tmp_path) -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc on this system: psutil answers")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from consist import Tracker\n"
        "def step(config):\n"
        "    return None\n"
        f"with Tracker(run_dir={str(tmp_path)!r}, db_path={str(tmp_path / 'p.sqlite')!r}) as t:\n"
        "    t.run(step, config={'i': 1})\n"
        "    t.run(step, config={'i': 1})\n"
        "print('psutil' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False"
