"""``StopwatchExecutor``: runs a step in this interpreter and records how long it took."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Environment variable naming a CSV file that every timing is appended to.
LOG_VARIABLE = "CONSIST_STOPWATCH_LOG"


@dataclass(frozen=True, slots=True)
class Timing:
    """One call: the step's name, its wall-clock seconds, and whether it raised."""

    step: str
    seconds: float
    failed: bool


class StopwatchExecutor:
    """An executor (see ``consist.plugin.Executor``) that times each call.

    It needs no base class: Consist's ports are protocols, so having ``name`` and
    ``execute`` is what makes it an executor.
    """

    name = "stopwatch"

    def __init__(self) -> None:
        self.timings: list[Timing] = []

    def execute(self, fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
        started = time.perf_counter()
        failed = True
        try:
            result = fn(**kwargs)
            failed = False
            return result
        finally:
            # Also on failure: a step that raised still took time, and the exception
            # must reach the caller unchanged (the contract checks this).
            self._note(Timing(_name_of(fn), time.perf_counter() - started, failed))

    def _note(self, timing: Timing) -> None:
        self.timings.append(timing)
        target = os.environ.get(LOG_VARIABLE)
        if target:
            with Path(target).open("a", encoding="utf-8") as log:
                log.write(f"{timing.step},{timing.seconds:.6f},{int(timing.failed)}\n")


def _name_of(fn: Callable[..., Any]) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or fn)
