"""Traced blocks count what they read from their surroundings.

A ``with tracker.trace(...)`` block has no parameters: it reads names from where it is
written. Each value it reads reaches the block, so each counts for the block's identity (no
false hit when a loop variable changes), and nothing else does (a scenario's block that
declares what it reads is reused by the next scenario, as a function-shaped step would be).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import consist

FRAME = pd.DataFrame({"zone": [1, 2, 3], "jobs": [10, 20, 30]})


def verdicts(tracker, model: str) -> list[bool]:
    runs = sorted(tracker.find_runs(model=model), key=lambda r: r.created_at)
    return [bool(r.meta["cache_hit"]) for r in runs]


def test_a_loop_variable_the_block_reads_counts(tracker) -> None:
    for factor in (1, 2, 1, 2):
        with tracker.trace("scaled", config={"k": 1}) as t:
            if not t.is_cached:
                consist.log_dataframe(FRAME.assign(jobs=FRAME.jobs * factor), key="scaled")
    assert verdicts(tracker, "scaled") == [False, False, True, True]


def test_names_the_block_binds_itself_and_its_accumulators_do_not_count(tracker) -> None:
    seen: list[bool] = []
    frame = None
    for _ in range(3):
        with tracker.trace("summary", config={"k": 1}) as t:
            frame = FRAME.describe()  # bound in the block before it is read
            seen.append(t.is_cached)  # the same list, growing: counts as first seen
            consist.log_dataframe(frame, key="summary")
    assert seen == [False, True, True]


def test_a_scenario_block_declaring_its_reads_is_reused_by_the_next_scenario(tracker) -> None:
    zones = tracker.run(lambda: FRAME, name="zones", outputs=["zones"])
    params = {"beta": 0.5}
    hits: list[bool] = []
    for name, extra in (("base", {"n": 10}), ("extended", {"n": 15})):
        with consist.scenario(name, tracker=tracker, config=extra) as sc:
            with sc.trace("logsums", config=params, inputs={"zones": consist.ref(zones)}) as t:
                hits.append(t.is_cached)
                if not t.is_cached:
                    frame = t.load(consist.ref(zones))
                    consist.log_dataframe(frame.assign(ls=frame.jobs * params["beta"]), key="ls")
            assert "ls" in sc.coupler
    assert hits == [False, True]
    base, extended = sorted(tracker.find_runs(model="logsums"), key=lambda r: r.created_at)
    assert extended.meta["cache_hit"] and extended.meta["cache_source"] == base.id
    assert extended.parent_run_id == "extended"


def test_a_scenario_block_reading_scenario_state_is_never_shared(tracker, workdir) -> None:
    FRAME.to_csv(workdir / "zones.csv", index=False)
    for name in ("a", "b"):
        with consist.scenario(name, tracker=tracker) as sc:
            sc.add_input(workdir / "zones.csv", key="zones")
            with sc.trace("reads_coupler", config={"k": 1}):
                consist.log_dataframe(consist.load(sc.coupler.require("zones")), key="copy")
            with sc.trace("reads_coupler", config={"k": 1}):  # same scenario: reused
                consist.log_dataframe(consist.load(sc.coupler.require("zones")), key="copy")
    assert verdicts(tracker, "reads_coupler") == [False, True, False, True]
    run = tracker.find_runs(model="reads_coupler")[0]
    assert run.identity["unseen_reads"] == ["sc"]


def test_an_upstream_result_counts_by_its_outputs_contents(tracker) -> None:
    hits = []
    for jobs in (10, 10, 99):
        upstream = tracker.run(
            lambda jobs: FRAME.assign(jobs=jobs), name="up", outputs=["up"], fn_args={"jobs": jobs}
        )
        with tracker.trace("down", config={"k": 1}) as t:
            hits.append(t.is_cached)
            consist.log_dataframe(consist.load(upstream.outputs["up"]).head(1), key="down")
    assert hits == [False, True, False]


def test_explain_names_the_read_that_changed(tracker) -> None:
    for alpha in (0.1, 0.2):
        settings = {"alpha": alpha}
        with tracker.trace("tuned", config={"k": 1}):
            consist.log_meta(alpha=settings["alpha"])
    newest = tracker.find_runs(model="tuned")[0]
    explanation = tracker.explain(newest.id)
    assert not explanation.cache_hit
    assert [c.what for c in explanation.argument_changes] == ["reads.settings.alpha"]
    assert "0.1" in str(explanation) and "0.2" in str(explanation)


def test_find_artifacts_by_a_cache_hit_returns_what_it_handed_back(tracker) -> None:
    first = tracker.run(lambda: FRAME, name="make", outputs=["table"])
    again = tracker.run(lambda: FRAME, name="make", outputs=["table"])
    assert again.cache_hit
    found = tracker.find_artifacts(creator=again.run)
    assert [a.id for a in found] == [first.outputs["table"].id]
    assert found[0].run_id == first.run.id  # still produced by the first run


HELPERS = """
OFFSET = 1

def shift(values):
    return [v + OFFSET for v in values]

def unrelated():
    return "not read by the block"
"""

PIPELINE = """
import json
from consist import Tracker
import helpers

tracker = Tracker(run_dir="runs", db_path="provenance.duckdb", project_root=".")
with tracker.trace("shifted", config={"k": 1}) as t:
    hit = t.is_cached
    values = helpers.shift([1, 2, 3])
print(json.dumps({"hit": hit}))
tracker.close()
"""


@pytest.mark.slow
def test_editing_a_helper_the_block_calls_misses_and_an_unrelated_edit_hits(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))

    def session() -> bool:
        done = subprocess.run(
            [sys.executable, "pipeline.py"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return bool(json.loads(done.stdout.strip().splitlines()[-1])["hit"])

    def edit(old: str, new: str) -> None:
        path = tmp_path / "helpers.py"
        path.write_text(path.read_text().replace(old, new))

    assert session() is False
    assert session() is True
    edit('"not read by the block"', '"still not read"')
    assert session() is True  # the block does not call it
    edit("OFFSET = 1", "OFFSET = 2")
    assert session() is False  # a constant the helper reads
    edit("v + OFFSET", "v - OFFSET")
    assert session() is False  # the helper's own code


def test_a_block_in_a_notebook_cell_counts_its_reads(tracker) -> None:
    # IPython compiles each cell under a made-up file name and registers its source with
    # linecache; a block in a cell is read from there.
    import linecache

    cell = textwrap.dedent(
        """
        for factor in (1, 2, 1):
            with tracker.trace("cell_block", config={"k": 1}) as t:
                seen.append(t.is_cached)
                consist.log_meta(factor=factor)
        """
    )
    name = "<notebook-cell-7>"
    linecache.cache[name] = (len(cell), None, cell.splitlines(keepends=True), name)
    try:
        namespace = {"tracker": tracker, "consist": consist, "seen": []}
        exec(compile(cell, name, "exec"), namespace)  # noqa: S102 - the test's own cell
    finally:
        linecache.cache.pop(name, None)
    assert namespace["seen"] == [False, False, True]


def test_a_block_whose_source_cannot_be_read_says_so(tracker) -> None:
    code = 'with tracker.trace("typed", config={"k": 1}):\n    consist.log_meta(x=1)\n'
    exec(compile(code, "<stdin>", "exec"), {"tracker": tracker, "consist": consist})  # noqa: S102
    run = tracker.find_runs(model="typed")[0]
    assert run.identity["unseen_reads"] == ["<source not readable>"]


def test_a_dict_changed_in_place_between_blocks_counts(tracker) -> None:
    params = {"alpha": 1}
    seen: list[bool] = []  # the block's own accumulator: it keeps the block cached
    for alpha in (1, 2, 1):
        params["alpha"] = alpha  # the same dict, changed in place
        with tracker.trace("tuned_in_place", config={"k": 1}) as t:
            seen.append(t.is_cached)
            consist.log_meta(alpha=params["alpha"])
    assert seen == [False, False, True]
