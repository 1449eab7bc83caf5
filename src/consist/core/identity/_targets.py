"""Decomposing a step's callable into the code its identity is built from.

A step may be a partial, a bound method, a decorated function, a class or a callable
instance. It is unwrapped into static targets, which key the memo, and bound values (the
arguments of partials, the instance of a bound method or callable object), which are data
the call receives and so count as arguments, read on every call instead of being memoised.
"""

from __future__ import annotations

import functools
import types
from typing import Any

from consist.core.identity._values import _qualified

#: A value bound to the call: ``("partial", functools.partial)`` or ``("self", instance)``.
Bound = tuple[str, Any]


def _targets(fn: Any, *, follow: bool) -> tuple[tuple[tuple[str, Any], ...], list[Bound]]:
    """Static targets (the memo key) and bound values (read per call)."""
    targets: list[tuple[str, Any]] = []
    bound: list[Bound] = []
    _collect(fn, targets, bound, follow, 0)
    return tuple(targets), bound


def _collect(fn: Any, targets: list, bound: list, follow: bool, depth: int) -> None:
    if depth > 16:  # a __wrapped__/partial chain this long is a cycle in practice
        return
    if isinstance(fn, functools.partial):
        bound.append(("partial", fn))
        _collect(fn.func, targets, bound, follow, depth + 1)
    elif isinstance(fn, types.MethodType):
        # The instance is data (an argument); its class is code: ``self.other()`` calls
        # cannot be resolved statically, so the class source stands in for them.
        owner = fn.__self__
        if not isinstance(owner, type):
            bound.append(("self", owner))
        if follow:
            targets.append(("ref", owner if isinstance(owner, type) else type(owner)))
        _collect(fn.__func__, targets, bound, follow, depth + 1)
    elif isinstance(fn, type):
        targets.append(("class", fn))
    elif isinstance(fn, types.FunctionType):
        targets.append(("function", fn))
        if hasattr(fn, "__wrapped__"):
            _collect(fn.__wrapped__, targets, bound, follow, depth + 1)
    elif hasattr(fn, "__wrapped__"):  # C-level wrappers such as functools.lru_cache
        _collect(fn.__wrapped__, targets, bound, follow, depth + 1)
    elif isinstance(call := _inherited_call(fn), types.FunctionType):
        bound.append(("self", fn))  # a callable object: its state reaches __call__
        targets.append(("function", call))
        if follow:
            targets.append(("ref", type(fn)))
    else:
        targets.append(("builtin", _qualified(fn)))


def _inherited_call(fn: Any) -> Any:
    for klass in type(fn).__mro__:
        if "__call__" in vars(klass):
            return vars(klass)["__call__"]
    return None
