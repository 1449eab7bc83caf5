"""Decomposing a step's callable into the code its identity is built from.

A step may be a partial, a bound method, a decorated function, a class or a callable
instance. It is unwrapped into static targets, which key the memo, and partials, whose bound
arguments are values and so are read on every call instead of being memoised.
"""

from __future__ import annotations

import functools
import types
from typing import Any

from consist.core.identity._values import _is_code, _qualified


def _targets(fn: Any, *, follow: bool) -> tuple[tuple[tuple[str, Any], ...], list[Any]]:
    """Static targets (the memo key) and partials (whose arguments are read per call)."""
    targets: list[tuple[str, Any]] = []
    partials: list[Any] = []
    _collect(fn, targets, partials, follow, 0)
    return tuple(targets), partials


def _collect(fn: Any, targets: list, partials: list, follow: bool, depth: int) -> None:
    if depth > 16:  # a __wrapped__/partial chain this long is a cycle in practice
        return
    if isinstance(fn, functools.partial):
        partials.append(fn)
        if follow:  # callables passed as partial arguments are code the step runs
            targets += [("ref", v) for v in (*fn.args, *fn.keywords.values()) if _is_code(v)]
        _collect(fn.func, targets, partials, follow, depth + 1)
    elif isinstance(fn, types.MethodType):
        # The instance is not part of identity but its class is: ``self.other()`` calls
        # cannot be resolved statically, so the class source stands in for them.
        owner = fn.__self__
        if follow:
            targets.append(("ref", owner if isinstance(owner, type) else type(owner)))
        _collect(fn.__func__, targets, partials, follow, depth + 1)
    elif isinstance(fn, type):
        targets.append(("class", fn))
    elif isinstance(fn, types.FunctionType):
        targets.append(("function", fn))
        if hasattr(fn, "__wrapped__"):
            _collect(fn.__wrapped__, targets, partials, follow, depth + 1)
    elif hasattr(fn, "__wrapped__"):  # C-level wrappers such as functools.lru_cache
        _collect(fn.__wrapped__, targets, partials, follow, depth + 1)
    elif isinstance(call := _inherited_call(fn), types.FunctionType):
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
