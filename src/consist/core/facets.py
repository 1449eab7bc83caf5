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
from consist.core.checks import check_text
from consist.core.errors import ArgumentTypeError, ConfigHashError, KeyNotFoundError


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    if type(value).__module__.startswith("numpy") and hasattr(value, "tolist"):
        return value.tolist()  # numpy scalars and arrays: their Python values
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return value


def _checked(value: Any, path: str) -> Any:
    """A JSON-like copy of ``value``; anything else is refused with its key path."""
    value = _plain(value)
    if isinstance(value, str):
        return check_text(value, path)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigHashError(path, value)
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigHashError(f"{path}[{key!r}] (facet keys must be strings)", key)
            check_text(key, f"a key of {path}")
            out[key] = _checked(item, f"{path}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_checked(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise ConfigHashError(path, value)


def build_facet(facet: Any, facet_from: Iterable[str] | None, config: Any) -> dict[str, Any] | None:
    """The run's facet: ``facet`` (a dict or pydantic model) plus the config keys named in
    ``facet_from``; None when neither is given."""
    result: dict[str, Any] = {}
    if facet is not None:
        plain = _checked(facet, "facet")
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
            result[key] = _checked(config_value(config, key), f"config[{key!r}]")
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
