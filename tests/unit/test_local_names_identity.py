"""A step's local variable never pulls a module global of the same name into its identity
(``frame = ...`` inside a step, ``frame`` rebound at the top of a notebook or script)."""

from __future__ import annotations

import types
from pathlib import Path

from consist import Tracker

SOURCE = """
def step(config):
    frame = [config["a"]] * 2
    total = sum(x for x in frame)
    return None


def reads_global(config):
    return None if LIMIT > config["a"] else None
"""


def load(tmp_path: Path) -> types.ModuleType:
    path = tmp_path / "steps_module.py"
    path.write_text(SOURCE)
    module = types.ModuleType("steps_module")
    module.__file__ = str(path)
    exec(compile(SOURCE, str(path), "exec"), module.__dict__)
    return module


def test_a_global_named_like_a_local_does_not_count(tmp_path: Path) -> None:
    module = load(tmp_path)
    with Tracker(run_dir=tmp_path / "runs", db_path=tmp_path / "p.duckdb") as tracker:
        assert not tracker.run(module.step, config={"a": 1}).cache_hit
        module.frame = "a notebook cell defined this"
        module.x = 3  # the generator's variable, too
        assert tracker.run(module.step, config={"a": 1}).cache_hit
        module.frame = "and redefined it"
        assert tracker.run(module.step, config={"a": 1}).cache_hit


def test_a_global_the_step_reads_still_counts(tmp_path: Path) -> None:
    module = load(tmp_path)
    module.LIMIT = 1
    with Tracker(run_dir=tmp_path / "runs", db_path=tmp_path / "p.duckdb") as tracker:
        assert not tracker.run(module.reads_global, config={"a": 1}).cache_hit
        assert tracker.run(module.reads_global, config={"a": 1}).cache_hit
        module.LIMIT = 2
        assert not tracker.run(module.reads_global, config={"a": 1}).cache_hit
