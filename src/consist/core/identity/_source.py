"""Parsing and normalising Python source, and finding the files code lives in.

Sources are parsed with docstrings stripped and dumped without positions, so comments,
docstrings and formatting never reach a digest. Whole module files are parsed once per
(mtime, size) and indexed by the names their top-level statements bind.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.machinery
import inspect
import linecache
import os
import re
import sys
import textwrap
import types
from typing import Any, NamedTuple


class _Module(NamedTuple):
    digest: str
    bindings: dict[str, list[ast.stmt]]


def _parse(source: str) -> ast.Module | None:
    """Parse a source fragment, docstrings stripped (done once: stripping is not idempotent)."""
    try:
        return _strip_docstrings(ast.parse(textwrap.dedent(source)))
    except SyntaxError:
        pass
    # dedent gives up when a multi-line string is indented less than the code around it.
    try:
        wrapper = ast.parse("if 1:\n" + source)
    except SyntaxError:
        return None
    body = wrapper.body[0].body  # type: ignore[attr-defined]
    return _strip_docstrings(ast.Module(body=body, type_ignores=[]))


def _strip_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                node.body = node.body[1:] if isinstance(first.value.value, str) else node.body
    return tree


def _dump_hex(*nodes: ast.AST) -> str:
    dumped = "\n".join(ast.dump(n, include_attributes=False) for n in nodes)
    return hashlib.sha256(dumped.encode("utf-8", "surrogatepass")).hexdigest()


#: Where ``inspect.findsource`` lets a code object's source begin: its first line, or the
#: nearest line above it that starts a definition, a lambda or a decorator.
_DEFINITION = re.compile(r"^(\s*def\s)|(\s*async\s+def\s)|(.*(?<!\w)lambda(:|\s))|^(\s*@)")


def _code_source(code: types.CodeType) -> str:
    """``inspect.getsource(code)`` without its first call's walk over every loaded module
    (``inspect.getmodule``: ~15 ms in a process that has imported a few hundred modules,
    paid by the first step a process runs)."""
    lines = linecache.getlines(code.co_filename)
    if not lines:  # e.g. a module imported from an archive: its loader knows the source
        return inspect.getsource(code)
    start = code.co_firstlineno - 1
    if not 0 <= start < len(lines):
        raise OSError(f"line {code.co_firstlineno} is past the end of {code.co_filename}")
    while start > 0 and not _DEFINITION.match(lines[start]):
        start -= 1
    return "".join(inspect.getblock(lines[start:]))


def _function_node(code: types.CodeType) -> ast.AST | None:
    linecache.checkcache(code.co_filename)  # re-read files edited since they were cached
    try:
        tree = _parse(_code_source(code))  # a code object: no __wrapped__ unwrapping
    except (OSError, TypeError):
        return None
    if tree is None or not tree.body:
        return None
    if code.co_name == "<lambda>":
        lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
        if len(lambdas) != 1:  # several lambdas on the line: keep them all
            return tree
        return lambdas[0] if _arguments_match(lambdas[0].args, code) else None
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    # A file edited but not re-imported shifts lines under the loaded code: if the source
    # found is not this function's, digest the bytecode that actually runs instead.
    matches = node.name == code.co_name and _arguments_match(node.args, code)
    return node if matches else None


def _class_node(cls: type, filename: str | None) -> ast.AST | None:
    if filename is None:
        return None
    linecache.checkcache(filename)
    try:
        tree = _parse(inspect.getsource(cls))
    except (OSError, TypeError):
        return None
    node = tree.body[0] if tree is not None and tree.body else None
    return node if isinstance(node, ast.ClassDef) and node.name == cls.__name__ else None


def _arguments_match(args: ast.arguments, code: types.CodeType) -> bool:
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return tuple(names) == code.co_varnames[: len(names)]


_TREES: dict[str, tuple[tuple[int, int], _Module]] = {}


def _stat(filename: str) -> tuple[int, int] | None:
    try:
        st = os.stat(filename)
    except (OSError, ValueError):
        return None
    return (st.st_mtime_ns, st.st_size)


def _module_tree(filename: str) -> _Module | None:
    signature = _stat(filename)  # stat before reading: an edit in between shows next time
    if signature is None:
        return None
    cached = _TREES.get(filename)
    if cached is not None and cached[0] == signature:
        return cached[1]
    try:
        with open(filename, "rb") as handle:
            data = handle.read()
        tree = _strip_docstrings(ast.parse(data))  # bytes: honours a coding cookie
    except OSError:
        return None
    except (SyntaxError, ValueError):
        parsed = _Module("raw:" + hashlib.sha256(data).hexdigest(), {})
    else:
        parsed = _Module(_dump_hex(tree), _bindings(tree.body, {}))
    _TREES[filename] = (signature, parsed)
    return parsed


def _bindings(body: list[ast.stmt], out: dict[str, list[ast.stmt]]) -> dict[str, list[ast.stmt]]:
    """Top-level statements (also inside if/try/with/for blocks) by the names they bind."""
    for stmt in body:
        for name in _bound_names(stmt):
            out.setdefault(name, []).append(stmt)
        if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for field in ("body", "orelse", "finalbody"):
                _bindings(getattr(stmt, field, []), out)
            for handler in getattr(stmt, "handlers", []):
                _bindings(handler.body, out)
    return out


def _bound_names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [stmt.name]
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).split(".")[0] for a in stmt.names]
    targets: list[ast.AST] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor):
        targets = [stmt.target]
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        targets = [item.optional_vars for item in stmt.items if item.optional_vars]
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def _source_file(obj: Any) -> str | None:
    if isinstance(obj, types.FunctionType):
        return obj.__code__.co_filename
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    return getattr(module, "__file__", None)


def _module_file(name: str) -> str | None:
    """File of module ``name`` without importing it (importing has side effects)."""
    locations = None
    origin = None
    parts = name.split(".")
    for index in range(len(parts)):
        dotted = ".".join(parts[: index + 1])
        if index and locations is None:  # the parent is a plain module, not a package
            return None
        module = sys.modules.get(dotted)
        if module is not None:
            origin, locations = getattr(module, "__file__", None), getattr(module, "__path__", None)
            continue
        try:
            spec = importlib.machinery.PathFinder.find_spec(dotted, locations)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        origin, locations = spec.origin, spec.submodule_search_locations
    return origin
