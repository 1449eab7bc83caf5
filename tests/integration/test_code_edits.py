"""Editing code between sessions: a helper the step calls misses, an unrelated edit hits.

Each session is a fresh Python process running the user's script, exactly as a modeller
re-running a pipeline after editing their project would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HELPERS = """
SCALE = 2

def scale(values):
    return [v * SCALE for v in values]

def unrelated():
    return "not used by the step"
"""

PIPELINE = """
import json, sys
from pathlib import Path
from consist import Tracker
import helpers

def step(raw: Path):
    values = [float(x) for x in raw.read_text().split()]
    out = Path("result.txt")
    out.write_text(" ".join(map(str, helpers.scale(values))))
    return {"result": out}

tracker = Tracker(run_dir="runs", db_path="provenance.duckdb", project_root=".")
result = tracker.run(step, inputs={"raw": Path("raw.txt")})
print(json.dumps({"hit": result.cache_hit}))
tracker.close()
"""


def _session(project: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "pipeline.py"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])["hit"]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def for_store(script: str, store_kind: str) -> str:
    return textwrap.dedent(script).replace("provenance.duckdb", f"provenance.{store_kind}")


def test_helper_edits_miss_and_unrelated_edits_hit(tmp_path: Path, store_kind: str) -> None:
    (tmp_path / "helpers.py").write_text(textwrap.dedent(HELPERS))
    (tmp_path / "pipeline.py").write_text(for_store(PIPELINE, store_kind))
    (tmp_path / "raw.txt").write_text("1 2 3")
    helpers = tmp_path / "helpers.py"

    assert _session(tmp_path) is False
    assert _session(tmp_path) is True

    _edit(helpers, '"not used by the step"', '"edited, still unused"')
    assert _session(tmp_path) is True, "an unrelated function must not invalidate the step"

    _edit(helpers, "def scale(values):", "def scale(values):\n    # a comment changes nothing")
    assert _session(tmp_path) is True, "comments are not code"

    _edit(helpers, "v * SCALE", "v * SCALE + 0")
    assert _session(tmp_path) is False, "editing a helper the step calls must miss"
    assert _session(tmp_path) is True

    _edit(helpers, "SCALE = 2", "SCALE = 3")
    assert _session(tmp_path) is False, "a referenced module constant is part of the code"


TRACED = """
import json
import consist
from consist import Tracker

tracker = Tracker(run_dir="runs", db_path="provenance.duckdb", project_root=".")
with tracker.trace("summarise", config={"k": 1}):
    hit = tracker.is_cached
    consist.log_meta(total=sum([1, 2, 3]))
print(json.dumps({"hit": hit}))
tracker.close()
"""


def test_trace_identity_is_the_source_of_the_file_holding_the_block(
    tmp_path: Path, store_kind: str
) -> None:
    script = tmp_path / "pipeline.py"
    script.write_text(for_store(TRACED, store_kind))
    assert _session(tmp_path) is False
    assert _session(tmp_path) is True
    _edit(script, "tracker = Tracker(", "# a comment is not code\ntracker = Tracker(")
    assert _session(tmp_path) is True
    _edit(script, "sum([1, 2, 3])", "sum([1, 2, 4])")
    assert _session(tmp_path) is False
