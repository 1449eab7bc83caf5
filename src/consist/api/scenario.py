"""Scenarios: a header run grouping the steps of a multi-step, multi-year workflow.

While a scenario is open on a tracker, every run the tracker opens is one of its steps: its
``parent_run_id`` is the scenario's id, it inherits ``step_cache_hydration``, its outputs are
set on the coupler, and the header records all steps' inputs and outputs when it closes.
Function-shaped steps (``sc.run``, and ``tracker.run`` inside the scenario) are
content-addressed like any ``tracker.run``: the same code, config, arguments and inputs in
another scenario is a cache hit. Traced blocks (``sc.trace``) are scoped to the scenario:
a block reads ambient state the library cannot see, so the same block in a differently
named or configured scenario never reuses their results.
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from consist.api import options as opts
from consist.api.code import block_code_identity
from consist.api.context import current_tracker
from consist.api.inputs import named_values
from consist.api.recording import RUN_OPTIONS
from consist.core.checks import check_tags
from consist.core.coupler import Coupler
from consist.core.errors import (
    ActiveRunError,
    ArgumentError,
    ArgumentTypeError,
    ConsistWarning,
    NoActiveRunError,
    RunIdConflictError,
)
from consist.core.identity import canonicalize, tree_digest
from consist.core.model import Artifact, Run, RunResult, RunStatus, validate_key
from consist.core.session import RunSession
from consist.core.step import StepScope, error_summary
from consist.core.workspace import absolute

if TYPE_CHECKING:
    from consist.api.tracker import Tracker

HEADER_TAG = "scenario_header"


class Scenario:
    """An open scenario: its header run, its coupler, and the way to add steps.

    Use it as a context manager (``with consist.scenario("baseline", tracker=t) as sc:``).
    """

    #: A traced block reading this counts it as scenario state it cannot see into.
    __consist_block_read__ = "scenario"

    def __init__(
        self,
        tracker: Tracker,
        name: str,
        *,
        caller: FrameType,
        model: str = "scenario",
        config: Any = None,
        tags: Sequence[str] | None = None,
        step_cache_hydration: str | None = None,
        run_id: str | None = None,
        **header_options: Any,
    ) -> None:
        self.tracker = tracker
        self.name = validate_key(name, "scenario name")
        self.model = validate_key(model, "model name")
        self.config = config
        self.tags = [HEADER_TAG, *check_tags(tags)]
        _check_header_options(header_options)
        self.step_cache_hydration = (
            opts.choice("step_cache_hydration", step_cache_hydration, opts.HYDRATION_MODES)
            if step_cache_hydration is not None
            else None
        )
        self._run_id = validate_key(run_id, "run_id") if run_id is not None else None
        self._header_options = header_options
        self._code = block_code_identity(tracker.code_identity, tracker.project_root, caller)
        config_digest = tree_digest(
            canonicalize(config, fallback=tracker.services.requests.object_digest)
        )
        self.scope = hashlib.sha256(f"scenario\0{name}\0{config_digest}".encode()).hexdigest()
        self.coupler = Coupler()
        self.header: Run | None = None
        self._session: RunSession | None = None
        self._failed_step: str | None = None

    @property
    def id(self) -> str:
        """The scenario id: what its steps carry as ``parent_run_id`` / ``scenario_id``."""
        return self.name

    @property
    def run_id(self) -> str | None:
        """The id of this scenario's header run (``None`` before the scenario is entered):
        the name, or ``name#2``, ``name#3``... for later generations."""
        return self.header.id if self.header is not None else None

    def add_input(self, path_or_artifact: Any, key: str | None = None) -> Artifact:
        """Record a scenario-level input on the header run and put it on the coupler.

        ``path_or_artifact`` is a file (or folder) path or an artifact recorded earlier;
        ``key`` defaults to the file stem or the artifact's key. Steps then take it by key
        (``input_keys=[key]`` or ``inputs={name: key}``).
        """
        session = self._require_open("add_input")
        if isinstance(path_or_artifact, Artifact):
            artifact = session.log_existing(path_or_artifact, key=key, direction="input")
        elif isinstance(path_or_artifact, (str, os.PathLike)):
            artifact = session.log_file(path_or_artifact, key=key, direction="input")
        else:
            raise ArgumentTypeError(
                f"sc.add_input() takes a path or an Artifact, got "
                f"{type(path_or_artifact).__name__} ({path_or_artifact!r:.80})."
            )
        session.record()
        self.coupler.set(artifact.key if key is None else key, artifact)
        return artifact

    # -- the header run ------------------------------------------------------------------------
    def __enter__(self) -> Scenario:
        tracker = self.tracker
        opts.refuse_recording(
            tracker.access_mode, f"scenario {self.name!r} cannot record its header run"
        )
        open_scenario = tracker.services.scenarios.current
        if open_scenario is not None:
            raise ActiveRunError(
                f"scenario {open_scenario.name!r} is still open on this tracker; scenarios "
                "do not nest: close it first."
            )
        session = tracker.services.recording.session
        if session is not None:
            raise ActiveRunError(
                f"run {session.run.id!r} is open on this tracker; end it before opening a scenario."
            )
        if self._run_id is not None and tracker.services.recorder.get_run(self._run_id) is not None:
            raise RunIdConflictError(
                f"scenario {self.name!r} was given run_id={self._run_id!r}, which an earlier "
                "run already holds; a scenario never overwrites earlier rows. Pick a new "
                f"run_id, or omit it to get the next generation of {self.name!r}."
            )
        args = {
            **self._header_options,
            "name": self.name,
            "model": self.model,
            "run_id": self._run_id or self._free_header_id(),
            "tags": self.tags,
            "cache_mode": "overwrite",  # a header is never a cache hit
        }
        if self.config is not None:
            args["config"] = self.config
        request = tracker.services.requests.build(
            None, args, self._code, StepScope(identity=self.scope)
        )
        self._session = tracker.services.runner.open(request)
        self.header = self._session.run
        tracker.services.scenarios.current = self
        return self

    def _free_header_id(self) -> str:
        """The scenario name, or ``name#2``, ``name#3``... when it was entered before:
        re-entering a scenario adds a generation and never overwrites the earlier rows."""
        candidate, generation = self.name, 1
        while self.tracker.services.recorder.get_run(candidate) is not None:
            generation += 1
            candidate = f"{self.name}#{generation}"
        return candidate

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.tracker.services.scenarios.current = None
        session, self._session = self._session, None
        if session is None:
            return
        if exc is None:
            session.end(RunStatus.COMPLETED)
        else:
            where = f"step {self._failed_step} failed: " if self._failed_step else ""
            session.end(RunStatus.FAILED, where + error_summary(exc))
        self.tracker.services.events.run_finished(session.run)

    def _require_open(self, what: str) -> RunSession:
        if self._session is None:
            raise NoActiveRunError(
                f"sc.{what}() needs the scenario to be open: call it inside "
                f"'with consist.scenario({self.name!r}, ...) as sc:'."
            )
        return self._session

    # -- called by the tracker for every step --------------------------------------------------
    def step_scope(self) -> StepScope:
        """Where a run opened inside the scenario belongs (its own options may override the
        parent id and the hydration policy)."""
        return StepScope(
            parent_run_id=self.id,
            cache_hydration=self.step_cache_hydration,
            header_run=self.header.id if self.header else None,
        )

    def note_failure(self, step: str) -> None:
        self._failed_step = step

    def absorb(
        self, run: Run, inputs: Mapping[str, Artifact], outputs: Mapping[str, Artifact]
    ) -> None:
        """A step ended: its outputs go on the coupler, its links onto the header."""
        session = self._session
        if session is None:
            return
        if run.status is RunStatus.FAILED:
            self._failed_step = f"{run.model_name!r} (run {run.id})"
            return
        for key, artifact in outputs.items():
            self.coupler.set(key, artifact)
            session.outputs[f"{run.id}:{key}"] = artifact
        for key, artifact in inputs.items():
            session.inputs[f"{run.id}:{key}"] = artifact

    # -- steps ---------------------------------------------------------------------------------
    def _inputs(
        self,
        inputs: Mapping[str, Any] | Iterable[Any] | None,
        input_keys: Iterable[str] | None,
        optional_input_keys: Iterable[str] | None,
    ) -> Any:
        """Inputs with coupler keys resolved: strings naming a key, plus ``input_keys``."""
        resolved: list[tuple[str, Any]] = []
        if inputs is not None:
            for key, value in named_values(inputs):
                if isinstance(value, str) and value in self.coupler:
                    value = self.coupler.require(value)
                resolved.append((key, value))
        for key in input_keys or ():
            resolved.append((_input_key(key), self.coupler.require(key)))
        for key in optional_input_keys or ():
            if key in self.coupler:
                resolved.append((_input_key(key), self.coupler.require(key)))
        if inputs is None and not resolved:
            return None
        return dict(resolved)

    @contextmanager
    def trace(
        self,
        name: str,
        *,
        run_id: str | None = None,
        model: str | None = None,
        inputs: Mapping[str, Any] | Iterable[Any] | None = None,
        input_keys: Iterable[str] | None = None,
        optional_input_keys: Iterable[str] | None = None,
        outputs: Sequence[str] | None = None,
        output_paths: Mapping[str, str | os.PathLike[str]] | None = None,
        **options: Any,
    ) -> Iterator[Tracker]:
        """An inline step of this scenario; the block always executes (also on a hit).

        Every output the block logs is set on the coupler under its key afterwards.
        """
        self._require_open("trace")
        tracker = self.tracker
        options["inputs"] = self._inputs(inputs, input_keys, optional_input_keys)
        options = {k: v for k, v in options.items() if v is not None}
        declared = [validate_key(k, "output key") for k in outputs or ()]
        paths = {validate_key(k, "output_paths key"): v for k, v in (output_paths or {}).items()}
        tracker.services.recording.begin(
            run_id,
            model or name,
            options,
            sys._getframe(2),
            name=name,
            traced=self.scope,
        )
        try:
            yield tracker
        except BaseException as exc:
            if tracker.services.recording.session is not None:
                tracker.end_run("failed", exc)
            raise
        session = tracker.services.recording.session
        if session is not None:
            _log_output_paths(session, paths, declared)
            tracker.end_run()

    def run(self, fn: Any = None, name: str | None = None, **kwargs: Any) -> RunResult:
        """A function-shaped step of this scenario: skipped on a cache hit, outputs set on the
        coupler either way. Takes the parameters of ``tracker.run`` plus ``input_keys`` and
        ``optional_input_keys``; string inputs naming a coupler key resolve to its artifact."""
        self._require_open("run")
        kwargs["inputs"] = self._inputs(
            kwargs.get("inputs"),
            kwargs.pop("input_keys", None),
            kwargs.pop("optional_input_keys", None),
        )
        if name is not None:
            kwargs["name"] = name
        # Content-addressed like tracker.run: the same step in another scenario is a hit.
        return self.tracker.services.steps.run(fn, kwargs)

    def map(self, fn: Any, items: Any, **kwargs: Any) -> list[Any]:
        """One step of this scenario per item (each item is the step's ``config``); takes
        the options of :meth:`Tracker.map` plus ``input_keys``/``optional_input_keys``."""
        from consist.api.sweeps import map_call

        self._require_open("map")
        kwargs["inputs"] = self._inputs(
            kwargs.get("inputs"),
            kwargs.pop("input_keys", None),
            kwargs.pop("optional_input_keys", None),
        )
        return map_call(self.tracker, fn, items, kwargs)

    def __repr__(self) -> str:
        state = "open" if self._session is not None else "closed"
        return f"Scenario({self.name!r}, {state}, coupler={self.coupler.keys()})"

    def _repr_html_(self) -> str:  # Jupyter: header run, state and the coupler's artifacts
        from consist.core.html import scenario_html

        coupler = dict(self.coupler.items())
        return scenario_html(self.name, self.run_id, self._session is not None, coupler)


def _check_header_options(header_options: Mapping[str, Any]) -> None:
    # Options the header run takes beyond scenario()'s own; anything else is a typo that
    # would otherwise be dropped without a word.
    unknown = sorted(set(header_options) - RUN_OPTIONS)
    if unknown:
        raise ArgumentTypeError(
            f"scenario() got unknown options {unknown}; allowed: model, config, tags, "
            f"step_cache_hydration, run_id and {sorted(RUN_OPTIONS - {'config', 'tags'})}."
        )


def _input_key(coupler_key: str) -> str:
    # Namespaced coupler keys ("ns/persons") become the input's last segment ("persons").
    return coupler_key.rsplit("/", 1)[-1]


def _log_output_paths(session: RunSession, paths: Mapping[str, Any], declared: list[str]) -> None:
    for key, path in paths.items():
        target = absolute(path, session.artifact_dir)
        if key not in session.outputs and target.exists():
            session.log_file(target, key=key)
    gone = [k for k in [*declared, *paths] if k not in session.outputs]
    if gone:
        warnings.warn(
            f"step {session.run.model_name!r} did not log declared outputs {gone}; log them "
            "in the block, write them to their output_paths, or drop them from outputs=.",
            ConsistWarning,
            stacklevel=4,
        )


def scenario(name: str, tracker: Tracker | None = None, **options: Any) -> Scenario:
    """Open a scenario named ``name`` on ``tracker`` (default: the current tracker).

    Takes ``model="scenario"``, ``config``, ``tags``, ``step_cache_hydration``, ``run_id`` and
    further header-run options. Use it as a context manager.
    """
    owner = tracker if tracker is not None else current_tracker()
    if owner is None:
        raise ArgumentError("consist.scenario() needs tracker=... (no tracker is current here).")
    return Scenario(owner, name, caller=sys._getframe(1), **options)
