"""Lineage trees built from dict fakes, and their OpenLineage, PROV-JSON and Mermaid exports."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from consist.api.lineage import RunLineage, render_lineage
from consist.core.errors import OptionValueError, RunNotFoundError
from consist.core.lineage import (
    LineageNode,
    build_lineage,
    collect,
    openlineage_run_id,
    to_openlineage,
    to_prov_json,
)
from consist.core.lineage_mermaid import to_mermaid
from consist.core.model import Artifact, Run, RunArtifacts, RunStatus

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def art(artifact_id: str, run_id: str | None, key: str | None = None) -> Artifact:
    return Artifact(
        id=artifact_id,
        key=key or artifact_id,
        uri=f"workspace://outputs/{artifact_id}.parquet",
        driver="parquet",
        digest=f"blake3:{artifact_id:0>8}",
        size=10,
        run_id=run_id,
        created_at=T0,
    )


def run(run_id: str, model: str, minutes: int, **kw) -> Run:
    start = T0 + timedelta(minutes=minutes)
    return Run(
        id=run_id,
        model_name=model,
        status=kw.pop("status", RunStatus.COMPLETED),
        created_at=start,
        started_at=start,
        ended_at=start + timedelta(seconds=30),
        **kw,
    )


class FakeStore:
    """Runs and their inputs in dicts; counts calls to check memoisation."""

    def __init__(self, runs: list[Run], inputs: dict[str, dict[str, Artifact]]) -> None:
        self.runs = {r.id: r for r in runs}
        self.inputs = inputs
        self.run_calls: Counter[str] = Counter()
        self.input_calls: Counter[str] = Counter()

    def get_run(self, run_id: str) -> Run | None:
        self.run_calls[run_id] += 1
        return self.runs.get(run_id)

    def get_inputs(self, run_id: str) -> dict[str, Artifact]:
        self.input_calls[run_id] += 1
        return self.inputs.get(run_id, {})

    def build(self, artifact: Artifact, max_depth: int | None = None) -> LineageNode:
        return build_lineage(
            artifact, get_run=self.get_run, get_inputs=self.get_inputs, max_depth=max_depth
        )


RAW = art("raw", None, key="raw")
CLEANED = art("cleaned", "r_clean")
FEATURES = art("features", "r_feat")
PREDICTIONS = art("predictions", "r_model")


@pytest.fixture
def chain() -> FakeStore:
    """raw -> clean -> features -> model -> predictions."""
    return FakeStore(
        [run("r_clean", "clean", 0), run("r_feat", "features", 1), run("r_model", "model", 2)],
        {
            "r_clean": {"raw_file": RAW},
            "r_feat": {"cleaned": CLEANED},
            "r_model": {"features": FEATURES},
        },
    )


@pytest.fixture
def diamond() -> FakeStore:
    """raw -> prep -> {left, right} (two outputs of prep) -> join."""
    base_a, base_b = art("base_a", "r_prep"), art("base_b", "r_prep")
    left, right = art("left", "r_left"), art("right", "r_right")
    return FakeStore(
        [
            run("r_prep", "prep", 0),
            run("r_left", "left", 1),
            run("r_right", "right", 2),
            run("r_join", "join", 3),
        ],
        {
            "r_prep": {"raw": RAW},
            "r_left": {"base": base_a},
            "r_right": {"base": base_b},
            "r_join": {"left": left, "right": right},
        },
    )


JOINED = art("joined", "r_join")


def test_three_levels_follow_every_producer_down_to_the_external_input(chain) -> None:
    root = chain.build(PREDICTIONS)
    assert root.artifact is PREDICTIONS and root.producer.run.id == "r_model"
    features = root.producer.inputs["features"]
    assert features.artifact is FEATURES and features.producer.run.id == "r_feat"
    cleaned = features.producer.inputs["cleaned"]
    assert cleaned.producer.run.id == "r_clean"
    raw = cleaned.producer.inputs["raw_file"]
    assert raw.artifact is RAW and raw.producer is None
    assert not (raw.truncated or raw.cycle)


def test_diamond_shares_the_upstream_run_and_fetches_it_once(diamond) -> None:
    root = diamond.build(JOINED)
    left = root.producer.inputs["left"].producer
    right = root.producer.inputs["right"].producer
    prep_from_left = left.inputs["base"].producer
    prep_from_right = right.inputs["base"].producer
    assert prep_from_left is prep_from_right and prep_from_left.run.id == "r_prep"
    assert diamond.run_calls["r_prep"] == 1 and diamond.input_calls["r_prep"] == 1
    runs, artifacts = collect(root)
    assert [r.run.id for r in runs] == ["r_prep", "r_left", "r_right", "r_join"]
    assert set(artifacts) == {"raw", "base_a", "base_b", "left", "right", "joined"}


def test_a_cycle_ends_in_a_leaf() -> None:
    # r1 consumes y (made by r2); r2 consumes x, which r1 made.
    x, y = art("x", "r1"), art("y", "r2")
    store = FakeStore([run("r1", "one", 0), run("r2", "two", 1)], {"r1": {"y": y}, "r2": {"x": x}})
    root = store.build(x)
    leaf = root.producer.inputs["y"].producer.inputs["x"]
    assert leaf.artifact is x and leaf.cycle and leaf.producer is None
    assert store.run_calls == Counter({"r1": 1, "r2": 1})
    # Every export terminates and lists each run once.
    assert [e["job"]["name"] for e in to_openlineage(root)] == ["two", "one"]
    # x is the (expanded) root, so the diagram closes the loop instead of marking a cut leaf.
    lines = to_mermaid(root).splitlines()
    assert "    a_x --> r_r2" in lines and "    r_r1 --> a_x" in lines
    assert not [line for line in lines if "cut" in line]


def test_a_sibling_output_of_a_run_on_the_path_is_also_a_leaf() -> None:
    x, z, y = art("x", "r1"), art("z", "r1"), art("y", "r2")
    store = FakeStore([run("r1", "one", 0), run("r2", "two", 1)], {"r1": {"y": y}, "r2": {"z": z}})
    leaf = store.build(x).producer.inputs["y"].producer.inputs["z"]
    assert leaf.artifact is z and leaf.cycle and leaf.producer is None


def test_max_depth_counts_levels_of_producing_runs(chain) -> None:
    alone = chain.build(PREDICTIONS, max_depth=0)
    assert alone.producer is None and alone.truncated
    one = chain.build(PREDICTIONS, max_depth=1)
    features = one.producer.inputs["features"]
    assert features.producer is None and features.truncated
    assert "    class a_features cut" in to_mermaid(one).splitlines()
    two = chain.build(PREDICTIONS, max_depth=2)
    cleaned = two.producer.inputs["features"].producer.inputs["cleaned"]
    assert cleaned.producer is None and cleaned.truncated
    full = chain.build(PREDICTIONS, max_depth=3)
    raw = full.producer.inputs["features"].producer.inputs["cleaned"].producer.inputs["raw_file"]
    assert raw.artifact is RAW and not raw.truncated  # external: nothing was cut


def test_a_run_reached_first_deep_then_shallow_is_expanded_with_the_larger_budget() -> None:
    # top consumes b (made by mid, which consumes a) and a directly; a is made by up, which
    # consumes s (made by src). Through b, up sits at depth 3; directly, at depth 2.
    s, a, b, top = art("s", "r_src"), art("a", "r_up"), art("b", "r_mid"), art("top", "r_top")
    store = FakeStore(
        [run(r, r, i) for i, r in enumerate(["r_src", "r_up", "r_mid", "r_top"])],
        {"r_src": {}, "r_up": {"s": s}, "r_mid": {"a": a}, "r_top": {"b": b, "a": a}},
    )
    root = store.build(top, max_depth=3)
    up_direct = root.producer.inputs["a"].producer
    up_via_mid = root.producer.inputs["b"].producer.inputs["a"].producer
    assert up_direct is up_via_mid  # one node, updated in place
    assert up_direct.inputs["s"].producer is not None  # src expanded (budget from the short path)
    assert up_direct.inputs["s"].producer.run.id == "r_src"


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_max_depth_must_be_a_non_negative_integer(chain, bad) -> None:
    with pytest.raises(OptionValueError, match="max_depth"):
        chain.build(PREDICTIONS, max_depth=bad)


def test_a_producer_missing_from_the_store_leaves_the_artifact_unexpanded() -> None:
    orphan = art("orphan", "r_gone")
    root = FakeStore([], {}).build(orphan)
    assert root.producer is None and not root.truncated and not root.cycle
    assert to_openlineage(root) == []


def test_openlineage_events_are_run_events_upstream_first(chain) -> None:
    events = to_openlineage(chain.build(PREDICTIONS))
    json.dumps(events)  # JSON-able
    assert [e["job"]["name"] for e in events] == ["clean", "features", "model"]
    for event, run_id in zip(events, ["r_clean", "r_feat", "r_model"], strict=True):
        assert set(event) >= {"eventType", "eventTime", "run", "job", "inputs", "outputs"}
        assert event["eventType"] == "COMPLETE" and event["job"]["namespace"] == "consist"
        assert event["schemaURL"].endswith("OpenLineage.json#/$defs/RunEvent")
        assert str(uuid.UUID(event["run"]["runId"])) == event["run"]["runId"]
        assert event["run"]["runId"] == openlineage_run_id(run_id)
        assert event["run"]["facets"]["consist_run"]["runId"] == run_id
        assert datetime.fromisoformat(event["eventTime"]).tzinfo is not None
    clean, features, model = events
    assert [d["name"] for d in clean["inputs"]] == [RAW.uri]
    assert [d["name"] for d in clean["outputs"]] == [CLEANED.uri]
    assert [d["name"] for d in features["inputs"]] == [CLEANED.uri]
    assert [d["name"] for d in model["outputs"]] == [PREDICTIONS.uri]
    dataset = clean["inputs"][0]
    assert dataset["namespace"] == "workspace"
    assert dataset["facets"]["version"]["datasetVersion"] == RAW.digest
    assert dataset["facets"]["consist_artifact"]["inputKey"] == "raw_file"


def test_openlineage_event_type_follows_the_run_status() -> None:
    failed = run("r_bad", "bad", 0, status=RunStatus.FAILED, error="ValueError: nope")
    running = run("r_on", "on", 1, status=RunStatus.RUNNING)
    store = FakeStore([failed, running], {"r_on": {"x": art("x", "r_bad")}})
    events = to_openlineage(store.build(art("y", "r_on")))
    assert [e["eventType"] for e in events] == ["FAIL", "START"]
    assert events[0]["run"]["facets"]["errorMessage"]["message"] == "ValueError: nope"


def test_prov_json_relates_runs_and_artifacts(diamond) -> None:
    doc = to_prov_json(diamond.build(JOINED))
    json.dumps(doc)
    assert set(doc) == {"prefix", "entity", "activity", "used", "wasGeneratedBy"}
    assert "consist" in doc["prefix"]
    assert set(doc["entity"]) == {
        f"consist:artifact/{a}" for a in ["raw", "base_a", "base_b", "left", "right", "joined"]
    }
    assert set(doc["activity"]) == {f"consist:run/{r}" for r in diamond.runs}
    used = {(u["prov:activity"], u["prov:entity"], u["prov:role"]) for u in doc["used"].values()}
    assert used == {
        ("consist:run/r_prep", "consist:artifact/raw", "raw"),
        ("consist:run/r_left", "consist:artifact/base_a", "base"),
        ("consist:run/r_right", "consist:artifact/base_b", "base"),
        ("consist:run/r_join", "consist:artifact/left", "left"),
        ("consist:run/r_join", "consist:artifact/right", "right"),
    }
    generated = {(g["prov:entity"], g["prov:activity"]) for g in doc["wasGeneratedBy"].values()}
    assert generated == {
        ("consist:artifact/base_a", "consist:run/r_prep"),
        ("consist:artifact/base_b", "consist:run/r_prep"),
        ("consist:artifact/left", "consist:run/r_left"),
        ("consist:artifact/right", "consist:run/r_right"),
        ("consist:artifact/joined", "consist:run/r_join"),
    }
    assert all(key.startswith("_:") for key in [*doc["used"], *doc["wasGeneratedBy"]])
    assert doc["entity"]["consist:artifact/raw"]["consist:digest"] == RAW.digest


def test_mermaid_has_the_edges_and_safe_ids(chain) -> None:
    text = to_mermaid(chain.build(PREDICTIONS))
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    a_raw[("raw")]' in lines
    assert '    r_r_model["model r_model"]' in lines
    assert '    a_raw -->|"raw_file"| r_r_clean' in lines
    for edge in [
        "r_r_clean --> a_cleaned",
        "a_cleaned --> r_r_feat",
        "r_r_feat --> a_features",
        "a_features --> r_r_model",
        "r_r_model --> a_predictions",
    ]:
        assert f"    {edge}" in lines
    assert len([line for line in lines if "-->" in line]) == 6


def test_mermaid_sanitises_ids_and_escapes_labels() -> None:
    odd = art("id-1.x", "run/1", key='a "quoted" <key> #1')
    clash = art("id_1_x", None, key="clash")
    store = FakeStore([run("run/1", "m", 0)], {"run/1": {"in": clash}})
    text = to_mermaid(store.build(odd))
    node_ids = re.findall(r"^\s+(\w+)[\[(]", text, flags=re.MULTILINE)
    assert sorted(node_ids) == ["a_id_1_x", "a_id_1_x_2", "r_run_1"]
    for line in text.splitlines()[1:]:
        ids = re.findall(r"^\s+([^\s\[(]+)", line)[0]
        assert re.fullmatch(r"[A-Za-z0-9_]+", ids)
    assert "a #quot;quoted#quot; #lt;key#gt; #35;1" in text
    assert '"quoted"' not in text and "<key>" not in text


class FakeTracker:
    """The three lookups lineage needs, from a FakeStore (runs listed newest first), and the
    lineage methods over them, as the tracker has them."""

    def __init__(self, store: FakeStore, outputs: dict[str, dict[str, Artifact]]) -> None:
        self.store = store
        self.outputs = outputs
        service = RunLineage(self)
        self.lineage = service.lineage
        self.print_lineage = service.print_lineage
        self.export_lineage = service.export_lineage

    def get_run(self, run_id: str) -> Run:
        found = self.store.get_run(run_id)
        if found is None:
            raise RunNotFoundError(run_id)
        return found

    def get_artifacts_for_run(self, run_id: str) -> RunArtifacts:
        return RunArtifacts(self.store.get_inputs(run_id), self.outputs.get(run_id, {}))

    def find_runs(self, *args: object, **kwargs: object) -> list[Run]:
        return sorted(self.store.runs.values(), key=lambda r: r.created_at, reverse=True)

    def get_artifact(self, key_or_id: str) -> Artifact:
        """The newest run's output with this key, else the newest input with it."""
        newest_input: Artifact | None = None
        for found in self.find_runs():
            links = self.get_artifacts_for_run(found.id)
            for artifact in links.outputs.values():
                if key_or_id in (artifact.key, artifact.id):
                    return artifact
            if newest_input is None:
                newest_input = next(
                    (a for a in links.inputs.values() if key_or_id in (a.key, a.id)), None
                )
        if newest_input is None:
            raise RunNotFoundError(f"nothing recorded under {key_or_id!r}")
        return newest_input


@pytest.fixture
def fake_tracker(chain) -> FakeTracker:
    older = art("old_predictions", "r_old", key="predictions")
    chain.runs["r_old"] = run("r_old", "model", -10)
    chain.inputs["r_old"] = {"features": FEATURES}
    outputs = {
        "r_clean": {"cleaned": CLEANED},
        "r_feat": {"features": FEATURES},
        "r_model": {"predictions": PREDICTIONS},
        "r_old": {"predictions": older},
    }
    return FakeTracker(chain, outputs)


def test_mixin_resolves_keys_to_the_newest_artifact(fake_tracker) -> None:
    assert fake_tracker.lineage("predictions").artifact is PREDICTIONS
    assert fake_tracker.lineage(FEATURES).producer.run.id == "r_feat"
    assert fake_tracker.lineage("raw").artifact is RAW  # only ever an input
    with pytest.raises(RunNotFoundError, match="nothing"):
        fake_tracker.lineage("nothing")
    with pytest.raises(TypeError):
        fake_tracker.lineage(42)  # type: ignore[arg-type]


def test_mixin_prefers_get_artifact_when_the_tracker_has_it(fake_tracker) -> None:
    asked: list[str] = []

    def get_artifact(key_or_id: str) -> Artifact:
        asked.append(key_or_id)
        return CLEANED

    fake_tracker.get_artifact = get_artifact
    assert fake_tracker.lineage("anything").artifact is CLEANED and asked == ["anything"]


def test_mixin_exports_and_rejects_unknown_formats(fake_tracker) -> None:
    assert fake_tracker.export_lineage("predictions", "mermaid").startswith("flowchart LR\n")
    assert len(fake_tracker.export_lineage("predictions", max_depth=2)) == 2
    with pytest.raises(OptionValueError, match="'openlineage', 'prov-json', 'mermaid'"):
        fake_tracker.export_lineage("predictions", "graphml")


def test_rendered_tree_shows_a_shared_run_once(diamond) -> None:
    console = Console(record=True, width=200, color_system=None)
    console.print(render_lineage(diamond.build(JOINED)))
    text = console.export_text()
    assert text.count("prep r_prep completed") == 2
    assert text.count("(inputs shown above)") == 1
    assert text.count("external input") == 1  # raw listed under the first prep only


def test_rendered_tree_marks_leaves_that_were_not_expanded(fake_tracker) -> None:
    console = Console(record=True, width=200, color_system=None)
    fake_tracker.print_lineage("predictions", max_depth=1, console=console)
    text = console.export_text()
    assert "model r_model completed" in text and "run r_feat (not expanded)" in text
    assert "r_clean" not in text
