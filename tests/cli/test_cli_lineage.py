"""``consist lineage``: the tree, its JSON, and the Mermaid, OpenLineage and PROV-JSON exports
(checked with the OpenLineage client's event models and the ``prov`` library)."""

from __future__ import annotations

import json
import re

import pytest
from cli_helpers import Recorded


def test_the_tree_follows_the_artifact_back_to_external_inputs(recorded: Recorded) -> None:
    shown = recorded.invoke("lineage", "summary")
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("summary")
    assert any(recorded.runs["summary"] in line for line in lines)
    assert any(recorded.runs["second"] in line for line in lines)
    assert "external input" in lines[-1] and "raw.csv" in lines[-1]

    tree = json.loads(recorded.invoke("lineage", "summary", "--json").stdout)
    assert tree["artifact"]["key"] == "summary"
    producer = tree["producer"]
    assert producer["run"]["id"] == recorded.runs["summary"]
    cleaned = producer["inputs"]["cleaned"]
    assert cleaned["producer"]["run"]["id"] == recorded.runs["second"]
    raw = cleaned["producer"]["inputs"]["path"]
    assert "producer" not in raw and raw["artifact"]["uri"].endswith("raw.csv")


def test_depth_stops_the_tree(recorded: Recorded) -> None:
    tree = json.loads(recorded.invoke("lineage", "summary", "--json", "--depth", "1").stdout)
    cleaned = tree["producer"]["inputs"]["cleaned"]
    assert "producer" not in cleaned and cleaned["stopped"] == "max depth"


def test_mermaid_is_a_flowchart_of_runs_and_artifacts(recorded: Recorded) -> None:
    result = recorded.invoke("lineage", "summary", "--format", "mermaid")
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "flowchart LR"
    node = re.compile(r"^\s+[A-Za-z0-9_]+(\[\(\".*\"\)\]|\[\".*\"\])$")
    edge = re.compile(r"^\s+[A-Za-z0-9_]+ --> [A-Za-z0-9_]+$")
    assert all(node.match(line) or edge.match(line) for line in lines[1:]), lines
    assert sum(bool(edge.match(line)) for line in lines) == 4  # raw→clean→cleaned→sum→summary


def test_openlineage_events_build_as_client_models(recorded: Recorded) -> None:
    ol = pytest.importorskip("openlineage.client.generated.base")
    serde = pytest.importorskip("openlineage.client.serde").Serde
    result = recorded.invoke("lineage", "summary", "--format", "openlineage")
    assert result.exit_code == 0
    events = json.loads(result.stdout)
    assert [e["job"]["name"] for e in events] == ["clean", "summarize"]  # upstream first
    for event in events:
        # The client's models validate the run id (a UUID), the time, the event type and
        # the producer and schema URLs; building them fails on anything malformed.
        model = ol.RunEvent(
            eventTime=event["eventTime"],
            producer=event["producer"],
            eventType=ol.EventType(event["eventType"]),
            run=ol.Run(runId=event["run"]["runId"]),
            job=ol.Job(namespace=event["job"]["namespace"], name=event["job"]["name"]),
            inputs=[
                ol.InputDataset(namespace=d["namespace"], name=d["name"]) for d in event["inputs"]
            ],
            outputs=[
                ol.OutputDataset(namespace=d["namespace"], name=d["name"]) for d in event["outputs"]
            ],
        )
        back = serde.to_dict(model)
        assert back["schemaURL"] == event["schemaURL"]
        for part in ("eventType", "eventTime"):
            assert back[part] == event[part]
        assert back["job"] == {**event["job"], "facets": {}}
        assert back["run"]["runId"] == event["run"]["runId"]
        assert [d["name"] for d in back["inputs"]] == [d["name"] for d in event["inputs"]]
        for dataset in (*event["inputs"], *event["outputs"]):
            for facet in dataset.get("facets", {}).values():
                assert {"_producer", "_schemaURL"} <= set(facet)


def test_prov_json_parses_as_a_prov_document(recorded: Recorded) -> None:
    prov = pytest.importorskip("prov.model")
    result = recorded.invoke("lineage", "summary", "--format", "prov")
    assert result.exit_code == 0
    document = prov.ProvDocument.deserialize(content=result.stdout, format="json")

    def count(kind: type) -> int:
        return len(list(document.get_records(kind)))

    assert count(prov.ProvEntity) == 3  # raw.csv, cleaned, summary
    assert count(prov.ProvActivity) == 2  # clean, summarize
    assert count(prov.ProvUsage) == 2
    assert count(prov.ProvGeneration) == 2
    # The library writes the document back out with the same records.
    again = prov.ProvDocument.deserialize(content=document.serialize(format="json"), format="json")
    assert again == document


def test_lineage_of_a_run_id_names_its_outputs(recorded: Recorded) -> None:
    result = recorded.invoke("lineage", recorded.runs["summary"])
    assert result.exit_code == 1
    assert f"{recorded.runs['summary']!r} is a run; its outputs are: summary" in result.stderr


def test_an_unknown_format_is_a_usage_error(recorded: Recorded) -> None:
    result = recorded.invoke("lineage", "summary", "--format", "dot")
    assert result.exit_code == 2
    assert "dot" in result.stderr
