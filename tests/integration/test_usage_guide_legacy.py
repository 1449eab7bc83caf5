"""The usage guide's "Wrapping legacy code" snippet, verbatim, around a stand-in legacy tool."""

from __future__ import annotations

import runpy
import textwrap
from pathlib import Path

import pytest

SNIPPET = Path(__file__).parent / "snippets" / "legacy.py"

LEGACY_MODEL = '''
"""A stand-in for a legacy tool: reads its own config, writes CSVs into ./outputs."""
from pathlib import Path

def run():
    with open("calls.log", "a") as log:
        log.write("ran\\n")
    out = Path("outputs")
    out.mkdir(exist_ok=True)
    alpha = Path("config.yaml").read_text().strip()
    (out / "trips.csv").write_text(f"id,trips\\n1,{len(alpha)}\\n")
    (out / "persons.csv").write_text("id,age\\n1,40\\n")
    (out / "run.log").write_text("not a csv: never captured\\n")
'''


@pytest.fixture
def legacy_project(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (workdir / "legacy_model.py").write_text(textwrap.dedent(LEGACY_MODEL))
    (workdir / "input.csv").write_text("id,value\n1,2\n")
    (workdir / "config.yaml").write_text("alpha: 1\n")
    (workdir / "parameters.json").write_text('{"beta": 2}\n')
    monkeypatch.syspath_prepend(str(workdir))
    return workdir


def _run_snippet(tracker) -> None:
    runpy.run_path(str(SNIPPET), init_globals={"tracker": tracker, "Path": Path})


def _latest(tracker):
    return tracker.find_runs(model="run_legacy_model", limit=1)[0]


def test_legacy_snippet_captures_csvs_and_caches(tracker, legacy_project: Path) -> None:
    calls = legacy_project / "calls.log"

    _run_snippet(tracker)
    first = _latest(tracker)
    outputs = tracker.get_artifacts_for_run(first.id).outputs
    assert set(outputs) == {"trips", "persons"}  # keyed by stem; run.log is not captured
    assert outputs["trips"].path == legacy_project / "outputs" / "trips.csv"
    inputs = tracker.get_artifacts_for_run(first.id).inputs
    assert set(inputs) == {"upstream_artifact", "config", "parameters"}
    assert calls.read_text().count("ran") == 1

    _run_snippet(tracker)  # a hit: the tool does not run
    second = _latest(tracker)
    assert second.meta["cache_hit"] and second.meta["cache_source"] == first.id
    assert calls.read_text().count("ran") == 1
    assert set(tracker.get_artifacts_for_run(second.id).outputs) == {"trips", "persons"}

    (legacy_project / "config.yaml").write_text("alpha: 22\n")  # a depends_on file changes
    _run_snippet(tracker)
    third = _latest(tracker)
    assert not third.meta["cache_hit"]
    assert calls.read_text().count("ran") == 2
    trips = tracker.get_artifacts_for_run(third.id).outputs["trips"]
    assert trips.digest != outputs["trips"].digest and trips.run_id == third.id
