"""Container steps: what a container job is, what counts for its identity, and its errors.

A :class:`ContainerJob` is the value a container step hands to the container executor: the
image *as resolved by the engine* (its ID digest), the command, environment, working
directory, the bind mounts and the output files. Only the container-side half of each mount
and output enters the step's identity (:meth:`ContainerJob.identity`), so the same step run
from another folder or machine is the same step.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from consist.core.errors import ConsistError, UnsupportedError

#: How much of a failing container's stderr an error message quotes.
STDERR_TAIL_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Mount:
    """A host folder or file bound into the container at ``target``."""

    host: str
    target: str
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class OutputFile:
    """A file the container writes: ``host`` on this machine, ``target`` inside it."""

    key: str
    host: str
    target: str


@dataclass(frozen=True, slots=True)
class ContainerJob:
    """One container execution, fully resolved (validated by the api before it is built).

    ``command`` is a tuple (exec form, no shell) or a string (run by ``/bin/sh -c``).
    ``engine`` is the engine's address (``None``: the environment's ``DOCKER_HOST``).
    ``timeout`` and ``network`` shape how the job runs, not what it computes, and are left
    out of its identity.
    """

    image: str
    image_id: str
    command: tuple[str, ...] | str
    environment: tuple[tuple[str, str], ...] = ()
    working_dir: str | None = None
    mounts: tuple[Mount, ...] = ()
    outputs: tuple[OutputFile, ...] = ()
    timeout: float | None = None
    network: str | None = None
    engine: str | None = None
    backend: str = "docker"
    name: str = "container"

    def identity(self) -> dict[str, Any]:
        """The values that make this job what it is, host paths left out."""
        return {
            "backend": self.backend,
            "image_id": self.image_id,
            "command": list(self.command) if isinstance(self.command, tuple) else self.command,
            "environment": dict(self.environment),
            "working_dir": self.working_dir,
            "mounts": sorted([m.target, "ro" if m.read_only else "rw"] for m in self.mounts),
            "outputs": {o.key: o.target for o in self.outputs},
        }

    def described(self) -> dict[str, Any]:
        """:meth:`identity` as a run records it for explanations: environment values are
        replaced by a short digest, since they often carry tokens."""
        detail = self.identity()
        detail["environment"] = {
            k: "sha256:" + hashlib.sha256(v.encode("utf-8", "surrogatepass")).hexdigest()[:12]
            for k, v in self.environment
        }
        detail["image"] = self.image
        return detail

    def __call__(self, ctx: Any = None) -> Any:
        # A job is executed by the container executor (executor="container"); calling it in
        # this interpreter would silently skip the container.
        raise UnsupportedError(
            f"container step {self.name!r} runs on executor='container', not in-process; "
            "pass executor='container' (or leave executor unset) with container={...}."
        )


def tail(text: str, limit: int = STDERR_TAIL_CHARS) -> str:
    """The last ``limit`` characters of ``text``, cut at a line start where possible."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    newline = cut.find("\n")
    return cut[newline + 1 :] if 0 <= newline < limit // 2 else cut


class ContainerError(ConsistError, RuntimeError):
    """A container step failed: its command exited non-zero (``exit_code``), or the engine
    could not run it. ``stderr_tail`` holds the end of what it wrote to stderr."""

    def __init__(
        self,
        message: str,
        *,
        exit_code: int | None = None,
        stderr_tail: str = "",
        image: str | None = None,
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail
        self.image = image


class ContainerExitError(ContainerError):
    """The container's command exited with a non-zero status."""

    @classmethod
    def of(cls, job: ContainerJob, exit_code: int, stderr: str) -> ContainerExitError:
        quoted = tail(stderr.rstrip())
        where = f"stderr (last lines):\n{quoted}" if quoted else "it wrote nothing to stderr"
        return cls(
            f"container step {job.name!r} (image {job.image!r}, {job.image_id[:19]}) exited "
            f"with code {exit_code}; {where}\nThe run is recorded as failed and will run "
            "again next time; fix the command or its inputs.",
            exit_code=exit_code,
            stderr_tail=quoted,
            image=job.image,
        )


class ContainerTimeoutError(ContainerError, TimeoutError):
    """The container ran longer than the step's ``timeout`` and was killed."""


class ContainerImageNotFoundError(ContainerError, LookupError):
    """The image is not present in the engine (no registry is consulted)."""


class ContainerEngineError(ContainerError, ConnectionError):
    """The container engine could not be reached, or refused a request."""
