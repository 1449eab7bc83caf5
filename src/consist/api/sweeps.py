"""Sweeps: ``tracker.map(fn, items, ...)`` and ``sc.map(...)``, one step per item.

Each item is the step's ``config`` (so it is part of the step's identity and binds to the
function's ``config`` parameter, or its top-level keys to parameters of the same name);
``per_item`` may add run options computed from the item (``inputs``, ``year``, ``facet``...);
every other keyword is a ``tracker.run`` option shared by all items.

A sweep runs in four phases, and the order is what makes its guarantees:

1. every item's request is built and checked here, so a bad item is refused before anything
   is recorded or sent anywhere;
2. every request's cache decision is looked up here; hits are recorded by this process and
   never become tasks, so re-running a finished sweep schedules no work at all;
3. the misses go to the executor: ``"python"`` runs them one after another in this process;
   ``"dask"`` sends each to a Dask cluster, where the worker opens its own tracker on the
   same ``run_dir`` and ``db_path`` (once per worker process) and records the run itself —
   lookup included, so an item another worker finished meanwhile is a hit there;
4. results are read back from the store in input order. A worker flushes its records before
   it reports, so a reported run is in the database; an item that failed is reported
   without hiding the others.

Workers must reach the store and the workspace: a PostgreSQL URL and a shared folder (or
object-store mounts) across machines; DuckDB or SQLite files when every worker runs on this
machine (the stores' multi-process path shares the file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from consist.api import steps
from consist.api.options import refuse_recording
from consist.core.errors import ActiveRunError, ArgumentTypeError, ConsistError, OptionValueError
from consist.core.model import RunResult
from consist.core.ports.executor import TaskExecutor, TaskOutcome

if TYPE_CHECKING:
    from consist.api.bootstrap import TrackerSettings
    from consist.api.tracker import Tracker
    from consist.core.step import StepScope

SWEEP_EXECUTORS = ("python", "dask")
ERROR_MODES = ("raise", "return")


class SweepError(ConsistError, RuntimeError):
    """Some items of a sweep failed; every other item finished and was recorded.

    Attributes
    ----------
    results : list
        One entry per item, in input order: a :class:`RunResult`, or for a failed item its
        exception.
    failures : dict
        Input index -> exception, for the failed items.
    """

    def __init__(self, results: list[RunResult | BaseException]) -> None:
        self.results = results
        self.failures = {i: r for i, r in enumerate(results) if isinstance(r, BaseException)}
        first = next(iter(self.failures.items()))
        super().__init__(
            f"{len(self.failures)} of {len(results)} sweep items failed (first: item "
            f"{first[0]}: {type(first[1]).__name__}: {first[1]}); the other items were "
            "recorded. Their results are in .results, the errors in .failures; pass "
            "errors='return' to get the list instead of this error."
        )


@dataclass(frozen=True, slots=True)
class RemoteStep:
    """One sweep item as a worker receives it: enough to open the same tracker there and
    run the same step (the function travels by reference or by value, as Dask pickles it)."""

    settings: TrackerSettings
    fn: Callable[..., Any]
    given: dict[str, Any]
    scope: StepScope
    #: The code and arguments components of the identity, computed by the caller: a
    #: function defined in a script or notebook reaches the worker by value, where its
    #: source cannot be read again, and the worker must record the very signature the
    #: caller looks up (or a re-run would miss and resubmit every item).
    code: tuple[Any, ...]
    #: ``Tracker.from_adapters`` of the caller's tracker class (taken from the tracker
    #: object, so this module does not depend on the facade that calls it).
    open_tracker: Callable[[TrackerSettings], Any]


@dataclass(slots=True)
class _Item:
    index: int
    given: dict[str, Any]
    outcome: RunResult | BaseException | None = None
    #: The step's code and arguments identity as computed here (see RemoteStep.code).
    code: tuple[Any, ...] = ()


def map_call(
    tracker: Tracker, fn: Callable[..., Any], items: Iterable[Any], options: Mapping[str, Any]
) -> list[Any]:
    """``tracker.map(fn, items, **options)``.

    Parameters
    ----------
    fn : callable
        The step function, as for ``tracker.run``.
    items : iterable
        One config per step (a dict, a pydantic model, any value ``config=`` takes).
    executor : {"python", "dask"}, optional
        Where misses run: one after another in this process (default), or on a Dask cluster.
    dask_client : distributed.Client, optional
        The cluster's client (``executor="dask"``); else ``dask_address``, else the current
        default client.
    dask_address : str, optional
        A scheduler address such as ``"tcp://host:8786"``.
    per_item : callable, optional
        ``per_item(item) -> dict`` of run options for that item (``inputs``, ``year``,
        ``facet``, ``run_id``...), merged over the shared ones.
    errors : {"raise", "return"}, optional
        ``"raise"`` (default): once every item finished, raise :class:`SweepError` if any
        failed (its ``results`` hold the others). ``"return"``: the failed items' entries
        are their exceptions.
    **options
        ``tracker.run`` options shared by every item (``name``, ``outputs``, ``inputs``,
        ``tags``, ``facet_from``...).

    Returns
    -------
    list of RunResult
        In the order of ``items``.
    """
    options = dict(options)
    sweep_options = {
        key: options.pop(key)
        for key in ("executor", "dask_client", "dask_address", "per_item", "errors")
        if key in options
    }
    return run_map(tracker, fn, items, options, **sweep_options)


def run_map(
    tracker: Tracker,
    fn: Callable[..., Any],
    items: Iterable[Any],
    options: Mapping[str, Any],
    *,
    executor: str = "python",
    dask_client: Any = None,
    dask_address: str | None = None,
    per_item: Callable[[Any], Mapping[str, Any]] | None = None,
    errors: Literal["raise", "return"] = "raise",
) -> list[Any]:
    """The body of ``tracker.map`` / ``sc.map`` (see :meth:`Tracker.map`)."""
    if executor not in SWEEP_EXECUTORS:
        raise OptionValueError("executor", executor, SWEEP_EXECUTORS, "for map()")
    if errors not in ERROR_MODES:
        raise OptionValueError("errors", errors, ERROR_MODES, "for map()")
    if executor != "dask" and (dask_client is not None or dask_address is not None):
        raise ArgumentTypeError(
            f"map() got dask_client/dask_address with executor={executor!r}; pass "
            "executor='dask' to run the sweep on that cluster."
        )
    if not callable(fn):
        raise ArgumentTypeError(
            f"map() needs a callable fn, got {fn!r:.80}: pass the step function itself."
        )
    if "config" in options:
        raise ArgumentTypeError(
            "map() takes each item as the step's config; pass the configs as items, not config=."
        )
    sweep = _Sweep(tracker, fn, options, per_item)
    work = sweep.check(sweep.items(items))
    sweep.resolve_hits(work)
    misses = [item for item in work if item.outcome is None]
    if executor == "python":
        for item in misses:
            item.outcome = sweep.run_here(item)
    elif misses:
        sweep.run_remote(misses, dask_client, dask_address)
    results = [item.outcome for item in work]
    if errors == "raise" and any(isinstance(r, BaseException) for r in results):
        raise SweepError(results)  # type: ignore[arg-type]
    return results


class _Sweep:
    """One ``map`` call: the tracker's services, the step and its shared options."""

    def __init__(
        self,
        tracker: Tracker,
        fn: Callable[..., Any],
        options: Mapping[str, Any],
        per_item: Callable[[Any], Mapping[str, Any]] | None,
    ) -> None:
        self.tracker = tracker
        self.steps = tracker.services.steps
        self.fn = fn
        self.options = {k: v for k, v in options.items() if v is not None}
        self.per_item = per_item
        self.scope = self.steps.scenarios.scope()

    def items(self, items: Iterable[Any]) -> list[_Item]:
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
            raise ArgumentTypeError(
                f"map() items={items!r:.80} is a {type(items).__name__}; give a list of "
                "configs, one per step, e.g. [{'alpha': 0.1}, {'alpha': 0.2}]."
            )
        work = []
        for index, config in enumerate(items):
            extra = dict(self.per_item(config)) if self.per_item is not None else {}
            if "config" in extra:
                raise ArgumentTypeError(
                    f"per_item returned config= for item {index}; the item itself is the config."
                )
            given = {**self.options, **extra, "config": config}
            work.append(_Item(index, {k: v for k, v in given.items() if v is not None}))
        return work

    def check(self, work: list[_Item]) -> list[_Item]:
        """Build every item's request now: a bad item is refused before anything runs."""
        name = steps.step_name(self.fn)
        refuse_recording(self.steps.access_mode, f"map({name!r}) cannot record")
        session = self.steps._open_session()
        if session is not None:
            raise ActiveRunError(
                f"map({name!r}) was called while run {session.run.id!r} is open on this "
                "tracker; end that run first."
            )
        for item in work:
            steps.refuse_unsupported(item.given)
            req = self._request(item)
            item.code = (req.code_digest, req.code_mode, req.arguments_digest, req.identity)
        return work

    def _request(self, item: _Item) -> Any:
        args = {**getattr(self.fn, steps.STEP_ATTRIBUTE, {}), **item.given}
        try:
            return self.steps.requests.build(self.fn, args, scope=self.scope)
        except Exception as exc:
            exc.add_note(f"(map() item {item.index}: config={item.given.get('config')!r:.120})")
            raise

    def resolve_hits(self, work: list[_Item]) -> None:
        """Record every item that is a cache hit now, here; the rest stay to be run."""
        for item in work:
            decision = self.steps.runner.lookup(self._request(item))
            if decision.hit:
                item.outcome = self.run_here(item)

    def run_here(self, item: _Item) -> RunResult | BaseException:
        try:
            return self.steps.run(self.fn, item.given)
        except Exception as exc:  # recorded as failed by the run itself; others go on
            return exc

    def run_remote(self, misses: list[_Item], client: Any, address: str | None) -> None:
        from consist.api.plugins import construct

        spec = self.steps.requests.registry.get("executor", "dask")
        executor = construct(spec, client=client, address=address)
        if not isinstance(executor, TaskExecutor):
            raise ConsistError(f"executor {spec.name!r} cannot run a sweep's tasks.")
        self.tracker.flush()  # workers must see this process's records (hits included)
        settings = self._worker_settings()
        opener = type(self.tracker).from_adapters
        payloads = [
            RemoteStep(settings, self.fn, item.given, self.scope, item.code, opener)
            for item in misses
        ]
        try:
            outcomes = executor.map_tasks(run_remote_step, payloads)
        finally:
            close = getattr(executor, "close", None)
            if close is not None:
                close()
        for item, outcome in zip(misses, outcomes, strict=True):
            item.outcome = self._result(outcome)

    def _worker_settings(self) -> TrackerSettings:
        # The step settings may have been changed on the tracker since it was opened;
        # workers must identify steps exactly as this process does.
        current = self.steps.requests.settings
        return replace(
            self.tracker.services.settings,
            code_identity=current.code_identity,
            project_root=current.project_root,
            cache_epoch=current.cache_epoch,
            hashing=current.hashing,
        )

    def _result(self, outcome: TaskOutcome) -> RunResult | BaseException:
        if outcome.error is not None:
            return outcome.error
        run_id, cache_hit = outcome.value
        run = self.tracker.get_run(run_id)
        if run is None:  # pragma: no cover - the worker flushed before it reported
            return ConsistError(f"run {run_id!r} was reported by a worker but is not recorded")
        artifacts = self.tracker.get_artifacts_for_run(run_id)
        result = RunResult(run, dict(artifacts.outputs), bool(cache_hit), dict(artifacts.inputs))
        scenario = self.steps.scenarios.current
        if scenario is not None:
            scenario.absorb(result.run, result.inputs, result.outputs)
        return result


# -- on the worker -------------------------------------------------------------------------

# Keyed by the settings' repr: they hold dicts (mounts), so they are not hashable, and a
# worker serves one or two sweeps' settings at a time.
_worker_trackers: dict[str, Tracker] = {}


def _worker_tracker(step: RemoteStep) -> Tracker:
    """This worker process's tracker for the step's settings (opened once, reused by every
    task)."""
    key = repr(step.settings)
    tracker = _worker_trackers.get(key)
    if tracker is None:
        tracker = _worker_trackers[key] = step.open_tracker(step.settings)
    return tracker


def run_remote_step(step: RemoteStep) -> tuple[str, bool]:
    """Run one sweep item on a worker and record it there; ``(run id, cache hit)``.

    The worker's records are flushed before it answers, so the run is in the database
    when the caller reads it (and survives the worker being killed afterwards).
    """
    tracker = _worker_tracker(step)
    services = tracker.services.steps
    args = {**getattr(step.fn, steps.STEP_ATTRIBUTE, {}), **step.given}
    request = services.requests.build(step.fn, args, code=step.code, scope=step.scope)
    try:
        result = services.runner.run(request)
    finally:
        tracker.flush()
    return result.run.id, result.cache_hit
