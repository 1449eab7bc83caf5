"""Lineage of a three-step chain recorded in a real DuckDB tracker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from frame_libs import LIBS, frame_type, is_polars, rows_where, with_column
from rich.console import Console

import consist
from consist import OptionValueError, RunNotFoundError
from consist.api.lineage import export_lineage, lineage, print_lineage
from consist.core.lineage import collect, openlineage_run_id

if TYPE_CHECKING:
    import polars as pl  # the steps' annotations are read by name; polars loads when used


def clean(raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"cleaned": raw[raw["value"] >= 0.5]}


def features(cleaned: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"features": cleaned.assign(double=cleaned["value"] * 2)}


def model(features: pd.DataFrame, config: dict) -> dict[str, pd.DataFrame]:
    return {"predictions": features.assign(pred=features["double"] > config["cut"])}


def clean_polars(raw: pl.DataFrame) -> dict[str, pl.DataFrame]:
    assert is_polars(raw), type(raw)  # the annotation, read by name, chose the engine
    return {"cleaned": rows_where(raw, raw["value"] >= 0.5)}


def features_polars(cleaned: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {"features": with_column(cleaned, "double", cleaned["value"] * 2)}


def model_polars(features: pl.DataFrame, config: dict) -> dict[str, pl.DataFrame]:
    return {"predictions": with_column(features, "pred", features["double"] > config["cut"])}


STEPS = {
    "pandas": (clean, features, model),
    "polars": (clean_polars, features_polars, model_polars),
}


@pytest.fixture
def chain_lib() -> str:
    """The frame library the chain's steps take and return (one test runs it with each)."""
    return "pandas"


@pytest.fixture
def chain(tracker, raw_csv: Path, chain_lib: str):
    """clean(raw.csv) -> features(cleaned) -> model(features): the three results."""
    clean, features, model = STEPS[chain_lib]
    first = tracker.run(clean, inputs={"raw": raw_csv}, outputs=["cleaned"])
    second = tracker.run(features, inputs={"cleaned": first["cleaned"]}, outputs=["features"])
    third = tracker.run(
        model,
        inputs={"features": second["features"]},
        outputs=["predictions"],
        config={"cut": 1.5},
        year=2030,
    )
    return first, second, third


@pytest.mark.parametrize("chain_lib", LIBS)
def test_lineage_names_every_run_and_input_down_to_the_raw_file(
    tracker, chain, raw_csv, chain_lib
) -> None:
    first, second, third = chain
    predictions = consist.load(third["predictions"], engine=chain_lib)
    assert isinstance(predictions, frame_type(chain_lib))
    assert predictions["pred"].to_list() == [False, True]  # 0.6 and 0.9 kept, doubled, cut
    root = lineage(tracker, third["predictions"])
    assert root.artifact.id == third["predictions"].id
    assert root.producer.run.id == third.run.id and root.producer.run.year == 2030
    feats = root.producer.inputs["features"]
    assert feats.artifact.id == second["features"].id
    assert feats.producer.run.id == second.run.id
    cleaned = feats.producer.inputs["cleaned"]
    assert cleaned.artifact.id == first["cleaned"].id
    assert cleaned.producer.run.id == first.run.id
    raw = cleaned.producer.inputs["raw"]
    assert raw.producer is None and raw.artifact.run_id is None
    assert raw.artifact.uri.endswith("/raw.csv") and raw.artifact.path == raw_csv
    runs, artifacts = collect(root)
    assert [r.run.id for r in runs] == [first.run.id, second.run.id, third.run.id]
    assert len(artifacts) == 4


def test_lineage_accepts_an_id_or_a_key(tracker, chain) -> None:
    first, _, third = chain
    by_id = lineage(tracker, third["predictions"].id)
    assert by_id.artifact.id == third["predictions"].id and by_id.producer.run.id == third.run.id
    by_key = lineage(tracker, "cleaned")
    assert by_key.artifact.id == first["cleaned"].id
    raw = lineage(tracker, "raw")  # only ever an input
    assert raw.artifact.run_id is None and raw.producer is None
    with pytest.raises(RunNotFoundError, match="no_such_key"):
        lineage(tracker, "no_such_key")


def test_a_key_means_the_newest_artifact_with_that_key(tracker, chain) -> None:
    _, second, third = chain
    newer = tracker.run(
        model, inputs={"features": second["features"]}, outputs=["predictions"], config={"cut": 0}
    )
    assert not newer.cache_hit and newer["predictions"].id != third["predictions"].id
    assert lineage(tracker, "predictions").producer.run.id == newer.run.id


def test_max_depth_limits_the_expanded_runs(tracker, chain) -> None:
    _, second, third = chain
    root = lineage(tracker, third["predictions"], max_depth=1)
    feats = root.producer.inputs["features"]
    assert feats.producer is None and feats.truncated and feats.artifact.run_id == second.run.id


def test_a_cache_hit_leads_back_to_the_run_that_executed(tracker, chain, raw_csv) -> None:
    first, _, _ = chain
    again = tracker.run(clean, inputs={"raw": raw_csv}, outputs=["cleaned"])
    assert again.cache_hit and again.run.id != first.run.id
    assert lineage(tracker, again["cleaned"]).producer.run.id == first.run.id


def test_exports(tracker, chain) -> None:
    first, second, third = chain
    events = export_lineage(tracker, third["predictions"])  # openlineage by default
    json.dumps(events)
    assert [e["run"]["runId"] for e in events] == [
        openlineage_run_id(r.run.id) for r in (first, second, third)
    ]
    assert [e["job"]["name"] for e in events] == ["clean", "features", "model"]
    assert events[0]["inputs"][0]["name"].endswith("/raw.csv")
    assert events[2]["outputs"][0]["name"] == third["predictions"].uri

    prov = export_lineage(tracker, third["predictions"], format="prov-json")
    json.dumps(prov)
    generated = {(g["prov:entity"], g["prov:activity"]) for g in prov["wasGeneratedBy"].values()}
    assert (
        f"consist:artifact/{second['features'].id}",
        f"consist:run/{second.run.id}",
    ) in generated
    assert len(prov["activity"]) == 3 and len(prov["entity"]) == 4 and len(prov["used"]) == 3

    text = export_lineage(tracker, third["predictions"], format="mermaid")
    assert text.startswith("flowchart LR\n")
    edge = f"r_{third.run.id} --> a_{third['predictions'].id}"
    assert edge in text and f"a_{first['cleaned'].id} --> r_{second.run.id}" in text


def test_an_unknown_format_lists_the_supported_ones(tracker, chain) -> None:
    with pytest.raises(OptionValueError) as caught:
        export_lineage(tracker, "predictions", format="dot")
    message = str(caught.value)
    assert all(name in message for name in ("'openlineage'", "'prov-json'", "'mermaid'"))


def test_print_lineage_renders_every_run(tracker, chain, raw_csv) -> None:
    console = Console(record=True, width=250, color_system=None)
    print_lineage(tracker, "predictions", console=console)
    text = console.export_text()
    lines = text.splitlines()
    assert lines[0].startswith("predictions")
    for result, model_name in zip(chain, ["clean", "features", "model"], strict=True):
        assert f"{model_name} {result.run.id} completed" in text
    assert "year=2030" in text and "raw.csv" in text and "external input" in text
    # Deeper runs are indented further: the tree goes model -> features -> clean.
    indent = {r.run.id: next(i for i, s in enumerate(lines) if r.run.id in s) for r in chain}
    assert indent[chain[2].run.id] < indent[chain[1].run.id] < indent[chain[0].run.id]


def test_the_tracker_methods_answer_the_same(tracker, chain, capsys) -> None:
    key = "predictions"
    tree = tracker.lineage(key)
    assert tree.producer is not None and tree.producer.run.id == chain[2].run.id
    events = tracker.export_lineage(key, format="openlineage")
    assert [e["job"]["name"] for e in events] == ["clean", "features", "model"]
    assert tracker.export_lineage(key, format="mermaid").startswith("flowchart LR")
    tracker.print_lineage(key)
    printed = capsys.readouterr().out
    assert all(name in printed for name in ("clean", "features", "model"))
