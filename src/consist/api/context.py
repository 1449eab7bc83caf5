"""The current tracker, per thread and per asyncio task (a ContextVar, so none leak)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

current_tracker_var: ContextVar[Any] = ContextVar("consist_current_tracker", default=None)


def current_tracker() -> Any:
    """The tracker whose run is executing in this context, or None."""
    return current_tracker_var.get()
