"""Run events delivered to user callbacks and plugin observer hooks; observers never break runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from consist.core.cache import CacheDecision
from consist.core.model import Artifact, Run, RunStatus

log = logging.getLogger("consist")
Callback = Callable[[Run], Any]


class TrackerEvents:
    """Fans each event out to registered callbacks and to the pluggy observer hooks."""

    def __init__(self, hook: Any) -> None:
        self._hook = hook
        self.on_start: list[Callback] = []
        self.on_complete: list[Callback] = []
        self.on_failed: list[Callback] = []

    def _notify(self, callbacks: list[Callback], run: Run) -> None:
        for callback in callbacks:
            try:
                callback(run)
            except Exception:
                log.exception("consist: run event callback %r raised; ignored", callback)

    def _call_hook(self, name: str, **kwargs: Any) -> None:
        try:
            getattr(self._hook, name)(**kwargs)
        except Exception:
            log.exception("consist: plugin hook %s raised; ignored", name)

    def run_started(self, run: Run) -> None:
        self._notify(self.on_start, run)
        self._call_hook("consist_run_started", run=run)

    def run_finished(self, run: Run) -> None:
        failed = run.status is RunStatus.FAILED
        self._notify(self.on_failed if failed else self.on_complete, run)
        self._call_hook("consist_run_finished", run=run)

    def artifact_logged(self, run: Run, artifact: Artifact, direction: str) -> None:
        self._call_hook("consist_artifact_logged", run=run, artifact=artifact, direction=direction)

    def cache_decided(self, run: Run, decision: CacheDecision) -> None:
        self._call_hook("consist_cache_decided", run=run, decision=decision)
