"""Delegating methods for the tracker facade: one line per method, the signature and the
documentation taken from the service method that does the work (written once, there)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


def delegate(
    service: str, method: Callable[Concatenate[S, P], R]
) -> Callable[Concatenate[Any, P], R]:
    """A method calling ``method`` on ``self.services.<service>`` with the same arguments."""
    name = method.__name__

    @functools.wraps(method)
    def call(self: Any, *args: P.args, **kwargs: P.kwargs) -> R:
        return getattr(getattr(self.services, service), name)(*args, **kwargs)  # type: ignore[no-any-return]

    return call
