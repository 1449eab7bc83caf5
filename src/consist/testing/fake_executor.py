"""A fake :class:`~consist.core.ports.executor.Executor` that records every call.

:class:`RecordingExecutor` calls the step in the current interpreter, like the in-process
adapter, and keeps a :class:`Call` per execution (the function, a copy of its arguments and
its outcome) so tests can assert what ran, with what, and how it ended. It passes
:class:`consist.testing.contracts.ExecutorContract`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Call:
    """One execution: ``fn(**kwargs)`` and what it returned or raised."""

    fn: Callable[..., Any]
    kwargs: dict[str, Any]
    result: Any = None
    error: BaseException | None = None
    finished: bool = False


class RecordingExecutor:
    """Runs steps in-process and records them in :attr:`calls` (oldest first)."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def execute(self, fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
        call = Call(fn, dict(kwargs))
        self.calls.append(call)
        try:
            call.result = fn(**kwargs)
        except BaseException as exc:
            call.error = exc
            call.finished = True
            raise
        call.finished = True
        return call.result

    @property
    def called(self) -> list[Callable[..., Any]]:
        """The functions executed, in order."""
        return [call.fn for call in self.calls]

    def reset(self) -> None:
        """Forget the recorded calls."""
        self.calls.clear()
