"""The executor port: where a step's callable actually runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Executor(Protocol):
    """Runs a bound step call and returns its result (or raises its exception)."""

    name: str

    def execute(self, fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
        """Call ``fn(**kwargs)`` in this executor's environment."""
        ...


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """What one task of :meth:`TaskExecutor.map_tasks` ended with: a value or an error."""

    value: Any = None
    error: BaseException | None = None


@runtime_checkable
class TaskExecutor(Protocol):
    """An executor that also runs many independent tasks at once (a cluster, a pool).

    Sweeps (``tracker.map``) send each cache miss as one task; the task records its own run
    in the shared store, so the executor only has to run it and say how it ended.
    """

    name: str

    def map_tasks(self, task: Callable[[Any], Any], payloads: Sequence[Any]) -> list[TaskOutcome]:
        """``task(payload)`` for every payload, wherever the executor runs work.

        Returns one outcome per payload, in the order given; a task that raised has its
        exception as ``error`` and never hides the others' results.
        """
        ...
