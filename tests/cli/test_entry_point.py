"""The installed ``consist`` console script end to end, and the generated reference page."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Recorded

ROOT = Path(__file__).resolve().parents[2]


def _console_script() -> str:
    beside = Path(sys.executable).parent / "consist"
    found = str(beside) if beside.exists() else shutil.which("consist")
    if found is None:
        pytest.fail("the consist console script is not installed: pip install -e .")
    return found


@pytest.mark.slow
def test_the_installed_entry_point(recorded: Recorded, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CONSIST_DB"}
    env["CONSIST_DB"] = str(recorded.db)

    def consist(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_console_script(), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    version = consist("--version")
    assert version.returncode == 0 and version.stdout.startswith("consist ")
    listed = consist("runs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {r["id"] for r in json.loads(listed.stdout)} >= set(recorded.runs.values())
    table = consist("runs")
    assert table.returncode == 0
    assert all(run_id in table.stdout for run_id in recorded.runs.values())
    assert "\x1b[" not in table.stdout  # no colour codes when piped
    assert table.stderr == ""  # no progress bar or notice when not on a terminal
    missing = consist("show", "no_such_run")
    assert missing.returncode == 1 and missing.stderr.startswith("error: no run with id")
    assert consist("runs", "--nope").returncode == 2


def test_docs_cli_md_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts/gen_cli_docs.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == generator.render(), "run: python scripts/gen_cli_docs.py"
