"""Facets: small, queryable metadata on a run that does not take part in its identity."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

from consist.core.binding import config_keys, config_value
from consist.core.errors import ConfigHashError


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _checked(value: Any, path: str) -> Any:
    """A JSON-like copy of ``value``; anything else is refused with its key path."""
    value = _plain(value)
    if value is None or isinstance(value, (str, bool, int)):
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
            raise TypeError(
                f"facet= takes a dict or a pydantic model, got {type(facet).__name__}; "
                "e.g. facet={'alpha': 0.2}."
            )
        result.update(plain)
    if facet_from:
        available = config_keys(config)
        for key in facet_from:
            if key not in available:
                raise KeyError(
                    f"facet_from names {key!r}, which is not a top-level config key; "
                    f"the config has {sorted(available)}."
                )
            result[key] = _checked(config_value(config, key), f"config[{key!r}]")
    return result if (facet is not None or facet_from) else None


def flatten(facet: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested keys joined with dots: ``{"solver": {"tol": 1}}`` → ``{"solver.tol": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in facet.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat
