"""Registers the built-in executors."""

from __future__ import annotations

from consist.core.hookspecs import hookimpl
from consist.core.registry import ExecutorSpec


@hookimpl
def consist_executors() -> list[ExecutorSpec]:
    return [
        ExecutorSpec(
            name="python",
            factory="consist.adapters.executors.inprocess:InProcessExecutor",
            plugin="consist.adapters.executors.plugin",
            capabilities=("in-process",),
        ),
        # The Docker SDK is imported only when a container step is run.
        ExecutorSpec(
            name="container",
            factory="consist.adapters.executors.container:ContainerExecutor",
            plugin="consist.adapters.executors.plugin",
            requires=("docker",),
            capabilities=("container-jobs", "image-digest"),
            extra="containers",
        ),
        # distributed is imported only when a step or sweep is sent to a Dask cluster.
        ExecutorSpec(
            name="dask",
            factory="consist.adapters.executors.dask_:DaskExecutor",
            plugin="consist.adapters.executors.plugin",
            requires=("distributed",),
            capabilities=("task-map", "multi-host"),
        ),
    ]
