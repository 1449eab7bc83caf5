"""Explaining cache decisions, SQL queries, facets and history through the public API."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from frame_libs import frame_type, read_csv, with_column
from sqlmodel import select

import consist
from consist.models import Artifact as ArtifactRow
from consist.models import Run as RunRow


def step(raw: Path, config):
    return {"out": pd.read_csv(raw).assign(scale=config["solver"]["scale"])}


def test_explain_names_the_changed_config_key_with_both_values(tracker, raw_csv) -> None:
    tracker.run(step, inputs={"raw": raw_csv}, config={"solver": {"scale": 1, "tol": 0.1}})
    second = tracker.run(step, inputs={"raw": raw_csv}, config={"solver": {"scale": 2, "tol": 0.1}})
    why = tracker.explain(second.run.id)
    assert not why.cache_hit and not why.code_changed and why.input_changes == []
    assert [(c.what, c.old, c.new) for c in why.config_changes] == [("solver.scale", 1, 2)]
    assert "solver.scale: 1 -> 2" in str(why)


def test_explain_names_the_changed_input(tracker, raw_csv) -> None:
    config = {"solver": {"scale": 1}}
    first = tracker.run(step, inputs={"raw": raw_csv}, config=config)
    raw_csv.write_text(raw_csv.read_text().replace("0.2", "0.3"))
    second = tracker.run(step, inputs={"raw": raw_csv}, config=config)
    why = tracker.explain(second.run.id)
    assert why.compared_to == first.run.id
    assert [c.what for c in why.input_changes] == ["raw"] and why.config_changes == []
    assert "input raw changed" in why.summary


def test_explain_names_the_code_after_a_helper_edit(make_tracker, raw_csv, workdir) -> None:
    module = workdir / "explain_helpers.py"
    module.write_text(
        textwrap.dedent("""
        def scale(frame):
            return frame * 2

        def work(raw):
            import pandas as pd
            return {"out": scale(pd.read_csv(raw))}
    """)
    )
    sys.path.insert(0, str(workdir))
    try:
        helpers = importlib.import_module("explain_helpers")
        tracker = make_tracker()
        tracker.run(helpers.work, inputs={"raw": raw_csv}, load_inputs=False)
        module.write_text(module.read_text().replace("frame * 2", "frame * 3"))
        stat = module.stat()
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        helpers = importlib.reload(helpers)
        second = tracker.run(helpers.work, inputs={"raw": raw_csv}, load_inputs=False)
        assert not second.cache_hit
        why = tracker.explain(second.run.id)
        assert why.code_changed and why.config_changes == [] and why.input_changes == []
        assert "code changed" in why.summary
    finally:
        sys.path.remove(str(workdir))
        sys.modules.pop("explain_helpers", None)


def test_explain_a_hit_names_its_source_and_a_first_run_has_nothing_to_compare(
    tracker, raw_csv
) -> None:
    first = tracker.run(step, inputs={"raw": raw_csv}, config={"solver": {"scale": 1}})
    hit = tracker.run(step, inputs={"raw": raw_csv}, config={"solver": {"scale": 1}})
    assert tracker.explain(hit.run.id).source_run_id == first.run.id
    assert tracker.explain(first.run.id).compared_to is None


def test_run_query_db_session_and_models(tracker, raw_csv) -> None:
    result = tracker.run(step, inputs={"raw": raw_csv}, config={"solver": {"scale": 1}})
    ids = consist.run_query(select(RunRow.id).where(RunRow.model_name == "step"), tracker=tracker)
    assert ids == [result.run.id]
    rows = consist.run_query(
        select(RunRow.id, RunRow.status).where(RunRow.id == result.run.id), tracker=tracker
    )
    assert rows == [(result.run.id, "completed")]
    (whole,) = consist.run_query(select(RunRow), tracker=tracker)
    assert whole.id == result.run.id and whole.signature == result.run.signature
    with consist.db_session(tracker) as session:
        keys = session.exec(select(ArtifactRow.key).order_by(ArtifactRow.key)).all()
    assert keys == ["out", "raw"]
    assert consist.run_query("SELECT count(*) FROM run", tracker=tracker) == [1]


def test_history_is_a_dataframe_of_recent_runs(tracker, raw_csv) -> None:
    for scale in (1, 2, 3):
        tracker.run(step, inputs={"raw": raw_csv}, config={"solver": {"scale": scale}})
    recent = tracker.history(limit=2)
    assert isinstance(recent, pd.DataFrame) and len(recent) == 2
    assert list(recent.columns)[:3] == ["id", "model", "status"]
    assert len(tracker.history(limit=None)) == 3


def test_pivot_facets_rejects_unknown_value_columns() -> None:
    with pytest.raises(ValueError, match="value_num"):
        consist.pivot_facets(namespace="m", keys=["a"], value_column="value_float")
    with pytest.raises(ValueError, match="not in keys"):
        consist.pivot_facets(namespace="m", keys=["a"], value_columns={"b": "value_str"})


def test_get_artifact_by_key_or_id_and_find_artifacts(tracker, raw_csv, lib: str) -> None:
    def step(raw: Path, config):
        return {"out": with_column(read_csv(lib, raw), "scale", config["solver"]["scale"])}

    first = tracker.run(step, inputs={"raw": raw_csv}, config={"solver": {"scale": 1}})
    second = tracker.run(step, inputs={"raw": raw_csv}, config={"solver": {"scale": 2}})
    assert tracker.get_artifact("out").id == second["out"].id  # newest with that key
    assert tracker.get_artifact(first["out"].id).id == first["out"].id
    with pytest.raises(LookupError, match="'nope'"):
        tracker.get_artifact("nope")
    assert [a.id for a in tracker.find_artifacts(creator=first.run)] == [first["out"].id]
    consumed = tracker.find_artifacts(consumer=second.run.id)
    assert [a.key for a in consumed] == ["raw"]
    assert len(tracker.find_artifacts(key="out")) == 2
    newest = consist.load(tracker.get_artifact("out"), engine=lib)
    assert isinstance(newest, frame_type(lib)) and newest["scale"].to_list() == [2, 2, 2, 2]
