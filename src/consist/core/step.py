"""What a run needs: the validated request, the ports it works through, its id and meta.

Shared by the run use cases (:mod:`consist.core.services`) and the open-run session.
"""

from __future__ import annotations

import secrets
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from consist.core.cache import CacheDecision
from consist.core.checks import (
    check_int,
    check_storable,
    check_text,
    escaped_tree,
    storable,
    storable_text,
)
from consist.core.errors import ArgumentTypeError, OptionValueError
from consist.core.identity.canonical import storable_tree
from consist.core.inputs import InputRef
from consist.core.model import (
    MAX_KEY_BYTES,
    Artifact,
    CacheMode,
    HashingMode,
    Run,
    validate_key,
)
from consist.core.ports.clock import Clock
from consist.core.ports.filesystem import FileSystem
from consist.core.ports.host import ProcessIdentity, ProcessInfo
from consist.core.ports.runs import ArtifactLocator, Executors, PlainShell, SessionShell
from consist.core.recorder import Recorder
from consist.core.tables import TableSchema
from consist.core.workspace import Workspace


class FrameIO(Protocol):
    """What the runner needs from the frame engines (implemented in the api)."""

    def is_frame(self, value: Any) -> bool: ...

    def write(self, value: Any, path: Path, driver: str) -> None: ...

    def read(self, path: Path, driver: str, frame_type: str = "") -> Any: ...

    def can_read(self, driver: str | None) -> bool: ...

    def default_driver(self, value: Any) -> str: ...

    def describe(self, value: Any, driver: str | None = None) -> TableSchema | None: ...


class Events(Protocol):
    """Observers of run events (user callbacks and plugin hooks); must never raise."""

    def run_started(self, run: Run) -> None: ...

    def run_finished(self, run: Run) -> None: ...

    def artifact_logged(self, run: Run, artifact: Artifact, direction: str) -> None: ...

    def cache_decided(self, run: Run, decision: CacheDecision) -> None: ...


@dataclass(frozen=True, slots=True)
class StepScope:
    """Where a run is opened: inside a scenario, or on its own (the default).

    ``parent_run_id`` and ``cache_hydration`` are defaults the run's own options override;
    ``header_run`` is the scenario's header run, recorded in the run's meta; ``identity``
    is folded into the signature (a scenario's traced blocks and its header: they read
    state the library cannot see, so they are never shared with another scenario).
    """

    parent_run_id: str | None = None
    cache_hydration: str | None = None
    header_run: str | None = None
    identity: str = ""

    def traced(self, identity: str) -> StepScope:
        """This scope, with ``identity`` folded into the signature of its runs."""
        return StepScope(self.parent_run_id, self.cache_hydration, self.header_run, identity)


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
    cache_mode: CacheMode = "reuse"
    cache_epoch: int = 0
    hashing: HashingMode = "full"
    validate_cached_outputs: str = "lazy"
    executor: str = "python"
    output_missing: str = "warn"
    context_param: str | None = None
    capture_dir: Path | None = None
    capture_pattern: str = "*"
    scope: StepScope = field(default_factory=StepScope)
    cache_hydration: str = "metadata"
    materialize_dir: Path | None = None
    facet: dict[str, Any] | None = None
    #: False: the facet is kept in the run's meta but not indexed for facet queries.
    facet_indexed: bool = True
    #: Where the step's outputs are written (default: ``outputs/<model>/<run_id>``).
    artifact_dir: Path | None = None
    #: Digest of the values bound to the call (fn_args, partial arguments, ``self``).
    arguments_digest: str = ""
    #: What the identity was built from beyond the config, kept for explanations.
    identity: dict[str, Any] | None = None
    #: ``config_tree`` as the run records it (keys JSON cannot hold turned into text).
    config_record: Any = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        # The last check before anything is recorded: every value that ends up in the run's
        # snapshot and row must be one the snapshot and both stores accept.
        _check_request(self)


@dataclass(slots=True)
class RunnerPorts:
    """The ports a run's use case works through (each a protocol; see :mod:`consist.core.ports`)."""

    recorder: Recorder
    fs: FileSystem
    frames: FrameIO
    executors: Executors
    workspace: Workspace
    clock: Clock
    events: Events
    snapshot_dir: Path
    #: Where artifacts' bytes are (also beyond this workspace) and rebuilding them from rows.
    artifacts: ArtifactLocator
    #: What surrounds a step while it executes (current run, run context, file capture).
    shell: SessionShell = field(default_factory=PlainShell)
    #: The executing process, recorded so a later tracker can tell it died (recovery).
    process: ProcessIdentity = field(default_factory=ProcessInfo)


def _check_request(req: StepRequest) -> None:
    """Refuse values that could not be recorded (see :mod:`consist.core.checks`)."""
    for name in ("year", "iteration"):
        value = getattr(req, name)
        if value is not None:
            setattr(req, name, check_int(value, name))
    req.cache_epoch = check_int(req.cache_epoch, "cache_epoch")
    check_text(req.description, "description", optional=True)
    if req.parent_run_id is not None:
        validate_key(req.parent_run_id, "parent_run_id")
    for index, tag in enumerate(req.tags):
        check_text(tag, f"tags[{index}]")
    if req.context_param is not None and not (
        isinstance(req.context_param, str) and req.context_param.isidentifier()
    ):
        raise OptionValueError(
            "inject_context",
            req.context_param,
            ("True", "False", "<name of a parameter of the step, e.g. 'ctx'>"),
        )
    if not isinstance(req.capture_pattern, str):
        raise ArgumentTypeError(
            f"capture_pattern={req.capture_pattern!r} must be a glob pattern string such as "
            "'*.csv'."
        )
    record = req.config_tree
    if not storable(record):  # tuple keys, or something to name in an error
        record = storable_tree(record)
        check_storable(record, "config")
    req.config_record = record
    if req.identity is not None and not storable(req.identity):
        req.identity = escaped_tree(req.identity)  # a description: never a reason to refuse


def initial_meta(req: StepRequest) -> dict[str, Any]:
    meta: dict[str, Any] = {"cache_hit": False, "hashing": req.hashing}
    if req.scope.header_run is not None:
        meta["scenario_run"] = req.scope.header_run
    if req.cache_hydration != "metadata":
        meta["cache_hydration"] = req.cache_hydration
    return meta


def signature_scope(req: StepRequest) -> str:
    """The scenario scope plus the run's coordinates.

    ``year`` and ``iteration`` count for identity: a step's body commonly reads them at run
    time (a loop over years), so the 2030 run must never reuse the 2020 result.
    """
    parts = [req.scope.identity]
    if req.year is not None:
        parts.append(f"year={req.year}")
    if req.iteration is not None:
        parts.append(f"iteration={req.iteration}")
    return "\0".join(parts) if len(parts) > 1 else req.scope.identity


def new_run_id(name: str) -> str:
    """``<name>_<12 hex>``: 48 random bits keep sweeps of millions of runs collision-free.

    A name near the key length limit is shortened (by whole characters) so the id is still
    a valid key.
    """
    room = MAX_KEY_BYTES - 13
    if len(name) > room // 4:  # only long names can need it: 4 bytes per character at most
        name = name.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")
    return f"{name}_{secrets.token_hex(6)}"


def error_summary(exc: BaseException) -> str:
    """``Type: message`` plus the innermost frames, short enough for a database column."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = "; ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames)
    summary = f"{type(exc).__name__}: {exc}" + (f" (at {where})" if where else "")
    return storable_text(summary)
