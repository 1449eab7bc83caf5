"""Function-shaped steps (``tracker.run``, ``sc.run``) and the slot of the open scenario.

:class:`StepRuns` is the use case's entry at the api boundary: it checks the tracker may run
a step now, builds the validated request once, and hands it to the core's
:class:`~consist.core.services.StepRunner`; a scenario that is open hears of the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from consist.api import containers, steps
from consist.api.options import refuse_recording
from consist.core.errors import ActiveRunError, ArgumentTypeError
from consist.core.model import Artifact, Run, RunResult
from consist.core.step import StepScope

if TYPE_CHECKING:
    from consist.api.steps import StepRequests
    from consist.core.services import StepRunner
    from consist.core.session import RunSession


class OpenScenario(Protocol):
    """What a run needs from the scenario it runs in."""

    name: str

    def step_scope(self) -> StepScope: ...

    def absorb(
        self, run: Run, inputs: Mapping[str, Artifact], outputs: Mapping[str, Artifact]
    ) -> None: ...

    def note_failure(self, what: str) -> None: ...


class ScenarioSlot:
    """The scenario open on one tracker (at most one: scenarios do not nest)."""

    def __init__(self) -> None:
        self.current: OpenScenario | None = None

    def scope(self) -> StepScope:
        """Where a run opened now belongs: the open scenario's scope, else none."""
        return self.current.step_scope() if self.current is not None else StepScope()


class StepRuns:
    """Runs function-shaped steps through the cache."""

    def __init__(
        self,
        requests: StepRequests,
        runner: StepRunner,
        scenarios: ScenarioSlot,
        open_session: Callable[[], RunSession | None],
        access_mode: str,
    ) -> None:
        self.requests = requests
        self.runner = runner
        self.scenarios = scenarios
        self._open_session = open_session
        self.access_mode = access_mode

    def run(self, fn: Any, given: Mapping[str, Any]) -> RunResult:
        """``run`` after its keyword arguments were gathered (also the path of ``sc.run``)."""
        if given.get("container") is not None:  # its job stands in for fn (api/containers.py)
            fn, given = containers.step_arguments(fn, given, self.requests.registry)
        if fn is None or not callable(fn):
            raise ArgumentTypeError(
                f"run() needs a callable fn, got {fn!r:.80}: pass the step function itself, "
                "e.g. tracker.run(clean_data, ...)."
            )
        given = {k: v for k, v in given.items() if v is not None}
        args, name = {**getattr(fn, steps.STEP_ATTRIBUTE, {}), **given}, steps.step_name(fn)
        steps.refuse_unsupported(args)
        refuse_recording(self.access_mode, f"run({name!r}) cannot record")
        session = self._open_session()
        if session is not None:
            raise ActiveRunError(
                f"run({name!r}) was called while run {session.run.id!r} is open on "
                "this tracker; end that run first, or call the step outside its block."
            )
        scenario = self.scenarios.current
        request = self.requests.build(fn, args, scope=self.scenarios.scope())
        try:
            result = self.runner.run(request)
        except BaseException:
            if scenario is not None:
                scenario.note_failure(f"{request.model!r}")
            raise
        if scenario is not None:
            scenario.absorb(result.run, result.inputs, result.outputs)
        return result
