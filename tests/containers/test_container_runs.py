"""``tracker.run(..., executor="container")`` and ``sc.run`` in scenarios, on a real engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from docker_engine import ImageSet

import consist
from consist import Tracker

SCRIPT = "wc -c < /inputs/input.txt > /outputs/size.txt; echo counted; echo note >&2"


def container(root: Path, image: str, **extra: Any) -> dict[str, Any]:
    return {
        "image": image,
        "command": ["sh", "-c", SCRIPT],
        "volumes": {str(root / "in"): "/inputs:ro", str(root / "out"): "/outputs"},
        **extra,
    }


def prepare(root: Path) -> Path:
    (root / "in").mkdir(parents=True)
    (root / "in" / "input.txt").write_text("12345")
    return root


def test_tracker_run_with_the_container_executor(
    tracker: Tracker, workdir: Path, images: ImageSet
) -> None:
    root = prepare(workdir / "a")
    options: dict[str, Any] = {
        "name": "count",
        "executor": "container",
        "container": container(root, images.one),
        "inputs": {"data": root / "in" / "input.txt"},
        "output_paths": {"size": root / "out" / "size.txt"},
        "config": {"year": 2030},
        "facet_from": ["year"],
    }
    first = tracker.run(None, **options)
    assert not first.cache_hit
    assert first.outputs["size"].path.read_text().strip() == "5"
    assert (root / "out" / "size.txt").read_text().strip() == "5"
    assert first.run.meta["container"]["exit_code"] == 0
    assert first.run.code_identity == "container"
    log_file = first.run.meta["container"]["log_file"]
    assert "counted" in (first.outputs["size"].path.parent / log_file).read_text()

    (root / "out" / "size.txt").unlink()
    hit = tracker.run(None, **options)
    assert hit.cache_hit and hit.run.meta["cache_source"] == first.run.id
    assert (root / "out" / "size.txt").read_text().strip() == "5"
    explained = str(tracker.explain(hit.run.id))
    assert f"reused run {first.run.id}" in explained and "counted" in explained

    changed = tracker.run(None, **{**options, "config": {"year": 2040}})
    assert not changed.cache_hit
    assert "config year" in tracker.explain(changed.run.id).summary


def test_scenario_steps_run_in_containers(
    tracker: Tracker, workdir: Path, images: ImageSet
) -> None:
    root = prepare(workdir / "a")
    with consist.scenario("baseline", tracker=tracker) as sc:
        result = sc.run(
            name="count",
            executor="container",
            container=container(root, images.one),
            inputs=[root / "in" / "input.txt"],
            output_paths={"size": root / "out" / "size.txt"},
        )
        assert sc.coupler.get("size") is not None
    assert not result.cache_hit
    # The same step in another scenario is content-addressed like any step: a hit.
    with consist.scenario("policy", tracker=tracker) as sc:
        again = sc.run(
            name="count",
            executor="container",
            container=container(root, images.one),
            inputs=[root / "in" / "input.txt"],
            output_paths={"size": root / "out" / "size.txt"},
        )
    assert again.cache_hit and again.run.parent_run_id == "policy"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fn": print}, "not a Python function"),
        ({"executor": "python"}, "executor='container'"),
        ({"fn_args": {"a": 1}}, "no fn_args"),
        ({"container": {"image": "x:1"}}, "needs \\['command'\\]"),
        ({"container": {"image": "x:1", "command": ["a"], "volume": {}}}, "unknown keys"),
        ({"container": {"image": "x:1", "command": [1.5, None]}}, r"command'\]\[1\]"),
        ({"container": {"image": "x:1", "command": "a", "working_dir": "rel"}}, "absolute"),
        ({"container": {"image": "x:1", "command": "a", "timeout": -1}}, "positive"),
        ({"container": {"image": "x:1", "command": "a", "backend": "lxc"}}, "podman"),
    ],
)
def test_bad_container_options_are_refused_before_recording(
    tracker: Tracker, workdir: Path, change: dict[str, Any], message: str
) -> None:
    options: dict[str, Any] = {"fn": None, "name": "count", "container": {"image": "x:1"}}
    options.update(change)
    with pytest.raises(consist.ConsistError, match=message):
        tracker.run(options.pop("fn"), **options)
    assert tracker.find_runs() == []


def test_the_cli_shows_the_container_log(workdir: Path, images: ImageSet) -> None:
    from typer.testing import CliRunner

    from consist.cli import app

    root = prepare(workdir / "a")
    db = workdir / "provenance.duckdb"
    with Tracker(workdir / "ws", db) as tracker:
        options: dict[str, Any] = {
            "name": "count",
            "container": container(root, images.one),
            "output_paths": {"size": root / "out" / "size.txt"},
        }
        ran = tracker.run(None, **options).run.id
        hit = tracker.run(None, **options).run.id
    for run_id in (ran, hit):
        shown = CliRunner().invoke(app, ["explain", run_id, "--db", str(db)])
        assert shown.exit_code == 0, shown.output
        assert "container log" in shown.output and "counted" in shown.output


def test_a_string_command_runs_in_the_shell(
    tracker: Tracker, workdir: Path, images: ImageSet
) -> None:
    root = prepare(workdir / "a")
    command = "cat /inputs/input.txt | wc -c > /outputs/size.txt && echo piped"
    result = tracker.run(
        None,
        name="piped",
        container=container(root, images.one, command=command),
        output_paths={"size": root / "out" / "size.txt"},
    )
    assert result.outputs["size"].path.read_text().strip() == "5"
    assert "piped" in result.run.meta["container"]["log_tail"]


def test_a_command_missing_from_the_image_fails_the_run(
    tracker: Tracker, workdir: Path, images: ImageSet
) -> None:
    root = prepare(workdir / "a")
    with pytest.raises(consist.ContainerError, match="nosuchtool.*command exists in the image"):
        tracker.run(None, name="nf", container=container(root, images.one, command=["nosuchtool"]))
    assert [run.status.value for run in tracker.find_runs()] == ["failed"]
