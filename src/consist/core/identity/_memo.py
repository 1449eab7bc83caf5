"""The memo of static analyses, and how a memoised analysis is revalidated on every call.

An entry is reused only while every file it read is unchanged on disk and every name it
resolved still points at the same object; constants are not memoised with it, only where to
read them back, so rebinding one is seen on the next call (each value object is digested
once, see :func:`consist.core.identity._values._captured`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from consist.core.identity._values import _DICT, _MISSING, _captured, _read

_MEMO_LIMIT = 4096


@dataclass(slots=True)
class _Static:
    """The memoised static analysis of one callable, and how to check it is still valid."""

    digest: str
    mode: str
    detail: tuple[str, ...]
    files: tuple[tuple[str, tuple[int, int]], ...]
    guards: tuple[tuple[int, Any, Any, Any], ...]
    #: (label, how to read it, container, key, expected type, label shown by explanations)
    constants: tuple[tuple[bytes, int, Any, Any, type, str], ...]

    def valid(self) -> bool:
        for filename, signature in self.files:
            try:
                st = os.stat(filename)
            except OSError:
                return False
            if (st.st_mtime_ns, st.st_size) != signature:
                return False
        for kind, container, key, expected in self.guards:
            # Most guards are namespace lookups: inlined, as this runs on every cached call.
            found = container.get(key, _MISSING) if kind == _DICT else _read(kind, container, key)
            if found is not expected:
                return False
        return True

    def constant_tokens(self) -> tuple[list[bytes], dict[str, str]] | None:
        """Tokens of the captured values now, and what each looks like (for explanations);
        None when one changed type or can no longer be digested (redo the analysis)."""
        tokens: list[bytes] = []
        shown: dict[str, str] = {}
        for label, kind, container, key, expected_type, display in self.constants:
            value = _read(kind, container, key)
            if type(value) is not expected_type:
                return None
            try:
                token, text = _captured(value)
            except TypeError:
                return None
            tokens.append(label + token)
            shown[display] = text
        return tokens, shown


_MEMO: dict[tuple[Any, ...], _Static] = {}


def _memoised(key: tuple[Any, ...], analyse: Callable[[], _Static], force: bool = False) -> _Static:
    # Keys hold the functions themselves (not ids), so an id can never be reused while
    # its entry lives; the size bound keeps that from leaking.
    entry = None if force else _MEMO.get(key)
    if entry is None or not entry.valid():
        entry = analyse()
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[key] = entry
    return entry
