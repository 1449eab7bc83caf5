"""The in-process executor: calls the step in the current interpreter."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class InProcessExecutor:
    """Calls ``fn(**kwargs)`` directly; exceptions propagate unchanged."""

    name = "python"

    def execute(self, fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
        return fn(**kwargs)
