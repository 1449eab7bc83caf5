"""The function-shaped run use case: identify, decide, execute or reuse, record.

Everything here works over ports (store via the :class:`Recorder`, filesystem, frames,
executor, clock), so it is exercised in unit tests with in-memory fakes.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consist.core.binding import ParamBinding, config_keys, plan_binding
from consist.core.cache import CacheDecision, DecisionKind, decide
from consist.core.errors import (
    RunIdConflictError,
    StoreLockedError,
    redact,
)
from consist.core.execution import bind_arguments, collect_outputs
from consist.core.hydrating import Hydrator
from consist.core.identity.signature import compute_signature, inputs_digest
from consist.core.inputs import identify_input
from consist.core.model import Artifact, Run, RunResult, RunStatus, Signature
from consist.core.recovery import PROCESS_STARTED
from consist.core.session import RunSession
from consist.core.snapshot import decode_snapshot
from consist.core.step import (
    RunnerPorts,
    StepRequest,
    error_summary,
    initial_meta,
    new_run_id,
    signature_scope,
)


@dataclass(slots=True)
class _Prepared:
    """A run identified and decided, not yet recorded (see :meth:`StepRunner._prepare`)."""

    run: Run
    decision: CacheDecision
    inputs: dict[str, Artifact]
    local_inputs: dict[str, Path]
    #: The completed run an explicit run id already names with this signature.
    reopened: Run | None = None


class StepRunner:
    """Runs one function-shaped step through the cache."""

    def __init__(self, ports: RunnerPorts) -> None:
        self.ports = ports
        self.hydrate = Hydrator(ports)

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
                artifacts[ref.key] = self.ports.artifacts.attach(artifact)
            if ref.path is not None:
                local[ref.key] = ref.path
        signature = compute_signature(
            code=req.code_digest,
            config=req.config_digest,
            inputs=inputs_digest(components),
            cache_epoch=req.cache_epoch,
            model=req.model,
            code_mode=req.code_mode,
            scope=signature_scope(req),
            arguments=req.arguments_digest,
        )
        return signature, artifacts, local

    def _new_run(self, req: StepRequest, run_id: str, sig: Signature) -> Run:
        now = self.ports.clock.now()
        artifact_dir = (
            req.artifact_dir or self.ports.workspace.run_dir / "outputs" / req.model / run_id
        )
        meta = initial_meta(req) | self._owner_meta()
        if req.facet is not None and not req.facet_indexed:
            meta["facet"] = req.facet  # kept with the run, left out of the facet index
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
            config=req.config_record,
            facet=req.facet if req.facet_indexed else None,
            meta=meta,
            artifact_dir=self.ports.workspace.to_uri(artifact_dir)[0],
            host=self.ports.process.host,
            pid=self.ports.process.pid,
            arguments_digest=sig.arguments or None,
            identity=req.identity,
        )

    def _owner_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"workspace": self._roots()}
        if self.ports.process.started is not None:
            meta[PROCESS_STARTED] = self.ports.process.started
        return meta

    def _roots(self) -> dict[str, Any]:
        # Where this machine keeps the workspace and mounts: other trackers on the same
        # database fall back to it when an artifact's bytes are not in their own workspace.
        # Credentials in a root's URL are never recorded.
        ws = self.ports.workspace
        mounts = {k: redact(str(v)) for k, v in ws.mounts.items()}
        return {"run_dir": redact(str(ws.run_dir)), "mounts": mounts}

    def run(self, req: StepRequest) -> RunResult:
        """A function-shaped step: prepare, then reuse on a hit or execute on a miss."""
        binding = self._plan(req)  # an unbindable step is refused before anything else
        p = self._prepare(req)
        if p.reopened is not None:  # its explicit run id already holds this very step
            reused = self._outputs_of(p.reopened.id)
            # Requested copies are made as for any hit (e.g. another folder's output paths).
            self.hydrate.outputs(req, p.reopened, reused)
            return RunResult(p.reopened, reused, True)
        self.ports.events.cache_decided(p.run, p.decision)
        if p.decision.hit and p.decision.candidate is not None:
            return self._reuse(req, p.run, p.inputs, p.decision)
        self.hydrate.inputs(req, p.inputs, p.local_inputs)
        return self._execute(req, p.run, p.inputs, p.local_inputs, binding)

    def _prepare(self, req: StepRequest) -> _Prepared:
        """The first half of every run, function-shaped or opened by hand: identify it,
        check an explicit run id, decide hit or miss, and make its (not yet recorded) run."""
        sig, inputs, local_inputs = self._identify(req)
        reopened = None
        if req.run_id is not None:
            # A taken id with another signature is a conflict in every cache mode:
            # "overwrite" re-executes a step, it never re-purposes an id.
            existing = self._existing_run(req.run_id, sig.value)
            reopened = existing if req.cache_mode != "overwrite" else None
        look = req.cache_mode != "overwrite" and reopened is None
        decision = self._decide(req, sig.value, look=look)
        run = self._new_run(req, req.run_id or new_run_id(req.name), sig)
        if decision.kind is DecisionKind.OUTPUTS_MISSING:
            run.meta["cache_miss"] = decision.reason  # explain shows it
        return _Prepared(run, decision, inputs, local_inputs, reopened)

    def lookup(self, req: StepRequest) -> CacheDecision:
        """Hit or miss for ``req`` now, recording nothing (a sweep sends only misses away)."""
        sig, _, _ = self._identify(req)
        return self._decide(req, sig.value, look=req.cache_mode != "overwrite")

    def _decide(self, req: StepRequest, signature: str, *, look: bool) -> CacheDecision:
        """Hit or miss for ``signature``; ``look=False`` skips the lookup (a forced miss)."""
        candidate = self.ports.recorder.find_cached(signature) if look else None
        return decide(
            req.cache_mode,
            candidate,
            outputs_present=lambda candidate: self.hydrate.missing_outputs(
                candidate, req.validate_cached_outputs
            ),
        )

    def _plan(self, req: StepRequest) -> list[ParamBinding]:
        plan = plan_binding(
            req.fn,
            fn_args=req.fn_args,
            has_config=req.config is not None,
            config_keys=config_keys(req.config),
            input_keys={r.key for r in req.inputs if r.passed},
            load_inputs=req.load_inputs,
            context_param=req.context_param,
        )
        # An annotation asking for an engine whose library is absent (polars.DataFrame on a
        # pandas-only install) is refused now, not after the run is recorded.
        check = getattr(self.ports.frames, "check_available", None)
        if check is not None:
            for param in plan:
                if param.frame_type:
                    check(param.frame_type)
        return plan

    def _existing_run(self, run_id: str, signature: str) -> Run | None:
        """The completed run already holding ``run_id`` with this signature, if any.

        Raises :class:`RunIdConflictError` when the id belongs to a run with a different
        signature; failed and crashed runs may be replaced.
        """
        try:
            found = self.ports.recorder.get_run(run_id)
        except StoreLockedError:
            found = self._recorded_here(run_id)[0]
        if found is None or found.status in (RunStatus.FAILED, RunStatus.CRASHED):
            return None
        if found.signature != signature:
            raise RunIdConflictError(
                f"run id {run_id!r} already belongs to a {found.status.value} run with a "
                "different signature (code, config or inputs changed); pick a new run_id, "
                "or omit it to get a generated one."
            )
        return found if found.status is RunStatus.COMPLETED else None

    def _outputs_of(self, run_id: str) -> dict[str, Artifact]:
        try:
            self.ports.recorder.flush()
            outputs = self.ports.recorder.store.get_run_artifacts(run_id).outputs
        except StoreLockedError:
            outputs = self._recorded_here(run_id)[1]
        return {k: self.ports.artifacts.attach(a) for k, a in outputs.items()}

    def _recorded_here(self, run_id: str) -> tuple[Run | None, dict[str, Artifact]]:
        """A run and its outputs as this workspace's snapshot holds them: what an explicit
        ``run_id`` is checked against while another process keeps the database (a busy
        database never fails a step). An id no snapshot here holds is taken to be free."""
        data = self.ports.fs.read_bytes(self.ports.snapshot_dir / f"{run_id}.json")
        if data is None:
            return None, {}
        run, _, outputs = decode_snapshot(data)
        return run, outputs

    def open(self, req: StepRequest) -> RunSession:
        """Open a run whose body the caller executes (``start_run``, ``begin_run``, ``trace``).

        The cache is consulted as for function-shaped runs, but the body runs either way; on
        a hit the session starts linked to the cached outputs.
        """
        p = self._prepare(req)
        run, decision, inputs, reopened = p.run, p.decision, p.inputs, p.reopened
        cached: dict[str, Artifact] | None = None
        if reopened is not None:
            run.meta.update(cache_hit=True, cache_source=reopened.id)
            cached = self._outputs_of(reopened.id)
        elif decision.hit and decision.candidate is not None:
            run.meta.update(cache_hit=True, cache_source=decision.candidate.run.id)
            attach = self.ports.artifacts.attach
            cached = {k: attach(a) for k, a in decision.candidate.outputs.items()}
        self.ports.events.cache_decided(run, decision)
        # The block runs either way, so it gets its inputs either way.
        self.hydrate.inputs(req, inputs, p.local_inputs)
        if cached is not None:
            self.hydrate.outputs(req, run, cached)
        session = RunSession(
            self.ports,
            run,
            inputs,
            cached_outputs=cached,
            hashing=req.hashing,
            recording=req.cache_mode != "readonly",
            record_hit=reopened is None,
            output_missing=req.output_missing,
        )
        session.begin()
        if not session.is_cached:
            self.ports.events.run_started(run)
        return session

    def _reuse(
        self, req: StepRequest, run: Run, inputs: dict[str, Artifact], decision: CacheDecision
    ) -> RunResult:
        assert decision.candidate is not None
        source = decision.candidate.run
        run.status = RunStatus.COMPLETED
        run.ended_at = run.started_at
        run.meta.update(cache_hit=True, cache_source=source.id)
        outputs = {k: self.ports.artifacts.attach(a) for k, a in decision.candidate.outputs.items()}
        self.hydrate.outputs(req, run, outputs)
        if req.cache_mode != "readonly":
            self.ports.recorder.record(run, inputs, outputs, snapshot_dir=self.ports.snapshot_dir)
        self.ports.events.run_finished(run)
        return RunResult(run, outputs, True, inputs)

    def _execute(
        self,
        req: StepRequest,
        run: Run,
        inputs: dict[str, Artifact],
        local_inputs: dict[str, Path],
        binding: list[ParamBinding],
    ) -> RunResult:
        session = RunSession(
            self.ports,
            run,
            inputs,
            hashing=req.hashing,
            recording=req.cache_mode != "readonly",
            output_missing=req.output_missing,
        )
        passed = {r.key for r in req.inputs if r.passed}
        # Only a step that receives a RunContext can capture outputs by modification time.
        session.begin(exact_start=req.context_param is not None)
        self.ports.events.run_started(run)
        try:
            with self.ports.shell.activate(session):
                kwargs = bind_arguments(
                    self.ports, req, binding, inputs, local_inputs, passed, session
                )
                capture = (
                    self.ports.shell.capture(session, req.capture_dir, req.capture_pattern)
                    if req.capture_dir is not None
                    else nullcontext()
                )
                with capture:
                    value = self.ports.executors.executor(req.executor).execute(req.fn, kwargs)
                collect_outputs(self.ports, req, session, value)
        except BaseException as exc:
            session.end(RunStatus.FAILED, error_summary(exc))
            self.ports.events.run_finished(run)
            raise
        session.end(RunStatus.COMPLETED)
        self.ports.events.run_finished(run)
        return RunResult(run, dict(session.outputs), False, dict(session.inputs))
