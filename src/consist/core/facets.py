"""Facets: small, queryable metadata on a run that does not take part in its identity."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any

from consist.core.binding import config_keys, config_value
from consist.core.checks import MAX_DEPTH, check_key_text, check_text, short_path
from consist.core.errors import ArgumentError, ArgumentTypeError, ConfigHashError, KeyNotFoundError

_CYCLE = (
    "It contains itself (a cyclic structure), which a facet cannot record; pass a copy "
    "without the back-reference."
)
_TOO_DEEP = (
    f"Its containers nest more than {MAX_DEPTH} levels deep, more than a facet records; "
    "facets are for a few queryable values, so keep the deep structure in config= or a file."
)


def _plain(value: Any, path: str) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:  # noqa: BLE001 - a cyclic or unserialisable model: name its path
            raise ConfigHashError(short_path(path), value) from None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # One level only (not dataclasses.asdict, which recurses without a guard): the
        # fields are checked like any other value, cycles and depth included.
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return _plain(value.value, path)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    if type(value).__module__.startswith("numpy") and hasattr(value, "tolist"):
        return value.tolist()  # numpy scalars and arrays: their Python values
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return value


def _checked(value: Any, path: str, active: set[int]) -> Any:
    """A JSON-like copy of ``value``; anything else is refused with its key path.

    ``active`` holds the ids of the containers being copied, from the root down: a
    container met again is a cycle, and their number is the depth.
    """
    ident = id(value)  # of the value as given: a dataclass is copied into a new dict below
    value = _plain(value, path)
    if isinstance(value, str):
        return check_text(value, path)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigHashError(path, value)
        return value
    if not isinstance(value, (Mapping, list, tuple)):
        raise ConfigHashError(short_path(path), value)
    if ident in active:
        raise ConfigHashError(short_path(path), value, _CYCLE)
    if len(active) >= MAX_DEPTH:
        raise ConfigHashError(short_path(path), value, _TOO_DEEP)
    active.add(ident)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigHashError(f"{path}[{key!r}] (facet keys must be strings)", key)
            # Keys become the dotted names of find_runs filters: no NUL there.
            check_key_text(key, f"a key of {short_path(path)}")
            out[key] = _checked(item, f"{path}[{key!r}]", active)
        copied: Any = out
    else:
        copied = [_checked(item, f"{path}[{i}]", active) for i, item in enumerate(value)]
    active.discard(ident)
    return copied


def _refuse_collisions(facet: Mapping[str, Any]) -> None:
    """Refuse a facet two of whose keys flatten to the same dotted key.

    ``{"a.b": 1, "a": {"b": 2}}`` would store and filter both as ``a.b``, one value hiding
    the other. Only actual collisions are refused: dots in keys are otherwise fine (such as
    ``{"v1.2": x}``), and a collision is always a mistake worth naming both spellings of.
    """
    seen: dict[str, str] = {}
    pending: list[tuple[Mapping[str, Any], str, str]] = [(facet, "", "facet")]
    while pending:
        mapping, prefix, spelt = pending.pop()
        for key, value in mapping.items():
            dotted = f"{prefix}.{key}" if prefix else key
            path = f"{spelt}[{key!r}]"
            if isinstance(value, Mapping) and value:
                pending.append((value, dotted, path))
            elif dotted in seen:
                first, second = sorted((seen[dotted], path))
                raise ArgumentError(
                    f"{short_path(first)} and {short_path(second)} both become the facet key "
                    f"{dotted!r:.80} (nested keys are joined with '.'), so one would hide the "
                    "other in the store and in find_runs filters; rename one of them."
                )
            else:
                seen[dotted] = path


def build_facet(facet: Any, facet_from: Iterable[str] | None, config: Any) -> dict[str, Any] | None:
    """The run's facet: ``facet`` (a dict or pydantic model) plus the config keys named in
    ``facet_from``; None when neither is given."""
    result: dict[str, Any] = {}
    if facet is not None:
        plain = _checked(facet, "facet", set())
        if not isinstance(plain, dict):
            raise ArgumentTypeError(
                f"facet= takes a dict or a pydantic model, got {type(facet).__name__}; "
                "e.g. facet={'alpha': 0.2}."
            )
        result.update(plain)
    names = _names(facet_from)
    if names:
        available = config_keys(config)
        for key in names:
            if key not in available:
                raise KeyNotFoundError(
                    f"facet_from names {key!r}, which is not a top-level config key; "
                    f"the config has {sorted(available)}."
                )
            result[key] = _checked(config_value(config, key), f"config[{key!r}]", set())
    _refuse_collisions(result)
    return result if (facet is not None or names) else None


def _names(facet_from: Any) -> list[str]:
    """``facet_from`` as a list of key names (a bare string would be split into letters)."""
    if facet_from is None:
        return []
    if isinstance(facet_from, str) or not isinstance(facet_from, Iterable):
        raise ArgumentTypeError(
            f"facet_from={facet_from!r:.80} must be a list of config keys, e.g. ['alpha']."
        )
    names = list(facet_from)
    for name in names:
        if not isinstance(name, str):
            raise ArgumentTypeError(
                f"facet_from holds {name!r:.80} ({type(name).__name__}); config keys are strings."
            )
        check_key_text(name, "a key in facet_from")  # it becomes a facet key
    return names


MAX_EXACT_INT = 2**53  # beyond it an int is not exact as a 64-bit double
_DOCUMENT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def flatten(facet: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Leaves of ``facet`` under dotted keys; lists and empty dicts are leaves.

    Keys are visited in sorted order, so when two paths spell the same dotted key
    (``{"a": {"b": 1}, "a.b": 2}``) the result depends only on the content, never on
    insertion order: the later key in sorted order wins.
    """
    flat: dict[str, Any] = {}
    for key in sorted(facet, key=str):
        value = facet[key]
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


def filter_pairs(pairs: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Facet filters with any non-empty dict value spread into dotted leaves."""
    result: list[tuple[str, Any]] = []
    for key, value in pairs:
        if isinstance(value, Mapping) and value:
            result.extend(flatten(value, key).items())
        else:
            result.append((key, value))
    return result


def document_json(value: Any) -> str:
    """The canonical JSON text of a facet: sorted keys, no spaces, non-JSON values as text.

    Keys that cannot be sorted together (``{1: .., "a": ..}``) are turned into text first,
    rather than failing a background flush.
    """
    try:
        return _DOCUMENT.encode(value)
    except TypeError:
        return _DOCUMENT.encode(_text_keys(value))


def _text_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {_key_text(k): _text_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_text_keys(v) for v in value]
    return value


def _key_text(key: Any) -> str:
    # The text json.dumps itself gives a scalar key; anything else its str().
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    return str(key)


def content_id(document: str) -> str:
    """The id of a facet document: the first 32 hex digits of its text's SHA-256."""
    return hashlib.sha256(document.encode("utf-8")).hexdigest()[:32]


def typed_leaf(value: Any) -> tuple[str, Any]:
    """``(value type, value)`` as a facet leaf is stored and compared.

    ``bool`` is checked before ``int`` (it is one). Numbers are 64-bit floats, so ``1`` and
    ``1.0`` are the same value; integers beyond :data:`MAX_EXACT_INT` and non-finite floats
    are compared as their JSON text, like lists and anything else.
    """
    if value is None:
        return ("null", None)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        if -MAX_EXACT_INT <= value <= MAX_EXACT_INT:
            return ("num", float(value))
    elif isinstance(value, float):
        if math.isfinite(value):
            return ("num", value)
    elif isinstance(value, str):
        return ("str", value)
    return ("json", document_json(value))
