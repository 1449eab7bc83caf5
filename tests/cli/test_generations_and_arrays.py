"""Scenarios entered more than once, and previews of array artifacts."""

from __future__ import annotations

import json

import pytest
from cli_helpers import Recorded, clean, table_rows

from consist import Tracker


def test_a_scenario_entered_again_lists_each_generation_with_its_own_steps(
    fresh: Recorded,
) -> None:
    with (
        Tracker(fresh.root, db_path=fresh.db) as tracker,
        tracker.scenario("baseline", config={"policy": "tax"}) as sc,
    ):
        again = sc.run(
            clean,
            name="clean",
            inputs={"path": fresh.root / "raw.csv"},
            outputs=["cleaned"],
            config={"factor": 7},
            year=2030,
        ).run.id
    listed = json.loads(fresh.invoke("scenarios", "--json").stdout)
    assert [(s["id"], s["name"], s["steps"]) for s in listed] == [
        ("baseline#2", "baseline", 1),
        ("baseline", "baseline", 2),
    ]
    newest = json.loads(fresh.invoke("scenario", "baseline", "--json").stdout)
    assert newest["scenario"]["id"] == "baseline#2"
    assert [s["id"] for s in newest["steps"]] == [again]
    first = json.loads(fresh.invoke("scenario", "baseline#1", "--json").stdout)
    assert [s["id"] for s in first["steps"]] == [fresh.runs["step_2030"], fresh.runs["step_2040"]]
    shown = fresh.invoke("scenario", "baseline#2")
    assert again in shown.stdout and fresh.runs["step_2030"] not in shown.stdout


def test_preview_of_an_array_lists_its_variables(fresh: Recorded) -> None:
    xr = pytest.importorskip("xarray")
    np = pytest.importorskip("numpy")

    def grid() -> xr.Dataset:
        return xr.Dataset({"temperature": (("x", "y"), np.zeros((2, 3)))}, coords={"x": [10, 20]})

    with Tracker(fresh.root, db_path=fresh.db) as tracker:
        tracker.run(grid, outputs=["grid"])
    data = json.loads(fresh.invoke("preview", "grid", "--json").stdout)
    assert data["kind"] == "array"
    assert data["dims"] == {"x": 2, "y": 3}
    variables = {v["name"]: v for v in data["variables"]}
    assert variables["temperature"]["dims"] == ["x", "y"]
    assert variables["temperature"]["shape"] == [2, 3]
    assert variables["x"]["coordinate"] is True
    shown = fresh.invoke("preview", "grid")
    assert ["temperature", "x, y", "float64", "2x3", "no"] in table_rows(shown.stdout)
