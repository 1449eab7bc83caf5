"""The function-shaped run use case: identify, decide, execute or reuse, record.

Everything here works over ports (store via the :class:`Recorder`, filesystem, frames,
executor, clock), so it is exercised in unit tests with in-memory fakes.
"""

from __future__ import annotations

import os
import secrets
import socket
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from consist.core.binding import ParamBinding, config_keys, config_value, plan_binding
from consist.core.cache import CacheDecision, decide
from consist.core.errors import (
    ConsistWarning,
    OutputError,
    OutputMissingError,
    RunIdConflictError,
)
from consist.core.identity.signature import compute_signature, inputs_digest
from consist.core.inputs import InputRef, driver_for, identify_input
from consist.core.model import Artifact, Run, RunResult, RunStatus, Signature
from consist.core.outputs import map_return_value, missing_outputs
from consist.core.ports.clock import Clock
from consist.core.ports.executor import Executor
from consist.core.ports.filesystem import FileSystem
from consist.core.recorder import Recorder
from consist.core.workspace import Workspace, absolute

HOST = socket.gethostname()


class FrameIO(Protocol):
    """What the runner needs from the frame engines (implemented in the api)."""

    def is_frame(self, value: Any) -> bool: ...

    def write(self, value: Any, path: Path, driver: str) -> None: ...

    def read(self, path: Path, driver: str, frame_type: str = "") -> Any: ...

    def can_read(self, driver: str | None) -> bool: ...


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
    new_artifact_id: Callable[[], str] = field(default=lambda: secrets.token_hex(16))


def new_run_id(name: str) -> str:
    """``<name>_<12 hex>``: 48 random bits keep sweeps of millions of runs collision-free."""
    return f"{name}_{secrets.token_hex(6)}"


class StepRunner:
    """Runs one function-shaped step through the cache."""

    def __init__(self, ports: RunnerPorts) -> None:
        self.ports = ports

    # -- identity -----------------------------------------------------------------------
    def _identify(self, req: StepRequest) -> tuple[Signature, dict[str, Artifact], dict[str, Path]]:
        now = self.ports.clock.now()
        components: list[tuple[str, str]] = []
        artifacts: dict[str, Artifact] = {}
        local: dict[str, Path] = {}
        for ref in req.inputs:
            identity, artifact = identify_input(
                ref, self.ports.fs, self.ports.workspace, req.hashing, now
            )
            components.append((f"{ref.role}:{ref.key}", identity))
            if ref.role != "hash_only":
                artifacts[ref.key] = self.ports.attach(artifact)
            if ref.path is not None:
                local[ref.key] = ref.path
        signature = compute_signature(
            code=req.code_digest,
            config=req.config_digest,
            inputs=inputs_digest(components),
            cache_epoch=req.cache_epoch,
            model=req.model,
            code_mode=req.code_mode,
        )
        return signature, artifacts, local

    def _new_run(self, req: StepRequest, run_id: str, sig: Signature) -> Run:
        now = self.ports.clock.now()
        artifact_dir = self.ports.workspace.run_dir / "outputs" / req.model / run_id
        return Run(
            id=run_id,
            model_name=req.model,
            status=RunStatus.RUNNING,
            created_at=now,
            started_at=now,
            signature=sig.value,
            code_digest=sig.code,
            config_digest=sig.config,
            inputs_digest=sig.inputs,
            code_identity=sig.code_mode,
            cache_epoch=sig.cache_epoch,
            parent_run_id=req.parent_run_id,
            year=req.year,
            iteration=req.iteration,
            tags=list(req.tags),
            description=req.description,
            config=req.config_tree,
            meta={"cache_hit": False, "hashing": req.hashing},
            artifact_dir=self.ports.workspace.to_uri(artifact_dir)[0],
            host=HOST,
            pid=os.getpid(),
        )

    # -- the use case ----------------------------------------------------------------------
    def run(self, req: StepRequest) -> RunResult:
        binding = self._plan(req)
        sig, inputs, local_inputs = self._identify(req)
        run_id = req.run_id or new_run_id(req.name)
        if req.run_id is not None:
            existing = self._existing(req.run_id, sig.value)
            if existing is not None and req.cache_mode != "overwrite":
                return existing
        candidate = None
        if req.cache_mode != "overwrite":
            candidate = self.ports.recorder.find_cached(sig.value)
        decision = decide(
            req.cache_mode,
            candidate,
            validate=req.validate_cached_outputs,
            outputs_present=self._missing_outputs,
        )
        run = self._new_run(req, run_id, sig)
        self.ports.events.cache_decided(run, decision)
        if decision.hit and decision.candidate is not None:
            return self._reuse(req, run, inputs, decision)
        return self._execute(req, run, inputs, local_inputs, binding)

    def _plan(self, req: StepRequest) -> list[ParamBinding]:
        return plan_binding(
            req.fn,
            fn_args=req.fn_args,
            has_config=req.config is not None,
            config_keys=config_keys(req.config),
            input_keys={r.key for r in req.inputs if r.passed},
            load_inputs=req.load_inputs,
        )

    def _existing(self, run_id: str, signature: str) -> RunResult | None:
        """Reusing an explicit run id: same signature → that run; different → conflict."""
        found = self.ports.recorder.get_run(run_id)
        if found is None or found.status in (RunStatus.FAILED, RunStatus.CRASHED):
            return None
        if found.signature != signature:
            raise RunIdConflictError(
                f"run id {run_id!r} already belongs to a {found.status.value} run with a "
                "different signature (code, config or inputs changed); pick a new run_id, "
                "or omit it to get a generated one."
            )
        if found.status is not RunStatus.COMPLETED:
            return None
        self.ports.recorder.flush()
        outputs = self.ports.recorder.store.get_run_artifacts(run_id).outputs
        return RunResult(found, {k: self.ports.attach(a) for k, a in outputs.items()}, True)

    def _missing_outputs(self, candidate: Any) -> list[str]:
        return [
            key
            for key, artifact in candidate.outputs.items()
            if not self.ports.fs.exists(self.ports.workspace.to_path(artifact.uri))
        ]

    def _reuse(
        self, req: StepRequest, run: Run, inputs: dict[str, Artifact], decision: CacheDecision
    ) -> RunResult:
        assert decision.candidate is not None
        source = decision.candidate.run
        run.status = RunStatus.COMPLETED
        run.ended_at = run.started_at
        run.meta.update(cache_hit=True, cache_source=source.id)
        outputs = {k: self.ports.attach(a) for k, a in decision.candidate.outputs.items()}
        if req.cache_mode != "readonly":
            self._record(run, inputs, outputs)
        self.ports.events.run_finished(run)
        return RunResult(run, outputs, True)

    def _execute(
        self,
        req: StepRequest,
        run: Run,
        inputs: dict[str, Artifact],
        local_inputs: dict[str, Path],
        binding: list[ParamBinding],
    ) -> RunResult:
        recording = req.cache_mode != "readonly"
        passed = {r.key for r in req.inputs if r.passed}
        if recording:
            self._record(run, inputs, {})
        self.ports.events.run_started(run)
        artifact_dir = self.ports.workspace.to_path(run.artifact_dir or "")
        try:
            self.ports.make_dir(artifact_dir)
            kwargs = self._bind(req, binding, inputs, local_inputs, passed)
            value = self.ports.executor(req.executor).execute(req.fn, kwargs)
            outputs = self._collect_outputs(req, run, value, artifact_dir)
        except BaseException as exc:
            run.status = RunStatus.FAILED
            run.ended_at = self.ports.clock.now()
            run.error = _error_summary(exc)
            if recording:
                self._record(run, inputs, {})
            self.ports.events.run_finished(run)
            raise
        run.status = RunStatus.COMPLETED
        run.ended_at = self.ports.clock.now()
        if recording:
            self._record(run, inputs, outputs)
        for artifact in outputs.values():
            self.ports.events.artifact_logged(run, artifact, "output")
        self.ports.events.run_finished(run)
        return RunResult(run, outputs, False)

    def _record(self, run: Run, inputs: dict[str, Artifact], outputs: dict[str, Artifact]) -> None:
        self.ports.recorder.record(run, inputs, outputs, snapshot_dir=self.ports.snapshot_dir)

    # -- binding and outputs -----------------------------------------------------------------
    def _bind(
        self,
        req: StepRequest,
        binding: list[ParamBinding],
        inputs: dict[str, Artifact],
        local_inputs: dict[str, Path],
        passed: set[str],
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for param in binding:
            if param.source == "fn_args":
                kwargs[param.name] = req.fn_args[param.name]
            elif param.source == "config":
                kwargs[param.name] = req.config
            elif param.source == "config_key":
                kwargs[param.name] = config_value(req.config, param.name)
            elif param.source == "input" and param.name in passed:
                kwargs[param.name] = self._input_value(param, inputs[param.name], local_inputs)
        return kwargs

    def _input_value(
        self, param: ParamBinding, artifact: Artifact, local_inputs: dict[str, Path]
    ) -> Any:
        path = local_inputs.get(param.name) or artifact.path
        if param.load == "artifact":
            return artifact
        driver = artifact.driver or driver_for(path)
        # A directory has no driver, so only files reach the frame engine.
        if (
            param.load == "frame"
            and self.ports.frames.can_read(driver)
            and self.ports.fs.exists(path)
        ):
            assert driver is not None
            return self.ports.frames.read(path, driver, param.frame_type)
        return path

    def _collect_outputs(
        self, req: StepRequest, run: Run, value: Any, artifact_dir: Path
    ) -> dict[str, Artifact]:
        step = f"step {req.name!r}"
        outputs: dict[str, Artifact] = {}
        for key, item in map_return_value(value, req.outputs, step):
            if item is None:
                continue
            outputs[key] = self._output_artifact(req, run, key, item, artifact_dir)
        for key, path in req.output_paths.items():
            if key not in outputs:
                target = absolute(path, artifact_dir)
                if self.ports.fs.exists(target):
                    outputs[key] = self._file_artifact(req, run, key, target)
        gone = missing_outputs([*req.outputs, *req.output_paths], list(outputs))
        if gone:
            message = (
                f"{step} did not produce declared outputs {gone}; return them, write them to "
                "their output_paths, or remove them from outputs=."
            )
            if req.output_missing == "error":
                raise OutputMissingError(message)
            warnings.warn(message, ConsistWarning, stacklevel=5)
        return outputs

    def _output_artifact(
        self, req: StepRequest, run: Run, key: str, item: Any, artifact_dir: Path
    ) -> Artifact:
        if isinstance(item, Artifact):
            return item
        if isinstance(item, (str, os.PathLike)):
            path = absolute(item, artifact_dir)
            if not self.ports.fs.exists(path):
                path = absolute(item)
            if not self.ports.fs.exists(path):
                raise OutputMissingError(
                    f"step {req.name!r} returned {str(item)!r} for output {key!r}, but no such "
                    f"file exists (looked in {artifact_dir} and the current directory)."
                )
            return self._file_artifact(req, run, key, path)
        if self.ports.frames.is_frame(item):
            target = req.output_paths.get(key)
            path = absolute(target, artifact_dir) if target else artifact_dir / f"{key}.parquet"
            driver = driver_for(path) or "parquet"
            self.ports.make_dir(path.parent)
            self.ports.frames.write(item, path, driver)
            return self._file_artifact(req, run, key, path, driver)
        raise OutputError(
            f"step {req.name!r} returned a {type(item).__name__} for output {key!r}; outputs "
            "must be file paths, Artifacts, DataFrames/Series, or None."
        )

    def _file_artifact(
        self, req: StepRequest, run: Run, key: str, path: Path, driver: str | None = None
    ) -> Artifact:
        found = self.ports.fs.digest(path, req.hashing)
        uri, portable = self.ports.workspace.to_uri(path)
        if not portable:
            self.ports.workspace.warn_not_portable(path)
        artifact = Artifact(
            id=self.ports.new_artifact_id(),
            key=key,
            uri=uri,
            driver=driver or driver_for(path),
            digest=found.digest,
            size=found.size,
            run_id=run.id,
            created_at=self.ports.clock.now(),
            producer_signature=run.signature,
        )
        return self.ports.attach(artifact)


def _error_summary(exc: BaseException) -> str:
    """``Type: message`` plus the innermost frames, short enough for a database column."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = "; ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames)
    return f"{type(exc).__name__}: {exc}" + (f" (at {where})" if where else "")
