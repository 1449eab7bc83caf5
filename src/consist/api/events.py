"""Run events delivered to user callbacks and plugin observer hooks; observers never break runs.

Each observer implementation is called on its own: one that raises is logged with a warning
naming its plugin and the event, and every other observer still sees the event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from typing import Any, cast

import pluggy

from consist.core.cache import CacheDecision
from consist.core.model import Artifact, Run, RunStatus

log = logging.getLogger("consist")
Callback = Callable[[Run], Any]


class TrackerEvents:
    """Fans each event out to registered callbacks and to the pluggy observer hooks."""

    def __init__(self, hook: pluggy.HookRelay) -> None:
        self._hook = hook
        self.on_start: list[Callback] = []
        self.on_complete: list[Callback] = []
        self.on_failed: list[Callback] = []

    def on_run_start(self, callback: Callback) -> Callback:
        """Call ``callback(run)`` when a run starts executing. Returns the callback."""
        self.on_start.append(callback)
        return callback

    def on_run_complete(self, callback: Callback) -> Callback:
        """Call ``callback(run)`` when a run completes (executed or cache hit)."""
        self.on_complete.append(callback)
        return callback

    def on_run_failed(self, callback: Callback) -> Callback:
        """Call ``callback(run)`` when a run fails."""
        self.on_failed.append(callback)
        return callback

    def _notify(self, callbacks: list[Callback], run: Run) -> None:
        for callback in callbacks:
            try:
                callback(run)
            except Exception:
                log.exception("consist: run event callback %r raised; ignored", callback)

    def run_started(self, run: Run) -> None:
        self._notify(self.on_start, run)
        _observe(self._hook.consist_run_started, run=run)

    def run_finished(self, run: Run) -> None:
        failed = run.status is RunStatus.FAILED
        self._notify(self.on_failed if failed else self.on_complete, run)
        _observe(self._hook.consist_run_finished, run=run)

    def artifact_logged(self, run: Run, artifact: Artifact, direction: str) -> None:
        _observe(
            self._hook.consist_artifact_logged, run=run, artifact=artifact, direction=direction
        )

    def cache_decided(self, run: Run, decision: CacheDecision) -> None:
        _observe(self._hook.consist_cache_decided, run=run, decision=decision)


def _observe(hook: pluggy.HookCaller, **kwargs: Any) -> None:
    """Call every implementation of observer ``hook``, each isolated from the others' errors.

    Calling ``hook(**kwargs)`` would stop at the first implementation that raises, so the
    implementations are called one by one, in pluggy's order (last registered first, with
    ``tryfirst``/``trylast`` honoured), each given only the arguments it declares. Wrappers
    are run around all of them, as pluggy would.
    """
    impls = hook.get_hookimpls()
    wrappers = [impl for impl in impls if impl.hookwrapper or impl.wrapper]
    started: list[tuple[pluggy.HookImpl, Generator[None, Any, None]]] = []
    for impl in reversed(wrappers):
        try:
            gen = cast("Generator[None, Any, None]", impl.function(*_arguments(impl, kwargs)))
            next(gen)
        except Exception:
            _warn(impl, hook)
        else:
            started.append((impl, gen))
    for impl in reversed(impls):
        if impl.hookwrapper or impl.wrapper:
            continue
        try:
            impl.function(*_arguments(impl, kwargs))
        except Exception:
            _warn(impl, hook)
    for impl, gen in reversed(started):
        try:
            gen.send(pluggy.Result([], None) if impl.hookwrapper else [])
        except StopIteration:
            pass
        except Exception:
            _warn(impl, hook)
        else:
            gen.close()


def _arguments(impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> list[Any]:
    return [kwargs[name] for name in impl.argnames]


def _warn(impl: pluggy.HookImpl, hook: pluggy.HookCaller) -> None:
    log.warning(
        "consist: plugin %r raised in observer hook %s; ignored",
        impl.plugin_name,
        hook.name,
        exc_info=True,
    )
