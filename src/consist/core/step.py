"""What a run needs: the validated request, the ports it works through, its id and meta.

Shared by the run use cases (:mod:`consist.core.services`) and the open-run session.
"""

from __future__ import annotations

import secrets
import socket
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from consist.core.cache import CacheDecision
from consist.core.inputs import InputRef
from consist.core.model import Artifact, Run
from consist.core.ports.clock import Clock
from consist.core.ports.executor import Executor
from consist.core.ports.filesystem import FileSystem
from consist.core.recorder import Recorder
from consist.core.tables import TableSchema
from consist.core.workspace import Workspace

if TYPE_CHECKING:
    from consist.core.session import RunSession

HOST = socket.gethostname()


class FrameIO(Protocol):
    """What the runner needs from the frame engines (implemented in the api)."""

    def is_frame(self, value: Any) -> bool: ...

    def write(self, value: Any, path: Path, driver: str) -> None: ...

    def read(self, path: Path, driver: str, frame_type: str = "") -> Any: ...

    def can_read(self, driver: str | None) -> bool: ...

    def describe(self, value: Any, driver: str | None = None) -> TableSchema | None: ...


class Events(Protocol):
    """Observers of run events (user callbacks and plugin hooks); must never raise."""

    def run_started(self, run: Run) -> None: ...

    def run_finished(self, run: Run) -> None: ...

    def artifact_logged(self, run: Run, artifact: Artifact, direction: str) -> None: ...

    def cache_decided(self, run: Run, decision: CacheDecision) -> None: ...


@dataclass(slots=True)
class StepRequest:
    """A validated ``tracker.run`` call; every option has already been checked."""

    fn: Callable[..., Any]
    name: str
    model: str
    code_digest: str
    code_mode: str
    config: Any
    config_digest: str
    config_tree: Any
    inputs: list[InputRef]
    run_id: str | None = None
    description: str | None = None
    outputs: Sequence[str] = ()
    output_paths: Mapping[str, Path] = field(default_factory=dict)
    fn_args: Mapping[str, Any] = field(default_factory=dict)
    load_inputs: bool = True
    tags: list[str] = field(default_factory=list)
    year: int | None = None
    iteration: int | None = None
    parent_run_id: str | None = None
    cache_mode: str = "reuse"
    cache_epoch: int = 0
    hashing: str = "full"
    validate_cached_outputs: str = "lazy"
    executor: str = "python"
    output_missing: str = "warn"
    context_param: str | None = None
    capture_dir: Path | None = None
    capture_pattern: str = "*"
    scope: str = ""
    cache_hydration: str = "metadata"
    extra_meta: Mapping[str, Any] = field(default_factory=dict)
    materialize_dir: Path | None = None
    facet: dict[str, Any] | None = None


@dataclass(slots=True)
class RunnerPorts:
    """The adapters and shell services a runner works through."""

    recorder: Recorder
    fs: FileSystem
    frames: FrameIO
    executor: Callable[[str], Executor]
    workspace: Workspace
    clock: Clock
    events: Events
    attach: Callable[[Artifact], Artifact]
    make_dir: Callable[[Path], None]
    snapshot_dir: Path
    # Shell hooks around a step's execution (the api makes the session current, builds the
    # RunContext, captures files written into a folder); harmless defaults for tests.
    activate: Callable[[RunSession], AbstractContextManager[Any]] = field(
        default=lambda session: nullcontext()
    )
    make_context: Callable[[RunSession], Any] = field(default=lambda session: session)
    capture: Callable[[RunSession, Path, str], AbstractContextManager[Any]] = field(
        default=lambda session, folder, pattern: nullcontext()
    )
    # Where an artifact's bytes are now, looking beyond this workspace (e.g. the producing
    # run's own workspace); None: only the local path counts.
    locate: Callable[[Artifact], Path | None] | None = None
    # Rebuilding a missing csv/parquet input from rows ingested into the database.
    rebuildable: Callable[[Artifact], bool] | None = None
    rebuild: Callable[[Artifact, Path], bool] | None = None
    # When this process started, recorded so a later tracker can tell it died (recovery).
    process_started: str | None = None


def initial_meta(req: StepRequest) -> dict[str, Any]:
    meta: dict[str, Any] = {"cache_hit": False, "hashing": req.hashing, **req.extra_meta}
    if req.cache_hydration != "metadata":
        meta["cache_hydration"] = req.cache_hydration
    return meta


def signature_scope(req: StepRequest) -> str:
    """The scenario scope plus the run's coordinates.

    ``year`` and ``iteration`` count for identity: a step's body commonly reads them at run
    time (a loop over years), so the 2030 run must never reuse the 2020 result.
    """
    parts = [req.scope]
    if req.year is not None:
        parts.append(f"year={req.year}")
    if req.iteration is not None:
        parts.append(f"iteration={req.iteration}")
    return "\0".join(parts) if len(parts) > 1 else req.scope


def new_run_id(name: str) -> str:
    """``<name>_<12 hex>``: 48 random bits keep sweeps of millions of runs collision-free."""
    return f"{name}_{secrets.token_hex(6)}"


def error_summary(exc: BaseException) -> str:
    """``Type: message`` plus the innermost frames, short enough for a database column."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = "; ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames)
    return f"{type(exc).__name__}: {exc}" + (f" (at {where})" if where else "")
