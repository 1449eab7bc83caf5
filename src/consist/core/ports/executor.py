"""The executor port: where a step's callable actually runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Executor(Protocol):
    """Runs a bound step call and returns its result (or raises its exception)."""

    name: str

    def execute(self, fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
        """Call ``fn(**kwargs)`` in this executor's environment."""
        ...
