"""What identifies a container job, without an engine: host paths never count."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist.api.containers import default_name, job_identity, step_arguments
from consist.core.containers import ContainerJob, Mount, OutputFile, tail
from consist.core.errors import ArgumentError, UnsupportedError

IMAGE_ID = "sha256:" + "ab" * 32


def job(root: str, **changes: object) -> ContainerJob:
    fields: dict[str, object] = {
        "image": "tool:1",
        "image_id": IMAGE_ID,
        "command": ("run", "--year", "2030"),
        "environment": (("TOKEN", "s3cret"),),
        "mounts": (Mount(f"{root}/in", "/inputs", True), Mount(f"{root}/out", "/outputs")),
        "outputs": (OutputFile("results", f"{root}/out/r.csv", "/outputs/r.csv"),),
    }
    fields.update(changes)
    return ContainerJob(**fields)  # type: ignore[arg-type]


def test_host_paths_do_not_count_but_everything_else_does() -> None:
    assert job_identity(job("/home/a"))[0] == job_identity(job("/scratch/b"))[0]
    base = job_identity(job("/a"))[0]
    for change in (
        {"image_id": "sha256:" + "cd" * 32},
        {"command": ("run", "--year", "2040")},
        {"environment": (("TOKEN", "other"),)},
        {"working_dir": "/work"},
        {"mounts": (Mount("/a/in", "/data", True), Mount("/a/out", "/outputs"))},
        {"outputs": (OutputFile("results", "/a/out/r.csv", "/outputs/other.csv"),)},
    ):
        assert job_identity(job("/a", **change))[0] != base, change
    # How the job runs is not what it computes.
    assert job_identity(job("/a", timeout=5.0, network="none", engine="tcp://x:1"))[0] == base


def test_recorded_detail_hides_environment_values() -> None:
    detail = job_identity(job("/a"))[1]["captured"]["container"]
    assert "s3cret" not in str(detail)
    assert detail["environment"]["TOKEN"].startswith("sha256:")
    assert detail["image_id"] == IMAGE_ID and detail["image"] == "tool:1"


def test_a_job_called_in_process_says_where_it_runs() -> None:
    with pytest.raises(UnsupportedError, match="executor='container'"):
        job("/a")()


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("travel-model:v2.1", "travel-model"),
        ("registry.example:5000/org/asim@sha256:" + "0" * 64, "asim"),
        ("busybox", "busybox"),
    ],
)
def test_default_names(image: str, name: str) -> None:
    assert default_name(image) == name


def test_outputs_map_through_the_deepest_mount(tmp_path: Path) -> None:
    given = {
        "container": {
            "image": IMAGE_ID,  # an ID: no engine is asked
            "command": ["x"],
            "volumes": {str(tmp_path): "/data", str(tmp_path / "out"): "/outputs"},
        },
        "output_paths": {"r": tmp_path / "out" / "sub" / "r.csv"},
    }
    the_job, args = step_arguments(None, given, registry=None)  # type: ignore[arg-type]
    assert the_job.outputs[0].target == "/outputs/sub/r.csv"
    assert args["cache_hydration"] == "outputs-requested"
    assert args["executor"] == "container" and "container" not in args


def test_two_host_paths_on_one_container_path_are_refused(tmp_path: Path) -> None:
    volumes = {str(tmp_path / "a"): "/data", str(tmp_path / "b"): "/data/"}
    given = {"container": {"image": IMAGE_ID, "command": "x", "volumes": volumes}}
    with pytest.raises(ArgumentError, match="each container path can hold one"):
        step_arguments(None, given, registry=None)  # type: ignore[arg-type]


def test_tail_keeps_whole_lines() -> None:
    text = "".join(f"line {i}\n" for i in range(1000))
    cut = tail(text, 100)
    assert len(cut) <= 100 and cut.startswith("line ") and cut.endswith("line 999\n")
