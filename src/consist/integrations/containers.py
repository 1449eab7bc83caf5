"""Run a command in a container image as a cached, recorded step.

>>> from consist.integrations.containers import run_container   # doctest: +SKIP
>>> result = run_container(tracker=tracker, run_id="model_2030", image="travel-model:v2.1",
...                        command=["python", "run.py", "--year", "2030"],
...                        volumes={"/data/inputs": "/inputs", "/data/outputs": "/outputs"},
...                        inputs=[input_artifact],
...                        outputs={"results": Path("/data/outputs/results.parquet")})

The step's identity is the image's ID digest (asked of the engine, so moving a tag to a new
image is a new step), the command, environment, working directory, the container-side paths
of the volumes and outputs, and the digests of the inputs. Host paths are not part of it: the
same step run from another folder or machine is a cache hit, and its cached outputs are
copied (digest-verified) to the host paths given there. See ``docs/containers.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consist.api.containers import default_name
from consist.api.inputs import named_values
from consist.core.containers import (
    ContainerEngineError,
    ContainerError,
    ContainerExitError,
    ContainerImageNotFoundError,
    ContainerTimeoutError,
)
from consist.core.errors import ArgumentTypeError, RunIdConflictError
from consist.core.model import Artifact, Run, RunResult

__all__ = [
    "ContainerEngineError",
    "ContainerError",
    "ContainerExitError",
    "ContainerImageNotFoundError",
    "ContainerResult",
    "ContainerTimeoutError",
    "run_container",
]


@dataclass(slots=True)
class ContainerResult:
    """What :func:`run_container` returns.

    Attributes
    ----------
    artifacts
        The step's outputs by key (recorded copies in the run's folder; the requested host
        paths hold the same bytes).
    cache_hit
        True when no container ran because an identical step had completed before.
    image_digest
        The image ID (``sha256:...``) the step is identified by.
    run
        The recorded run (for a hit, the run recording the reuse, or the reused run itself
        when ``run_id`` named it).
    """

    artifacts: dict[str, Artifact]
    cache_hit: bool
    image_digest: str
    run: Run
    result: RunResult = field(repr=False)

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def cache_source(self) -> str | None:
        """The run whose outputs a hit reused (None when the container ran)."""
        if not self.cache_hit:
            return None
        return str(self.run.meta.get("cache_source") or self.run.id)

    @property
    def output(self) -> Artifact | None:
        """The single output, or None when there are none or several."""
        return next(iter(self.artifacts.values())) if len(self.artifacts) == 1 else None


def run_container(
    tracker: Any,
    run_id: str | None,
    image: str,
    command: Sequence[str] | str,
    volumes: Mapping[str | os.PathLike[str], str] | None = None,
    inputs: Sequence[Any] | Mapping[str, Any] | None = None,
    outputs: Mapping[str, str | os.PathLike[str]] | Sequence[str | os.PathLike[str]] | None = None,
    environment: Mapping[str, str] | None = None,
    working_dir: str | None = None,
    backend: str = "docker",
    *,
    name: str | None = None,
    timeout: float | None = None,
    network: str | None = None,
    engine: str | None = None,
    **run_options: Any,
) -> ContainerResult:
    """Run ``command`` in ``image`` through the cache; see the module docstring.

    Parameters
    ----------
    tracker
        The :class:`~consist.Tracker` recording the step.
    run_id
        Id for the run. If a run with this id already holds a *different* step (another
        image, command or input), the new step is recorded under a fresh id
        ``<run_id>_<hex>`` instead of failing, so editing a script and re-running it works.
    image, command
        The image reference (tag, ``repo@sha256:...`` or image ID) and the command, a list
        (run without a shell) or a string (run by the image's ``/bin/sh -c``).
    volumes
        ``{host path: container path}``; append ``":ro"`` to the container path for a
        read-only mount. Relative host paths are taken from the current folder.
    inputs
        Files, folders or artifacts whose content identifies the step (mount them too if
        the container reads them).
    outputs
        ``{key: host path}`` (or a list of host paths, keyed by file stem) of files the
        container writes inside a mounted folder.
    environment, working_dir
        The container's environment variables and working directory.
    backend
        ``"docker"`` (default) or ``"podman"`` (through its docker-compatible socket, given
        as ``engine``; untested).
    name, timeout, network, engine
        Step name (default: the image's name); seconds after which the container is
        stopped and the run fails; the engine's network mode (e.g. ``"none"``); the
        engine's address (default: ``$DOCKER_HOST``).
    **run_options
        Further options of ``tracker.run`` (``config``, ``tags``, ``year``, ``facet``,
        ``cache_mode``, ...).

    Raises
    ------
    ContainerExitError
        The command exited non-zero (the exit code and stderr tail are in the message).
    ContainerTimeoutError, ContainerImageNotFoundError, ContainerEngineError
        The run exceeded ``timeout``; the image is not in the engine; the engine is
        unreachable (the last two before anything is recorded).
    """
    spec: dict[str, Any] = {
        "image": image,
        "command": command,
        "volumes": dict(volumes or {}),
        "environment": environment,
        "working_dir": working_dir,
        "backend": backend,
        "timeout": timeout,
        "network": network,
        "engine": engine,
    }
    options: dict[str, Any] = {
        "name": name,
        "executor": "container",
        "container": {k: v for k, v in spec.items() if v is not None},
        "inputs": inputs,
        "output_paths": _output_paths(outputs),
        **run_options,
    }
    try:
        result = tracker.run(None, run_id=run_id, **options)
    except RunIdConflictError:
        # The id names an earlier, different step; this one gets an id of its own (and is
        # found again by its signature next time).
        model = run_options.get("model") or name or default_name(image)
        result = tracker.run(None, **{**options, "name": run_id, "model": model})
    identity = (result.run.identity or {}).get("captured", {}).get("container", {})
    return ContainerResult(
        artifacts=dict(result.outputs),
        cache_hit=bool(result.cache_hit),
        image_digest=str(identity.get("image_id", "")),
        run=result.run,
        result=result,
    )


def _output_paths(outputs: Any) -> dict[str, Any] | None:
    if outputs is None:
        return None
    if isinstance(outputs, Mapping):
        return dict(outputs)
    if isinstance(outputs, (str, os.PathLike)):
        outputs = [outputs]
    if not isinstance(outputs, Sequence):
        raise ArgumentTypeError(
            f"outputs={outputs!r:.80} must map keys to host paths ({{'results': "
            "'/data/outputs/results.parquet'}}) or list host paths."
        )
    return {key: Path(os.fspath(path)) for key, path in named_values(outputs, "outputs")}
