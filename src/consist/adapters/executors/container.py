"""The container executor: runs a :class:`~consist.core.containers.ContainerJob` on a Docker
engine (or podman's docker-compatible socket) through the Docker SDK.

It serves the executor port: ``execute(job, kwargs)`` runs the job, where ``kwargs`` may hold
the step's run context (``ctx``). With a context, the container's log is written to the
run's folder and described in ``run.meta["container"]``, and each output file is copied into
the run's folder, so the recorded bytes stay what this run produced even when a later run
writes the same host path. It returns ``{output key: path}`` for the outputs that exist.

A plain Python callable is not something this executor can run (images need not contain
Python); it is refused with :class:`~consist.core.errors.UnsupportedError`.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from consist.adapters.executors import docker_engine
from consist.core.containers import (
    ContainerExitError,
    ContainerJob,
    ContainerTimeoutError,
    tail,
)
from consist.core.errors import UnsupportedError

#: The log file each executed container step leaves in its run's folder.
LOG_NAME = "container.log"
#: How much of the log ``run.meta["container"]["log_tail"]`` keeps (the file keeps it all).
META_LOG_CHARS = 4000


class ContainerExecutor:
    """Runs container jobs on a Docker-API engine; see the module docstring."""

    name = "container"

    def execute(self, fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
        """Run ``fn`` (a :class:`ContainerJob`) in a container and collect its outputs."""
        if not isinstance(fn, ContainerJob):
            raise UnsupportedError(
                f"the container executor runs container steps, not Python callables (got "
                f"{getattr(fn, '__name__', type(fn).__name__)!r}); run a command in an image "
                "with container={'image': ..., 'command': [...]}, or use executor='python'."
            )
        unknown = sorted(set(kwargs) - {"ctx"})
        if unknown:
            raise TypeError(f"container step {fn.name!r} got unexpected arguments {unknown}")
        return self.run(fn, kwargs.get("ctx"))

    def resolve_image(self, engine: str | None, image: str) -> str:
        """The image ID digest of ``image`` on ``engine`` (see :mod:`.docker_engine`)."""
        return docker_engine.resolve_image(engine, image)

    def run(self, job: ContainerJob, ctx: Any = None) -> dict[str, Path]:
        """Run ``job`` to completion; raise a ``ContainerError`` unless it exits with 0."""
        for mount in job.mounts:  # the engine would create missing folders owned by root
            if not Path(mount.host).exists():
                Path(mount.host).mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        exit_code, log, stderr = self._run_container(job, started)
        record = {
            "image": job.image,
            "image_id": job.image_id,
            "exit_code": exit_code,
            "seconds": round(time.monotonic() - started, 3),
        }
        if ctx is not None:
            folder = Path(ctx.run_dir)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / LOG_NAME).write_text(log, encoding="utf-8", errors="replace")
            record |= {"log_file": LOG_NAME, "log_tail": tail(log, META_LOG_CHARS)}
            ctx.log_meta(container=record)
        if exit_code != 0:
            raise ContainerExitError.of(job, exit_code, stderr)
        return _collect(job, Path(ctx.run_dir) if ctx is not None else None)

    def _run_container(self, job: ContainerJob, started: float) -> tuple[int, str, str]:
        client = docker_engine.client_for(job.engine)
        with docker_engine.translated(job.engine, job.image):
            container = client.containers.create(
                # The resolved ID, never the tag: the image that runs is the one identified.
                image=job.image_id,
                command=_argv(job.command),
                environment=dict(job.environment),
                working_dir=job.working_dir,
                volumes={
                    m.host: {"bind": m.target, "mode": "ro" if m.read_only else "rw"}
                    for m in job.mounts
                },
                network_mode=job.network,
                labels={"org.consist.step": job.name},
                detach=True,
            )
        try:
            with docker_engine.translated(job.engine, job.image):
                container.start()
                status = self._wait(job, container, started)
                log = _text(container.logs(stdout=True, stderr=True))
                stderr = _text(container.logs(stdout=False, stderr=True))
        finally:
            # The engine may be gone by now; the run's own error says so.
            with contextlib.suppress(Exception):
                container.remove(force=True)
        return int(status.get("StatusCode", -1)), log, stderr

    def _wait(self, job: ContainerJob, container: Any, started: float) -> dict[str, Any]:
        import requests.exceptions

        try:
            return dict(container.wait(timeout=job.timeout))
        except requests.exceptions.ConnectionError as exc:
            # The SDK reports the end of its read timeout as a connection error.
            if job.timeout is None or time.monotonic() - started < job.timeout * 0.9:
                raise
            with contextlib.suppress(Exception):
                container.kill()
            raise ContainerTimeoutError(
                f"container step {job.name!r} (image {job.image!r}) was still running after "
                f"its timeout of {job.timeout:g} s and was stopped; the run is recorded as "
                "failed. Raise container={'timeout': ...} (or drop it for no limit), or "
                "check that the command ends.",
                image=job.image,
            ) from exc


def _argv(command: tuple[str, ...] | str) -> list[str]:
    # A string is a shell command line (pipes, redirections, $VARS), as a user writing one
    # expects; the SDK alone would split it on spaces and run no shell.
    return list(command) if isinstance(command, tuple) else ["/bin/sh", "-c", command]


def _text(raw: bytes | str) -> str:
    return raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")


def _collect(job: ContainerJob, folder: Path | None) -> dict[str, Path]:
    """``{key: path}`` of the outputs the container wrote, copied into ``folder``."""
    collected: dict[str, Path] = {}
    for output in job.outputs:
        source = Path(output.host)
        if not source.is_file():
            continue  # the run reports declared outputs that were not produced
        if folder is None:
            collected[output.key] = source
            continue
        name = f"{output.key}{source.suffix}"
        copy = folder / (name if name != LOG_NAME else f"{output.key}.output{source.suffix}")
        shutil.copyfile(source, copy)
        collected[output.key] = copy
    return collected
