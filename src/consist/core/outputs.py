"""Mapping a step's return value onto its output keys (SPEC §2 output mapping)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from consist.core.errors import OutputError
from consist.core.model import validate_key

DEFAULT_OUTPUT_KEY = "output"


def map_return_value(
    value: Any, declared: Sequence[str], step: str, *, single: bool = False
) -> list[tuple[str, Any]]:
    """``(key, value)`` pairs for a return value.

    dict → by key; list/tuple → zipped with the declared keys (lengths must match); a single
    value → the single declared key (or ``"output"`` when nothing was declared). ``None``
    values are skipped by the caller. ``single``: the value is one output even if it looks
    like a mapping (an ``xarray.Dataset`` is a mapping of its variables).
    """
    if value is None:
        return []
    if isinstance(value, Mapping) and not single:
        return [(validate_key(k, f"output key of {step}"), v) for k, v in value.items()]
    if isinstance(value, (list, tuple)) and not single:
        if not declared:
            raise OutputError(
                f"{step} returned a {type(value).__name__} of {len(value)} values but declares "
                "no outputs; pass outputs=['a', 'b', ...] so each value gets a key, "
                "or return a dict."
            )
        if len(value) != len(declared):
            raise OutputError(
                f"{step} returned {len(value)} values for {len(declared)} declared outputs "
                f"{list(declared)}; return exactly one value per declared output."
            )
        return list(zip(declared, value, strict=True))
    if len(declared) > 1:
        raise OutputError(
            f"{step} returned a single {type(value).__name__} but declares outputs "
            f"{list(declared)}; return a dict or a tuple with one value per output."
        )
    key = declared[0] if declared else DEFAULT_OUTPUT_KEY
    return [(key, value)]


def missing_outputs(declared: Sequence[str], produced: Sequence[str]) -> list[str]:
    """Declared keys that were not produced, in declaration order."""
    have = set(produced)
    return [k for k in declared if k not in have]
