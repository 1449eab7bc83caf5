"""The names a piece of code references: read from its AST, or guessed from its bytecode."""

from __future__ import annotations

import ast
import types
from typing import NamedTuple


class _Refs(NamedTuple):
    names: frozenset[str]
    chains: frozenset[tuple[str, ...]]
    imports: frozenset[tuple[str, int]]  # (dotted module name or relative name, level)


def _union(*refs: _Refs) -> _Refs:
    return _Refs(
        frozenset().union(*(r.names for r in refs)),
        frozenset().union(*(r.chains for r in refs)),
        frozenset().union(*(r.imports for r in refs)),
    )


def _references(nodes: list[ast.AST]) -> _Refs:
    names: set[str] = set()
    chains: set[tuple[str, ...]] = set()
    imports: set[tuple[str, int]] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Attribute) and (chain := _chain(node)) is not None:
            chains.add(chain)
            continue
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Store):
                names.add(node.id)
            continue
        if isinstance(node, ast.Import):
            imports |= {(alias.name, 0) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            imports.add((base, node.level))
            imports |= {(f"{base}.{a.name}".lstrip("."), node.level) for a in node.names}
        stack.extend(ast.iter_child_nodes(node))
    return _Refs(frozenset(names), frozenset(chains), frozenset(imports))


def _chain(node: ast.Attribute) -> tuple[str, ...] | None:
    parts: list[str] = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    parts.append(current.id)
    return tuple(reversed(parts))


def _code_refs(code: types.CodeType) -> _Refs:
    # Without source, co_names mixes globals and attribute names: try every pairing.
    names = _code_names(code)
    chains = frozenset((a, b) for a in names for b in names if a != b)
    return _Refs(frozenset(names | set(code.co_freevars)), chains, frozenset())


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _local_only(code: types.CodeType) -> frozenset[str]:
    """Names the code (or code nested in it) uses only as local variables.

    The AST cannot tell a local from a global of the same name (``frame = ...`` inside a
    step, ``frame`` at the top of a notebook); the bytecode can: a local is never loaded
    by name. Such names must not pull an unrelated module global into the identity.
    """
    local: set[str] = set(code.co_varnames) | set(code.co_cellvars)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            local |= _local_only(const)
    return frozenset(local - _code_names(code) - set(code.co_freevars))


def _without_locals(refs: _Refs, code: types.CodeType) -> _Refs:
    """``refs`` without names (and attribute chains starting at names) that are locals."""
    local = _local_only(code)
    return _Refs(
        frozenset(n for n in refs.names if n not in local),
        frozenset(c for c in refs.chains if c[0] not in local),
        refs.imports,
    )


def _rebound(code: types.CodeType) -> frozenset[str]:
    """Globals the code (or code nested in it) rebinds, and closure cells it rebinds.

    Such names hold the step's own running state (``global count; count += 1``), written
    by the step rather than given to it, so they are left out of its identity.
    """
    import dis  # only while analysing a function, never on import

    names: set[str] = set()
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("STORE_GLOBAL", "DELETE_GLOBAL") or (
            instruction.opname in ("STORE_DEREF", "DELETE_DEREF")
            and instruction.argval in code.co_freevars
        ):
            names.add(instruction.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):  # nested code rebinding a global
            nested = _rebound(const)
            names |= {n for n in nested if n not in const.co_freevars}
    return frozenset(names)
