"""Validation of option values at the api boundary (once, with errors listing what is allowed)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import cast

from consist.core.checks import check_text
from consist.core.errors import OptionValueError, ReadOnlyError
from consist.core.hydration import POLICIES
from consist.core.model import CACHE_MODES, HASHING_MODES, CacheMode, HashingMode

CODE_IDENTITY_MODES = ("auto", "deps", "source", "module", "git")
VALIDATE_MODES = ("lazy", "eager")
OUTPUT_MISSING_MODES = ("warn", "error", "ignore")
DB_FALLBACK_MODES = ("inputs-only", "always", "never")
HYDRATION_MODES = POLICIES


def choice(option: str, value: object, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if isinstance(value, str) and value in allowed:
        return value
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value.lower(), allowed, n=1)
        if close:
            hint = f"Did you mean {close[0]!r}?"
    raise OptionValueError(option, value, allowed, hint)


def cache_mode(value: object) -> CacheMode:
    return cast(CacheMode, choice("cache_mode", value, CACHE_MODES))


def hashing(value: object) -> HashingMode:
    return cast(HashingMode, choice("hashing", value, HASHING_MODES))


def code_identity(value: object) -> str:
    """A mode name, or a literal version string (e.g. ``"v3"``).

    Strings that look like a misspelt mode (``"dep"``, ``"Source"``) are refused rather than
    silently taken as a literal version, which would freeze the cache against code edits.
    """
    if isinstance(value, str) and value in CODE_IDENTITY_MODES:
        return value
    if isinstance(value, str) and value.strip():
        check_text(value, "code_identity")
        lowered = value.strip().lower()
        close = difflib.get_close_matches(lowered, CODE_IDENTITY_MODES, n=1, cutoff=0.75)
        if close:  # also catches a mode name in the wrong case ("Deps")
            raise OptionValueError(
                "code_identity",
                value,
                (*CODE_IDENTITY_MODES, "<literal version such as 'v3'>"),
                f"Did you mean {close[0]!r}? To pin a literal version that resembles a mode "
                f"name, prefix it: 'version:{value}'.",
            )
        return value
    raise OptionValueError(
        "code_identity", value, (*CODE_IDENTITY_MODES, "<literal version such as 'v3'>")
    )


ACCESS_MODES = ("standard", "analysis", "read_only")


def access_mode(value: object, read_only: bool) -> str:
    """``access_mode`` checked, with ``read_only=True`` standing for ``"read_only"``."""
    mode = choice("access_mode", value, ACCESS_MODES)
    if read_only and mode == "analysis":
        raise OptionValueError(
            "access_mode",
            mode,
            ACCESS_MODES,
            "read_only=True asks for access_mode='read_only'; pass one or the other.",
        )
    return "read_only" if read_only else mode


def refuse_recording(mode: str, what: str) -> None:
    """Refuse creating runs unless the tracker's access mode is ``"standard"``."""
    if mode != "standard":
        raise ReadOnlyError(
            f"this tracker was opened with access_mode={mode!r}, which records no runs, so "
            f"{what}; open Tracker(..., access_mode='standard') (the default, read_only=False) "
            "to record."
        )


def alias(name: str, value: object, default: object, other: str, other_value: object) -> object:
    """Option ``name``, given under its own name or as ``other`` (at most one of the two);
    ``default`` when neither is given."""
    if value is not None and other_value is not None and value != other_value:
        raise OptionValueError(
            name, value, (), f"{other}={other_value!r} is another name for {name}=; give one."
        )
    for given in (value, other_value):
        if given is not None:
            return given
    return default
