"""Bytecode digests: the fallback when source is unavailable, and the check that it is current.

Code defined in a REPL, by ``exec`` or in a file edited since it was imported has no source,
or a source that is not what runs; its compiled code is digested instead, or as well.
"""

from __future__ import annotations

import hashlib
import linecache
import types
from typing import Any

from consist.core.identity._values import _standin
from consist.core.identity.canonical import canonical_bytes


def _is_current(code: types.CodeType) -> bool:
    """Whether the loaded code is what its source file compiles to now.

    When it is not (the file was edited but not re-imported, or an import hook rewrote
    it), the source alone would describe code that is not running: callers then fold in
    the running bytecode too, so such runs never share an identity with the edited code.
    """
    compiled = _compiled(code.co_filename)
    return _code_hex(code) in compiled.get(code.co_qualname, ())


_COMPILED: dict[str, tuple[str, dict[str, set[str]]]] = {}


def _compiled(filename: str) -> dict[str, set[str]]:
    text = "".join(linecache.getlines(filename))  # also serves REPL cells and notebooks
    key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    cached = _COMPILED.get(filename)
    if cached is not None and cached[0] == key:
        return cached[1]
    digests: dict[str, set[str]] = {}
    try:
        # dont_inherit: this module's own __future__ flags must not leak into the compile.
        stack = [compile(text, filename, "exec", dont_inherit=True)]
    except (SyntaxError, ValueError):
        stack = []
    while stack:
        code = stack.pop()
        digests.setdefault(code.co_qualname, set()).add(_code_hex(code))
        stack += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    _COMPILED[filename] = (key, digests)
    return digests


def _code_hex(code: types.CodeType) -> str:
    digest = hashlib.sha256()
    _feed_code(digest, code)  # line numbers are not fed: blank-line edits do not count
    return digest.hexdigest()


def _bytecode_hex(fn: types.FunctionType) -> str:
    digest = hashlib.sha256()
    _feed_code(digest, fn.__code__)
    try:
        defaults = canonical_bytes([fn.__defaults__, fn.__kwdefaults__], fallback=_standin)
    except TypeError:
        defaults = repr([type(d).__qualname__ for d in fn.__defaults__ or ()]).encode()
    digest.update(defaults)
    return digest.hexdigest()


def _methods_hex(methods: list[types.FunctionType]) -> str:
    return hashlib.sha256(
        repr([(m.__name__, _bytecode_hex(m)) for m in methods]).encode()
    ).hexdigest()


def _feed_code(digest: Any, code: types.CodeType) -> None:
    counts = (code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount)
    parts = [code.co_code, *(repr(p).encode() for p in (code.co_names, code.co_varnames))]
    parts += [repr(code.co_freevars).encode(), repr(counts).encode()]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            parts.append(b"<code>")
            _feed_code(digest, const)
        else:
            parts.append(_const_repr(const).encode("utf-8", "surrogatepass"))
    for part in parts:
        digest.update(b"%d:" % len(part) + part)


def _const_repr(const: Any) -> str:
    if isinstance(const, frozenset):  # iteration order of a frozenset is hash-randomised
        return "frozenset" + repr(sorted(_const_repr(c) for c in const))
    if isinstance(const, tuple):
        return "tuple" + repr([_const_repr(c) for c in const])
    return f"{type(const).__name__}:{const!r}"
