"""Runtime values a step's code depends on: how they are read back and digested.

Referenced constants (closure cells, module globals) are not code, so they count by value.
The analysis records where each value lives (a namespace entry, a closure cell or an
attribute) so that guards and constants can be read back on every call.

A captured value is digested once per object, the first time this process sees it: binding
a name to a new object (a factory call, a re-run notebook cell) changes identity, while a
step appending to its own accumulator (a call counter, a results list) keeps it. The memo
holds each object it describes, so a freed object's ``id()`` can never be reused while its
entry lives.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import logging
import re
import types
from collections.abc import Callable
from typing import Any

from consist.core.identity.canonical import canonical_bytes, canonical_json

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


def known_standin(value: Any) -> Any:
    """Stand-ins for common values that are not data but have a stable identity: bytes,
    a logger (its name: where it writes is configuration, not what the code computes), a
    compiled regular expression and a module. None for anything else."""
    if isinstance(value, bytes | bytearray):
        return ["\x00bytes", bytes(value).hex()]
    if isinstance(value, logging.Logger):
        return {"\x00logger": value.name}
    if isinstance(value, re.Pattern):
        return {"\x00pattern": value.pattern, "flags": int(value.flags)}
    if isinstance(value, types.ModuleType):
        return {"\x00module": value.__name__}
    return None


def _standin(value: Any) -> Any:
    known = known_standin(value)
    if known is not None:
        return known
    if callable(value):  # their code is folded in as a dependency; here only the name
        return "\x00callable:" + _qualified(value)
    state = instance_state(value)
    return None if state is None else {"\x00object:" + _qualified(type(value)): state}


def instance_state(obj: Any) -> dict[str, Any] | None:
    """The state of a plain object that its methods can read: attrs fields, else the
    instance ``__dict__`` plus ``__slots__`` values; None when it has none to show (objects
    implemented in C keep their state out of sight, so they cannot be digested this way).

    Pydantic models and dataclasses need no help: canonicalisation reads them directly.
    """
    fields = getattr(type(obj), "__attrs_attrs__", None)
    if fields is not None:
        return {f.name: getattr(obj, f.name, None) for f in fields}
    state: dict[str, Any] | None = None
    if isinstance(getattr(obj, "__dict__", None), dict):
        state = dict(vars(obj))
    for klass in type(obj).__mro__:
        slots = vars(klass).get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                state = state if state is not None else {}
                state[name] = getattr(obj, name)
    return state


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


# -- captured values: digested once per object ----------------------------------------------

_SEEN_LIMIT = 4096
_SEEN: dict[tuple[str, int], tuple[Any, Any]] = {}  # (purpose, id) -> (the object, result)
_DISPLAY_LIMIT = 160


def _once(purpose: str, value: Any, compute: Callable[[Any], Any]) -> Any:
    """``compute(value)``, computed the first time this process sees ``value`` and then
    remembered for as long as the object lives in the memo (which keeps it alive)."""
    entry = _SEEN.get((purpose, id(value)))
    if entry is not None and entry[0] is value:
        return entry[1]
    result = compute(value)
    if len(_SEEN) >= _SEEN_LIMIT:  # drop the older half: they are re-digested if seen again
        for key in list(_SEEN)[: _SEEN_LIMIT // 2]:
            del _SEEN[key]
    _SEEN[(purpose, id(value))] = (value, result)
    return result


def _captured(value: Any) -> tuple[bytes, str]:
    """The token and display text of a captured value, from the first time it was seen.

    Raises ``TypeError`` when the value has no stable digest.
    """
    return _once("captured", value, _token_and_text)  # type: ignore[no-any-return]


def _token_and_text(value: Any) -> tuple[bytes, str]:
    token = _constant_bytes(value)
    text = canonical_json(value, fallback=_standin)
    if len(text) > _DISPLAY_LIMIT:  # explanations show a digest of long values
        text = "sha256:" + hashlib.sha256(token).hexdigest()[:16]
    return token, text
