"""``run_container`` on a real Docker engine: caching by image ID, portability across host
folders, failures, and the errors that name their fix."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from docker_engine import ImageSet, load_guide_image

import consist
from consist import Tracker
from consist.integrations.containers import (
    ContainerEngineError,
    ContainerError,
    ContainerExitError,
    ContainerImageNotFoundError,
    ContainerTimeoutError,
    run_container,
)

# Upper-cases the input, and counts executions in a folder the test can read.
SCRIPT = "tr a-z A-Z < /inputs/input.txt > /outputs/results.txt; echo x >> /count/calls"


def folder(root: Path, text: str = "hello\n") -> Path:
    (root / "inputs").mkdir(parents=True, exist_ok=True)
    (root / "outputs").mkdir(parents=True, exist_ok=True)
    (root / "inputs" / "input.txt").write_text(text)
    return root


def calls(root: Path) -> int:
    counter = root / "count" / "calls"
    return len(counter.read_text().split()) if counter.exists() else 0


def step(tracker: Tracker, root: Path, image: str, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "tracker": tracker,
        "run_id": "model_2030",
        "image": image,
        "command": ["sh", "-c", SCRIPT],
        "volumes": {
            str(root / "inputs"): "/inputs",
            str(root / "outputs"): "/outputs",
            str(root / "count"): "/count",
        },
        "inputs": [root / "inputs" / "input.txt"],
        "outputs": {"results": root / "outputs" / "results.txt"},
    }
    options.update(overrides)
    return run_container(**options)


def test_guide_snippet_produces_records_and_hits(
    tracker: Tracker, workdir: Path, images: ImageSet
) -> None:
    root = folder(workdir / "data")
    first = step(tracker, root, images.one)
    assert not first.cache_hit and calls(root) == 1
    assert (root / "outputs" / "results.txt").read_text() == "HELLO\n"
    assert first.image_digest == images.one_id
    artifact = first.artifacts["results"]
    assert artifact.path.read_text() == "HELLO\n"
    assert tracker.get_run("model_2030").status.value == "completed"
    assert tracker.get_artifacts_for_run("model_2030").outputs["results"].digest == artifact.digest

    (root / "outputs" / "results.txt").unlink()
    again = step(tracker, root, images.one)
    assert again.cache_hit and calls(root) == 1  # no container started
    assert (root / "outputs" / "results.txt").read_text() == "HELLO\n"  # materialised
    assert again.artifacts["results"].digest == artifact.digest


def test_a_moved_tag_a_new_command_or_one_input_byte_misses(
    tracker: Tracker, workdir: Path, images: ImageSet, docker_client: Any, moving_tag: str
) -> None:
    root = folder(workdir / "data")
    assert not step(tracker, root, moving_tag).cache_hit
    assert step(tracker, root, moving_tag).cache_hit
    docker_client.images.get(images.two_id).tag(moving_tag)  # same tag, another image
    moved = step(tracker, root, moving_tag)
    assert not moved.cache_hit and moved.image_digest == images.two_id
    assert moved.run.id != "model_2030"  # the id held another step: a fresh one is used
    assert step(tracker, root, moving_tag).cache_hit
    changed_command = step(tracker, root, moving_tag, command=["sh", "-c", SCRIPT + "; true"])
    assert not changed_command.cache_hit
    (root / "inputs" / "input.txt").write_text("hellO\n")
    assert not step(tracker, root, moving_tag).cache_hit
    assert calls(root) == 4
    explanation = tracker.explain(moved.run.id)
    assert "container.image_id" in explanation.summary


def test_environment_counts_and_explain_names_it(
    tracker: Tracker, workdir: Path, images: ImageSet
) -> None:
    root = folder(workdir / "data")
    step(tracker, root, images.one, environment={"YEAR": "2030"})
    other = step(tracker, root, images.one, environment={"YEAR": "2040"})
    assert not other.cache_hit
    summary = tracker.explain(other.run.id).summary
    assert "container.environment.YEAR" in summary and "2040" not in summary  # values hidden


def test_another_host_folder_is_a_hit_and_gets_the_outputs(
    tracker: Tracker, workdir: Path, images: ImageSet
) -> None:
    first_root, second_root = folder(workdir / "one"), folder(workdir / "two")
    first = step(tracker, first_root, images.one)
    second = step(tracker, second_root, images.one)
    assert second.cache_hit and calls(second_root) == 0
    copied = second_root / "outputs" / "results.txt"
    assert copied.read_text() == "HELLO\n"
    assert second.artifacts["results"].digest == first.artifacts["results"].digest


def test_another_workspace_on_the_same_database_hits(workdir: Path, images: ImageSet) -> None:
    db = workdir / "shared.duckdb"
    with Tracker(workdir / "ws1", db) as t1:
        step(t1, folder(workdir / "one"), images.one, run_id=None)
    with Tracker(workdir / "ws2", db) as t2:
        root = folder(workdir / "two")
        hit = step(t2, root, images.one, run_id=None)
    assert hit.cache_hit and calls(root) == 0
    assert (root / "outputs" / "results.txt").read_text() == "HELLO\n"


def test_non_zero_exit_fails_the_run_and_is_never_reused(
    tracker: Tracker, workdir: Path, images: ImageSet
) -> None:
    root = folder(workdir / "data")
    failing = ["sh", "-c", "echo x >> /count/calls; echo 'bad year 2030' >&2; exit 3"]
    with pytest.raises(ContainerExitError) as info:
        step(tracker, root, images.one, command=failing)
    assert info.value.exit_code == 3 and "bad year 2030" in info.value.stderr_tail
    assert "exited with code 3" in str(info.value) and "bad year 2030" in str(info.value)
    assert isinstance(info.value, ContainerError) and isinstance(info.value, consist.ConsistError)
    run = tracker.get_run("model_2030")
    assert run.status.value == "failed"
    assert "bad year 2030" in run.meta["container"]["log_tail"]
    with pytest.raises(ContainerExitError):
        step(tracker, root, images.one, command=failing)
    assert calls(root) == 2  # the failed run was not reused
    assert "bad year 2030" in str(tracker.explain("model_2030"))


def test_timeout_stops_the_container(tracker: Tracker, workdir: Path, images: ImageSet) -> None:
    root = folder(workdir / "data")
    started = time.monotonic()
    with pytest.raises(ContainerTimeoutError, match="timeout of 1 s"):
        step(tracker, root, images.one, command=["sleep", "60"], timeout=1)
    assert time.monotonic() - started < 20
    assert tracker.get_run("model_2030").status.value == "failed"


def test_missing_image_is_refused_before_recording(
    tracker: Tracker, workdir: Path, images: ImageSet
) -> None:
    with pytest.raises(ContainerImageNotFoundError, match="docker build -t consist-test/nope"):
        step(tracker, folder(workdir / "data"), "consist-test/nope:1")
    assert tracker.find_runs() == []


def test_unreachable_engine_is_refused_before_recording(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{workdir}/no-engine.sock")
    with Tracker(workdir / "ws") as tracker:
        with pytest.raises(ContainerEngineError, match="DOCKER_HOST") as info:
            step(tracker, folder(workdir / "data"), "consist-test/busybox:1")
        assert "no-engine.sock" in str(info.value)
        with pytest.raises(ContainerEngineError, match="127.0.0.1:9"):
            step(tracker, workdir / "data", "x:1", engine="tcp://127.0.0.1:9")
        assert tracker.find_runs() == []


def test_outputs_outside_every_volume_are_refused(
    tracker: Tracker, workdir: Path, images: ImageSet
) -> None:
    root = folder(workdir / "data")
    with pytest.raises(ValueError, match="no container volume holds"):
        step(tracker, root, images.one, outputs={"results": workdir / "elsewhere.txt"})
    assert tracker.find_runs() == []


SNIPPET = Path(__file__).parent / "snippets" / "container_integration.py"


def run_guide_snippet(tracker: Tracker, root: Path, input_artifact: Any) -> dict[str, Any]:
    """The guide's snippet as written, its ``/data`` folder moved under ``root``."""
    code = SNIPPET.read_text().replace('"/data/', f'"{root}/data/')
    namespace = {"tracker": tracker, "input_artifact": input_artifact, "Path": Path}
    exec(compile(code, str(SNIPPET), "exec"), namespace)
    return namespace


def write_zones(config: dict[str, Any]) -> Path:
    """An upstream step producing the snippet's ``input_artifact``."""
    zones = Path("data/inputs/zones.csv").resolve()
    zones.write_text(f"zone,households\n1,{config['households']}\n")
    return zones


def test_the_usage_guide_snippet(tracker: Tracker, workdir: Path, docker_client: Any) -> None:
    load_guide_image(docker_client)
    (workdir / "data" / "inputs").mkdir(parents=True)
    upstream = {"name": "zones", "outputs": ["zones"]}
    input_artifact = tracker.run(write_zones, config={"households": 10}, **upstream).output
    first = run_guide_snippet(tracker, workdir, input_artifact)
    produced = workdir / "data" / "outputs" / "results.parquet"
    assert produced.read_text() == "year,trips\n2030,42\n"
    assert first["result"].cache_hit is False
    assert first["output_artifact"].digest == tracker.get_artifact("results").digest
    assert "trips for year 2030" in str(tracker.explain("model_2030"))

    produced.unlink()
    second = run_guide_snippet(tracker, workdir, input_artifact)
    assert second["result"].cache_hit is True
    assert produced.read_text() == "year,trips\n2030,42\n"

    changed = tracker.run(write_zones, config={"households": 11}, **upstream).output
    third = run_guide_snippet(tracker, workdir, changed)
    assert third["result"].cache_hit is False
    assert "input zones changed" in tracker.explain(third["result"].run_id).summary
