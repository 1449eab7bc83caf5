"""The byte encoding of canonical trees (injective, self-delimiting) and their JSON form for
storage. Split from :mod:`consist.core.identity.canonical`, which builds the trees."""

from __future__ import annotations

import json
from typing import Any

from consist.core.checks import MAX_DEPTH

__all__ = ["_NotPlain", "_encoded", "_jsonable", "_plain_text", "_text", "storable_tree"]


# -- encoding ---------------------------------------------------------------------------


class _NotPlain(Exception):
    """Raised by the fast path on anything beyond plain JSON-like data."""


def _plain_text(node: Any, depth: int = 0) -> str:
    """Fast path: canonicalise and encode plain JSON-like data in one pass.

    It must agree exactly with ``_text(canonicalize(node))`` (a property test checks it);
    anything else (other types, non-str keys, nesting beyond MAX_DEPTH, which the general
    path refuses) is left to that slower, general path. ``depth`` counts the containers
    around ``node``.
    """
    kind = type(node)
    if kind is str:
        return f"s{len(node)}:{node}"
    if kind is int:
        return f"i{node:x};"
    if kind is float:
        return f"i{int(node):x};" if node.is_integer() else f"f{node!r};"
    if node is None:
        return "n"
    if kind is bool:
        return "T" if node else "F"
    if kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            raise _NotPlain
        return "[" + "".join([_plain_text(item, depth + 1) for item in node]) + "]"
    if kind is dict:
        if depth >= MAX_DEPTH:
            raise _NotPlain
        entries = []
        for key, item in node.items():
            if type(key) is not str:
                raise _NotPlain
            entries.append(f"s{len(key)}:{key}" + _plain_text(item, depth + 1))
        return "{" + "".join(sorted(entries)) + "}"
    raise _NotPlain


def _encoded(node: Any) -> bytes:
    return _text(node).encode("utf-8", "surrogatepass")


def _text(node: Any) -> str:
    # Every encoding is self-delimiting (length prefix or terminator), so concatenations of
    # encodings parse back uniquely: that is what makes the whole encoding injective. It is
    # built as str and encoded once, which is several times faster than bytes formatting.
    kind = type(node)
    if kind is str:
        return f"s{len(node)}:{node}"  # length in code points, exact like the text itself
    if kind is int:
        return f"i{node:x};"  # hex: not subject to the int->decimal digit limit
    if kind is float:
        return f"f{node!r};"
    if node is None:
        return "n"
    if kind is bool:
        return "T" if node else "F"
    if kind is list or kind is tuple:
        return "[" + "".join([_text(item) for item in node]) + "]"
    if kind is dict:
        # Encoded keys are distinct and prefix-free, so sorting whole entries orders them
        # by key alone: key order in the mapping never matters.
        return "{" + "".join(sorted([_text(k) + _text(v) for k, v in node.items()])) + "}"
    raise TypeError(f"not a canonical node: {kind.__qualname__}")  # pragma: no cover


# -- display ----------------------------------------------------------------------------


def storable_tree(tree: Any) -> Any:
    """A canonical tree as a run records it: mapping keys that JSON cannot hold (tuples,
    numbers, None) become their JSON text, so the snapshot and the stores can write it.

    Parameters
    ----------
    tree
        The result of :func:`canonicalize`.

    Returns
    -------
    object
        The same tree with string keys only (the digest is still taken of ``tree``).
    """
    return _jsonable(tree)


def _jsonable(node: Any) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, item in node.items():
            text = key if isinstance(key, str) else json.dumps(_jsonable(key), allow_nan=True)
            if text in out:  # e.g. {2020: ..} beside {"2020": ..}: keep both, visibly
                text = f"{text} ({type(key).__name__})"
            out[text] = _jsonable(item)
        return out
    if isinstance(node, list | tuple):
        return [_jsonable(item) for item in node]
    return node
