"""Facets: queryable metadata that does not affect identity, pivoted into columns."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from pydantic import BaseModel

import consist

SNIPPET = Path(__file__).parent / "snippets" / "pivot_facets.py"
SWEEP = [(0.1, 1, "fast"), (0.2, 2, "slow"), (0.3, 3, "fast")]


def simulate(config):
    return None


def _sweep(tracker) -> dict[str, tuple]:
    by_run = {}
    for alpha, beta, mode in SWEEP:
        result = tracker.run(
            simulate,
            config={"alpha": alpha, "beta": beta, "mode": mode, "seed": 7},
            facet_from=["alpha", "beta", "mode"],
        )
        by_run[result.run.id] = (alpha, beta, mode)
    return by_run


def test_pivot_facets_snippet_reads_back_exact_values(tracker) -> None:
    expected = _sweep(tracker)
    rows = runpy.run_path(str(SNIPPET), init_globals={"tracker": tracker})["rows"]
    got = {run_id: (alpha, beta, mode) for run_id, alpha, beta, mode in rows}
    assert got == {k: (float(a), float(b), m) for k, (a, b, m) in expected.items()}
    assert 0.2 in {alpha for alpha, _, _ in got.values()}  # 0.2, not 0.20000000298


def test_facets_do_not_affect_identity_and_filter_runs(tracker) -> None:
    first = tracker.run(simulate, config={"k": 1}, facet={"label": "a", "solver": {"tol": 0.5}})
    again = tracker.run(simulate, config={"k": 1}, facet={"label": "b"})
    assert again.cache_hit  # a facet is metadata, not identity
    assert tracker.get_run(first.run.id).facet == {"label": "a", "solver": {"tol": 0.5}}
    found = tracker.find_runs(facet={"solver.tol": 0.5})
    assert [r.id for r in found] == [first.run.id]
    assert tracker.find_runs(facet={"label": "b"})[0].id == again.run.id
    assert tracker.find_runs(facet={"label": "c"}) == []


def test_facet_from_and_pydantic_facets_and_index_by(tracker) -> None:
    class Knobs(BaseModel):
        alpha: float
        regime: str

    for alpha in (0.1, 0.2):
        tracker.run(simulate, config={"alpha": alpha}, facet=Knobs(alpha=alpha, regime="x"))
    by_alpha = consist.find_runs(tracker=tracker, model="simulate", index_by="facet.alpha")
    assert sorted(by_alpha) == [0.1, 0.2]
    assert by_alpha[0.2].facet == {"alpha": 0.2, "regime": "x"}
    assert tracker.find_run(facet={"alpha": 0.1}).facet["alpha"] == 0.1


def test_bad_facets_are_refused_before_anything_is_recorded(tracker) -> None:
    with pytest.raises(KeyError, match="'beta'"):
        tracker.run(simulate, config={"alpha": 1}, facet_from=["beta"])
    with pytest.raises(TypeError, match=r"facet\['f'\]"):
        tracker.run(simulate, config={"alpha": 1}, facet={"f": object()})
    with pytest.raises(TypeError, match="dict or a pydantic model"):
        tracker.run(simulate, config={"alpha": 1}, facet=[1, 2])
    assert tracker.find_runs() == []


def test_traces_and_scenario_steps_take_facets(tracker) -> None:
    with consist.scenario("sweep", tracker=tracker) as sc:
        with sc.trace(name="calibrate", config={"alpha": 0.5}, facet_from=["alpha"]):
            pass
        sc.run(fn=simulate, config={"alpha": 0.7}, facet_from=["alpha"])
    assert tracker.find_run(model="calibrate").facet == {"alpha": 0.5}
    assert tracker.find_run(facet={"alpha": 0.7}).model_name == "simulate"
