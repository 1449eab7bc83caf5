"""Canonical form, typed encoding and digest of config values.

A config's identity must not depend on how it was spelt (key order, ``1`` vs ``1.0``, tuple
vs list, a pydantic model vs the equivalent dict) but must change whenever its meaning can
change (``True`` vs ``1``, ``"1"`` vs ``1``, ``{1: x}`` vs ``{"1": x}``). So values are first
reduced to a *canonical tree* of JSON-like nodes (dicts, lists, str, int, float, bool, None;
dict keys may also be int/float/bool/None or tuples of such), and the tree is then written
with a tagged, self-delimiting byte encoding that is injective: distinct trees never share
bytes, hence never share a digest.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

from consist.core.checks import MAX_DEPTH, short_path
from consist.core.errors import ConfigHashError
from consist.core.identity._encoding import (
    _encoded,
    _jsonable,
    _NotPlain,
    _plain_text,
    _text,
    storable_tree,
)

__all__ = [
    "canonical_bytes",
    "canonical_json",
    "canonicalize",
    "config_digest",
    "storable_tree",
    "tree_digest",
]

Fallback = Callable[[Any], Any]

# Versioned so the encoding can evolve without silently colliding with old digests.
_SCHEME = b"consist-config-v1\x00"

# What to do about a value whose shape, not its type, has no digest.
_CYCLE = (
    "It contains itself (a cyclic structure), so it has no finite canonical form. Pass a "
    "copy without the back-reference, e.g. with an id standing for the container it points to."
)
_TOO_DEEP = (
    f"Its containers nest more than {MAX_DEPTH} levels deep, more than Consist digests (every "
    "level costs a step of Python's limited recursion). Flatten it, e.g. with dotted keys "
    "such as {'a.b.c': 1}, or pass the deep structure as an input file."
)


class _Unhashable(Exception):
    """Internal signal carrying the offending object and its key path (innermost first).

    Segments are appended while unwinding, so the happy path pays nothing for paths.
    """

    def __init__(self, obj: object, fix: str | None = None) -> None:
        super().__init__()
        self.obj = obj
        self.fix = fix  # None: the type has no digest; else what to do about the shape
        self.segments: list[str] = []


def canonicalize(value: Any, *, fallback: Fallback | None = None, path: str = "config") -> Any:
    """Reduce ``value`` to its canonical JSON-like tree.

    Parameters
    ----------
    value
        A config value: JSON-like data, pydantic models, dataclasses, enums, paths, dates,
        numpy values, sets, tuples and mappings of these, and objects whose type defines
        ``__consist_identity__(self)`` returning such a value.
    fallback
        Plugin hook for other types: returns a JSON-like stand-in, or None to decline.
    path
        Name of ``value`` used in error messages, e.g. ``config``.

    Returns
    -------
    object
        A tree of dict (keys sorted), list, str, int, float, bool and None.

    Raises
    ------
    ConfigHashError
        If some part of ``value`` has no stable canonical form; the message names its key
        path, e.g. ``config["solver"]["callback"]``.
    """
    try:
        return _canon(value, fallback, set())
    except _Unhashable as exc:
        where = short_path(path + "".join(reversed(exc.segments)))
        raise ConfigHashError(where, exc.obj, exc.fix) from None
    except RecursionError:
        # Nesting through objects (stand-ins of stand-ins, models holding models) spends
        # several frames per level and can exhaust the stack below MAX_DEPTH; the stack is
        # unwound here, so the error can be built safely.
        raise ConfigHashError(path, value, _TOO_DEEP) from None


def canonical_bytes(value: Any, *, fallback: Fallback | None = None) -> bytes:
    """Injective, typed byte encoding of ``value``'s canonical tree.

    Parameters
    ----------
    value
        Any value :func:`canonicalize` accepts.
    fallback
        Plugin hook for otherwise unsupported types (see :func:`canonicalize`).

    Returns
    -------
    bytes
        Equal for values with equal canonical trees, different otherwise.
    """
    try:
        text = _plain_text(value)
    except (_NotPlain, RecursionError):  # RecursionError: a self-referencing container
        text = _text(canonicalize(value, fallback=fallback))
    return text.encode("utf-8", "surrogatepass")


def config_digest(value: Any, *, fallback: Fallback | None = None) -> str:
    """Digest of a config value's canonical tree.

    Parameters
    ----------
    value
        Any value :func:`canonicalize` accepts.
    fallback
        Plugin hook for otherwise unsupported types (see :func:`canonicalize`).

    Returns
    -------
    str
        ``"sha256:<hex>"``.
    """
    encoded = canonical_bytes(value, fallback=fallback)
    return "sha256:" + hashlib.sha256(_SCHEME + encoded).hexdigest()


def tree_digest(tree: Any) -> str:
    """Digest of a tree already returned by :func:`canonicalize`.

    Lets a caller canonicalise once, keep the tree (for storage or explanations) and still
    get exactly ``config_digest(value)``: canonicalisation is idempotent on its own output.

    Parameters
    ----------
    tree
        The result of :func:`canonicalize`.

    Returns
    -------
    str
        ``"sha256:<hex>"``, equal to ``config_digest`` of the value ``tree`` came from.
    """
    return config_digest(tree)


def canonical_json(value: Any, *, fallback: Fallback | None = None) -> str:
    """Readable, compact JSON of ``value``'s canonical tree, for storage and explanations.

    This is for display only: non-string keys are stringified, so it is not injective.

    Parameters
    ----------
    value
        Any value :func:`canonicalize` accepts.
    fallback
        Plugin hook for otherwise unsupported types (see :func:`canonicalize`).

    Returns
    -------
    str
        JSON text with sorted keys and no insignificant whitespace; NaN/Infinity allowed.
    """
    return json.dumps(
        _jsonable(canonicalize(value, fallback=fallback)),
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=True,
        ensure_ascii=False,
    )


# -- canonicalisation -------------------------------------------------------------------


def _canon(value: Any, fallback: Fallback | None, active: set[int]) -> Any:
    # Exact-type checks first: they cover almost every node of a real config cheaply.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return _float(value)
    if kind is dict:
        return _mapping(value, fallback, active)
    if kind is list or kind is tuple:
        return _sequence(value, fallback, active)
    return _other(value, fallback, active)


def _float(value: float) -> int | float:
    # is_integer() is False for NaN and inf, which stay floats; -0.0 becomes 0.
    return int(value) if value.is_integer() else value


def _other(value: Any, fallback: Fallback | None, active: set[int]) -> Any:
    # Enum before int/str: IntEnum and StrEnum members are also ints and strs.
    if isinstance(value, enum.Enum):
        return _canon(value.value, fallback, active)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _float(float(value))
    if isinstance(value, str):
        return str.__str__(value)  # an exact str, whatever the subclass overrides
    if isinstance(value, Mapping):
        if not isinstance(value, dict):
            # A library's own mapping type (an xarray Dataset maps names to its variables,
            # and would lose its coordinates and attributes as a plain mapping) may have a
            # plugin stand-in that says more.
            found, node = _plugin_form(value, fallback, active)
            if found:
                return node
        return _mapping(value, fallback, active)
    if isinstance(value, list | tuple):
        return _sequence(value, fallback, active)
    if isinstance(value, set | frozenset):
        return _set(value, fallback, active)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    return _structured(value, fallback, active)


def _structured(value: Any, fallback: Fallback | None, active: set[int]) -> Any:
    if isinstance(value, type):
        return _fallback(value, fallback, active)
    hook = getattr(type(value), "__consist_identity__", None)
    if callable(hook):  # the type says what identifies its instances
        try:
            standin = hook(value)
        except Exception:  # noqa: BLE001 - a failing hook means "no stable digest"
            raise _Unhashable(value) from None
        if standin is value:
            raise _Unhashable(value)
        return _canon(standin, fallback, active)
    if hasattr(value, "model_dump"):
        return _model(value, fallback, active)
    if dataclasses.is_dataclass(value):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return _mapping(fields, fallback, active)
    if type(value).__module__.startswith("numpy") and hasattr(value, "tolist"):
        return _canon(value.tolist(), fallback, active)
    return _fallback(value, fallback, active)


def _model(value: Any, fallback: Fallback | None, active: set[int]) -> Any:
    # Python mode first: it keeps sets as sets (sorted below), whereas JSON mode lists them
    # in hash-randomised order. JSON mode is the fallback for types only it can serialise.
    first: _Unhashable
    try:
        return _canon(_dumped(value, "python"), fallback, active)
    except _Unhashable as exc:
        first = exc
    try:
        return _canon(_dumped(value, "json"), fallback, active)
    except _Unhashable:
        raise first from None  # the python-mode failure names the offending field


def _dumped(value: Any, mode: str) -> Any:
    try:
        dumped = value.model_dump(mode=mode)
    except Exception:  # noqa: BLE001 - any serialiser failure means "not digestible this way"
        raise _Unhashable(value) from None
    # Duck typing must not be fooled by objects answering every attribute (mocks).
    if not isinstance(dumped, Mapping):
        raise _Unhashable(value)
    return dumped


def _fallback(value: Any, fallback: Fallback | None, active: set[int]) -> Any:
    found, node = _plugin_form(value, fallback, active)
    if found:
        return node
    raise _Unhashable(value)


def _plugin_form(value: Any, fallback: Fallback | None, active: set[int]) -> tuple[bool, Any]:
    """``(True, canonical form of the plugin stand-in)``, or ``(False, None)`` without one."""
    if fallback is not None:
        standin = fallback(value)
        # A stand-in of the same type would loop forever; treat it as a refusal.
        if standin is not None and type(standin) is not type(value):
            return True, _canon(standin, fallback, active)
    return False, None


def _enter(container: object, active: set[int]) -> int:
    # Guards against self-referencing containers, which would otherwise recurse forever.
    ident = id(container)
    if ident in active:
        raise _Unhashable(container, _CYCLE)
    # ``active`` holds the containers from the root down to this one: its depth.
    if len(active) >= MAX_DEPTH:
        raise _Unhashable(container, _TOO_DEEP)
    active.add(ident)
    return ident


def _sequence(items: Any, fallback: Fallback | None, active: set[int]) -> list[Any]:
    ident = _enter(items, active)
    out: list[Any] = []
    try:
        for item in items:
            out.append(_canon(item, fallback, active))
    except _Unhashable as exc:
        exc.segments.append(f"[{len(out)}]")  # the failing item is the next one
        raise
    active.discard(ident)
    return out


def _set(items: Any, fallback: Fallback | None, active: set[int]) -> list[Any]:
    ident = _enter(items, active)
    # Set iteration order is hash-randomised; sorting by encoding makes it deterministic.
    out = sorted((_canon(item, fallback, active) for item in items), key=_encoded)
    active.discard(ident)
    return out


def _mapping(mapping: Any, fallback: Fallback | None, active: set[int]) -> dict[Any, Any]:
    ident = _enter(mapping, active)
    entries: dict[Any, Any] = {}
    for key, item in mapping.items():
        canon_key = _key(key, fallback, active)
        try:
            # Two keys may canonicalise alike (Path("a") and "a"); keeping one would lose data.
            if canon_key in entries:
                raise _Unhashable(key)
            entries[canon_key] = _canon(item, fallback, active)
        except _Unhashable as exc:
            exc.segments.append(_segment(key))
            raise
    active.discard(ident)
    if all(type(k) is str for k in entries):
        return dict(sorted(entries.items()))
    # Mixed key types do not compare; order them by encoding, which also catches keys that
    # dict equality keeps apart but encode alike (two distinct NaN objects).
    keyed = sorted(((_encoded(k), k, v) for k, v in entries.items()), key=lambda e: e[0])
    if any(a[0] == b[0] for a, b in zip(keyed, keyed[1:], strict=False)):
        raise _Unhashable(mapping)
    return {k: v for _, k, v in keyed}


def _key(key: Any, fallback: Fallback | None, active: set[int]) -> Any:
    if type(key) is str or type(key) is int:
        return key
    canon = _canon(key, fallback, active)
    return _freeze(canon, key)


def _freeze(node: Any, original: object) -> Any:
    # Dict keys must be hashable: canonical lists become tuples (encoded like lists).
    if isinstance(node, list):
        return tuple(_freeze(item, original) for item in node)
    if isinstance(node, dict):
        raise _Unhashable(original)
    return node


def _segment(key: Any) -> str:
    if isinstance(key, str):
        return "[" + json.dumps(key, ensure_ascii=False) + "]"
    return f"[{key!r}]"
