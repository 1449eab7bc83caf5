"""The executor contract over the container executor, on a real engine.

The contract's steps are Python callables; a container runs a command in an image (which
need not hold Python), so those tests are declared gaps. What the contract asks of every
executor is checked again below with container jobs: values in, result out, errors out
unchanged in kind, the kwargs left alone, and reuse after a failure.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from docker_engine import ImageSet

from consist.core.containers import ContainerExitError, ContainerJob, Mount, OutputFile
from consist.core.errors import UnsupportedError
from consist.testing.contracts import ExecutorContract

_PYTHON = "runs container jobs, not Python callables (images need not contain Python)"


class TestContainerExecutor(ExecutorContract):
    notimpl = {
        name: _PYTHON
        for name in (
            "test_calls_fn_with_the_kwargs_and_returns_its_value",
            "test_parameter_defaults_apply",
            "test_kwargs_are_passed_by_keyword",
            "test_values_arrive_intact",
            "test_no_kwargs",
            "test_none_result",
            "test_any_mapping_is_accepted_and_left_unchanged",
            "test_called_exactly_once",
            "test_exception_propagates_unchanged",
            "test_wrong_kwargs_raise_type_error",
            "test_base_exceptions_propagate",
            "test_executor_is_reusable_after_a_failure",
            "test_nested_steps",
        )
    }

    @pytest.fixture
    def executor(self, engine: Any) -> Any:
        return registered_executor()


def registered_executor() -> Any:
    """The container executor as the plugin registry builds it."""
    from consist.api.plugins import build_registry, construct, get_plugin_manager

    registry = build_registry(get_plugin_manager(), None)
    return construct(registry.get("executor", "container"))


def job(images: ImageSet, tmp: Path, script: str, **extra: Any) -> ContainerJob:
    return ContainerJob(
        image=images.one,
        image_id=images.one_id,
        command=("sh", "-c", script),
        environment=(("WHO", "contract"),),
        mounts=(Mount(str(tmp), "/out"),),
        outputs=(OutputFile("greeting", str(tmp / "greeting.txt"), "/out/greeting.txt"),),
        **extra,
    )


class Context:
    """The part of a RunContext the executor uses."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.meta: dict[str, Any] = {}

    def log_meta(self, **values: Any) -> None:
        self.meta.update(values)


@pytest.fixture
def executor(engine: Any) -> Any:
    return registered_executor()


def test_python_callables_are_refused_clearly(executor: Any) -> None:
    with pytest.raises(UnsupportedError, match="not Python callables"):
        executor.execute(print, {})


def test_runs_a_job_and_returns_its_outputs(
    executor: Any, images: ImageSet, tmp_path: Path
) -> None:
    kwargs = {"ctx": Context(tmp_path / "run")}
    frozen = MappingProxyType(kwargs)
    the_job = job(images, tmp_path / "host", 'echo "hi $WHO" > /out/greeting.txt; echo said')
    outputs = executor.execute(the_job, frozen)
    assert set(outputs) == {"greeting"}
    assert outputs["greeting"].parent == tmp_path / "run"  # the run's own copy
    assert outputs["greeting"].read_text() == "hi contract\n"
    assert (tmp_path / "host" / "greeting.txt").read_text() == "hi contract\n"
    record = kwargs["ctx"].meta["container"]
    assert record["exit_code"] == 0 and "said" in record["log_tail"]
    assert record["image_id"] == images.one_id


def test_without_a_context_outputs_stay_on_the_host(
    executor: Any, images: ImageSet, tmp_path: Path
) -> None:
    outputs = executor.execute(job(images, tmp_path, "echo x > /out/greeting.txt"), {})
    assert outputs == {"greeting": tmp_path / "greeting.txt"}


def test_failure_then_reuse(executor: Any, images: ImageSet, tmp_path: Path) -> None:
    with pytest.raises(ContainerExitError) as info:
        executor.execute(job(images, tmp_path, "echo broken >&2; exit 7"), {})
    assert info.value.exit_code == 7 and "broken" in info.value.stderr_tail
    assert executor.execute(job(images, tmp_path, "echo x > /out/greeting.txt"), {})


def test_unexpected_kwargs_raise_type_error(
    executor: Any, images: ImageSet, tmp_path: Path
) -> None:
    with pytest.raises(TypeError):
        executor.execute(job(images, tmp_path, "true"), {"nope": 1})
