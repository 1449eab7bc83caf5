"""Checks that a value can be recorded at all, made before anything is written.

A run's record goes to a JSON snapshot (UTF-8) and then to a database column. A value that
either of them refuses — text holding a lone surrogate, a mapping key JSON cannot hold, a
number too large for an INTEGER column — must be refused at the call that introduced it:
found later, during a background write, it would leave a run half-recorded and every
following write failing behind it.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

from consist.core.errors import ArgumentError, ArgumentTypeError, redact

#: The range of the stores' INTEGER columns (``year``, ``iteration``, ``cache_epoch``).
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

#: How deeply containers may nest in a recorded value (config, facet, meta, arguments).
#: Real configs stay within a dozen levels; every walk of a value recurses once per level,
#: and far deeper values would exhaust Python's recursion limit (a bare RecursionError)
#: half-way through. 128 is also serde_json's default limit.
MAX_DEPTH = 128

#: Beyond this many characters, a key path in a message is cut in the middle.
_PATH_LIMIT = 120

_SCALAR_KEYS = (str, int, float, bool, type(None))


def encodable(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (False for lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable_text(text: str) -> str:
    """``text`` with lone surrogates escaped (``\\ud800``): for messages that must be
    recorded whatever they hold, such as the error a run failed with."""
    if encodable(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _bad_text(what: str, text: str) -> ArgumentError:
    return ArgumentError(
        f"{what} holds text that is not valid Unicode ({redact(repr(text))[:80]}): it "
        "contains a lone surrogate, which cannot be stored. Fix the text, or decode bytes with "
        "errors='replace' first."
    )


def check_text(value: object, what: str, *, optional: bool = False) -> str | None:
    """Return ``value`` if it is storable text (``None`` too with ``optional``).

    Raises
    ------
    ArgumentTypeError
        If ``value`` is not a string.
    ArgumentError
        If it holds a lone surrogate.
    """
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ArgumentTypeError(
            f"{what}={value!r:.80} is a {type(value).__name__}; it must be a string"
            + (" or None." if optional else ".")
        )
    if not encodable(value):
        raise _bad_text(what, value)
    return value


def check_key_text(value: object, what: str) -> str:
    """Return ``value`` if it is storable text that can name something (a tag, a facet or
    meta key): no NUL character, which SQLite's text functions and C-string APIs cut at, so
    a filter on such a key would silently match something else or nothing.

    Raises
    ------
    ArgumentTypeError
        If ``value`` is not a string.
    ArgumentError
        If it holds a lone surrogate or a NUL character.
    """
    text = check_text(value, what) or ""
    if "\x00" in text:
        raise ArgumentError(
            f"{what} ({text!r:.80}) contains a NUL character (\\x00), which names and keys "
            f"cannot hold; remove it, e.g. {text.replace(chr(0), '')!r:.80}."
        )
    return text


def short_path(path: str) -> str:
    """``path`` (a key path such as ``config["a"]["b"]``) cut in the middle when long: a
    value nested a hundred levels deep would otherwise fill the message with its path."""
    if len(path) <= _PATH_LIMIT:
        return path
    return f"{path[:70]}...{path[-40:]}"


def check_tags(tags: object, what: str = "tags") -> list[str]:
    """``tags`` as a list of storable strings: None → [], one string → [that string].

    Raises
    ------
    ArgumentTypeError
        If ``tags`` is not a string or an iterable of strings.
    """
    if tags is None:
        return []
    if isinstance(tags, str):
        return [check_key_text(tags, what)]
    if not isinstance(tags, Iterable):
        raise ArgumentTypeError(
            f"{what}={tags!r:.80} is a {type(tags).__name__}; give a tag or a list of tags "
            "such as ['baseline']."
        )
    return [check_key_text(tag, f"a tag in {what}") for tag in tags]


def check_int(value: object, what: str, *, low: int = INT32_MIN, high: int = INT32_MAX) -> int:
    """``value`` as a plain int, if it is an integer (not a bool) within ``[low, high]``.

    Raises
    ------
    ArgumentTypeError
        If ``value`` is not an integer (``1.5``, ``"2030"``, ``True``).
    ArgumentError
        If it is outside the range the stores' INTEGER columns hold.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(
            f"{what}={value!r:.80} is a {type(value).__name__}; it must be an integer such as 2030."
        )
    number = int(value)
    if not low <= number <= high:
        raise ArgumentError(
            f"{what}={number} is out of range: it is stored in an INTEGER column, so it must "
            f"be between {low} and {high}."
        )
    return number


def escaped_tree(value: Any) -> Any:
    """A canonical JSON-like tree with every text escaped by :func:`storable_text`: for
    records that only describe (an explanation's view of a step's arguments), which must be
    stored whatever the values held."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, Mapping):
        return {escaped_tree(k): escaped_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escaped_tree(item) for item in value]
    return value


def storable(value: Any) -> bool:
    """Fast check: whether the snapshot writer takes ``value`` as it is (JSON with string,
    number, boolean or None keys, other leaves as their text, valid Unicode throughout)."""
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return False
    return True


def check_storable(value: Any, what: str) -> None:
    """Refuse a JSON-like value (meta, facet, config tree) the snapshot or store would refuse.

    Leaves that are not JSON types are fine (they are recorded as their text); mapping keys
    must be strings, numbers, booleans or None; no text may hold a lone surrogate; no
    container may contain itself; and containers nest at most :data:`MAX_DEPTH` deep.

    Raises
    ------
    ArgumentTypeError
        For a mapping key of another type, a self-containing or too deeply nested value;
        the message names the key path, e.g. ``meta['solver'][(1, 2)]``.
    ArgumentError
        For text that is not valid Unicode.
    """
    if not storable(value):  # the common case costs one C-level encoding
        _walk(value, what, set())


def _walk(value: Any, path: str, active: set[int]) -> None:
    if isinstance(value, str):
        if not encodable(value):
            raise _bad_text(path, value)
        return
    if isinstance(value, Mapping):
        with _entered(value, path, active):
            for key, item in value.items():
                _check_key(key, path)
                _walk(item, path + _segment(key), active)
    elif isinstance(value, list | tuple | set | frozenset):
        with _entered(value, path, active):
            for index, item in enumerate(value):
                _walk(item, f"{path}[{index}]", active)


def _segment(key: Any) -> str:
    # The spelling of config key paths (``config["solver"]["tol"]``), shared by all messages.
    if isinstance(key, str):
        return "[" + json.dumps(key, ensure_ascii=False) + "]"
    return f"[{key!r}]"


def _check_key(key: Any, path: str) -> None:
    if not isinstance(key, _SCALAR_KEYS):
        raise ArgumentTypeError(
            f"{path} has the key {key!r:.80} ({type(key).__name__}); keys of recorded "
            "values must be strings (or numbers), so use e.g. str(key)."
        )
    if isinstance(key, str) and not encodable(key):
        raise _bad_text(f"a key of {path}", key)


class _entered:
    """Marks a container as being walked, to refuse one that contains itself."""

    def __init__(self, container: object, path: str, active: set[int]) -> None:
        self.ident, self.path, self.active = id(container), path, active

    def __enter__(self) -> None:
        if self.ident in self.active:
            raise ArgumentTypeError(
                f"{short_path(self.path)} contains itself (a cyclic structure), which cannot "
                "be recorded; pass a copy without the back-reference."
            )
        # ``active`` holds the containers from the root down to this one: its depth.
        if len(self.active) >= MAX_DEPTH:
            raise ArgumentTypeError(
                f"{short_path(self.path)} is nested more than {MAX_DEPTH} levels deep, which "
                "cannot be recorded; flatten it (e.g. dotted keys such as {'a.b.c': 1})."
            )
        self.active.add(self.ident)

    def __exit__(self, *exc: object) -> None:
        self.active.discard(self.ident)


def plain_values(value: Any, _depth: int = 0) -> Any:
    """``value`` with numpy scalars (and arrays) turned into Python values, inside dicts,
    lists and tuples too: metadata records ``True``, not the text ``"True"`` of a
    ``numpy.bool_``. Anything else is returned as it is (unchanged containers are reused;
    nesting beyond :data:`MAX_DEPTH`, including a container holding itself, is left for
    :func:`check_storable` to refuse)."""
    if type(value).__module__.startswith("numpy") and hasattr(value, "tolist"):
        return value.tolist()
    if _depth > MAX_DEPTH:
        return value
    if isinstance(value, dict):
        converted = {k: plain_values(v, _depth + 1) for k, v in value.items()}
        changed = any(converted[k] is not v for k, v in value.items())
        return converted if changed else value
    if isinstance(value, (list, tuple)):
        items = [plain_values(v, _depth + 1) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    return value
