"""Runtime values a step's code depends on: how they are read back and digested.

Referenced constants and the arguments bound by ``functools.partial`` are not code, so they
count by value. The analysis records where each value lives (a namespace entry, a closure
cell or an attribute) so that guards and constants can be read back on every call.
"""

from __future__ import annotations

import enum
import functools
import types
from typing import Any

from consist.core.identity.canonical import canonical_bytes

_MISSING: Any = object()
_DICT, _CELL, _ATTR = 0, 1, 2  # how a guard or constant reads its value back


def _read(kind: int, container: Any, key: Any) -> Any:
    if kind == _DICT:
        return container.get(key, _MISSING)
    if kind == _CELL:
        try:
            return container.cell_contents
        except ValueError:  # an empty cell
            return _MISSING
    return getattr(container, key, _MISSING)


def _is_code(value: Any) -> bool:
    return isinstance(value, types.FunctionType | types.MethodType | type | functools.partial)


def _qualified(obj: Any) -> str:
    owner = getattr(obj, "__module__", None) or type(obj).__module__
    return f"{owner}.{getattr(obj, '__qualname__', None) or type(obj).__qualname__}"


def _partial_token(partial: functools.partial) -> bytes:
    try:
        args = [list(partial.args), dict(partial.keywords)]
        return b"partial:" + canonical_bytes(args, fallback=_standin)
    except TypeError:
        # Live objects have no stable digest; like fn_args they count by type only.
        names = [type(a).__qualname__ for a in partial.args]
        names += [f"{k}={type(v).__qualname__}" for k, v in sorted(partial.keywords.items())]
        return b"partial-types:" + repr(names).encode()


def _standin(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return ["\x00bytes", bytes(value).hex()]
    if callable(value):  # their code is folded in as a dependency; here only the name
        return "\x00callable:" + _qualified(value)
    return None


def _constant_bytes(value: Any) -> bytes:
    # The type is part of a constant's identity: 1 and 1.0 behave differently in code.
    name = type(value).__qualname__
    if isinstance(value, enum.Enum):
        name += "." + value.name
    return name.encode() + b"=" + canonical_bytes(value, fallback=_standin)


def _is_simple(value: Any, depth: int = 0) -> bool:
    if value is None or isinstance(value, bool | int | float | str | bytes | enum.Enum):
        return True
    if depth > 32:  # also stops self-containing lists
        return False
    if isinstance(value, tuple | list | set | frozenset):
        return all(_is_simple(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(_is_simple(k, depth + 1) and _is_simple(v, depth + 1) for k, v in value.items())
    return False
