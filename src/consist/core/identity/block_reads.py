"""What a ``with tracker.trace(...)`` block reads from its surroundings.

A traced block is not a function: it has no parameters, and its body reads whatever names
are in scope where it is written (a loop variable, a parameter object, a helper function, the
result of an earlier step). Each of those values reaches the block, so each counts for its
identity. This module finds them from the source: the names the body loads before binding
them itself, in evaluation order (``x = x + 1`` reads ``x``; ``if ...: y = f()`` then
``g(y)`` does not read an outer ``y``).

:func:`block_reads` parses each source file once per distinct text and remembers the answer
per ``with`` line, so a block in a loop costs one dictionary lookup after its first pass.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["BlockReads", "block_reads", "free_names"]

_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True, slots=True)
class BlockReads:
    """What a block reads from outside itself (names, or dotted paths such as
    ``helpers.scale`` when the block reads a member)."""

    names: tuple[str, ...]
    #: Names whose value the block changes in place (``results.append(x)``,
    #: ``totals[key] = v``): its own accumulators, which count as first seen.
    mutated: frozenset[str] = field(default=frozenset())


_PARSED: dict[str, tuple[Sequence[str], ast.Module | None]] = {}
_FOUND: dict[tuple[str, int], tuple[Sequence[str], BlockReads | None]] = {}
_LIMIT = 512


def block_reads(filename: str, lines: Sequence[str], line: int) -> BlockReads | None:
    """The outside names read by the ``with`` block whose header covers ``line`` of the
    source ``lines`` (as :mod:`linecache` returns them); None when the source has no such
    block or does not parse. ``lines`` is compared by identity to the list seen before,
    so an edited file (a new list from linecache) is parsed again."""
    found = _FOUND.get((filename, line))
    if found is not None and found[0] is lines:
        return found[1]
    module = _module(filename, lines)
    try:
        reads = None if module is None else _reads_at(module, line)
    except RecursionError:  # code nested deeper than the visitor can follow
        reads = None
    if len(_FOUND) >= _LIMIT:
        _FOUND.clear()
    _FOUND[(filename, line)] = (lines, reads)
    return reads


def _module(filename: str, lines: Sequence[str]) -> ast.Module | None:
    parsed = _PARSED.get(filename)
    if parsed is not None and parsed[0] is lines:
        return parsed[1]
    try:
        module: ast.Module | None = ast.parse("".join(lines), filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        module = None
    if len(_PARSED) >= _LIMIT:
        _PARSED.clear()
    _PARSED[filename] = (lines, module)
    return module


def _reads_at(module: ast.Module, line: int) -> BlockReads | None:
    best: ast.With | ast.AsyncWith | None = None
    for node in ast.walk(module):
        if isinstance(node, ast.With | ast.AsyncWith) and node.body:
            header_end = max(node.body[0].lineno - 1, node.lineno)
            if node.lineno <= line <= header_end and (best is None or node.lineno > best.lineno):
                best = node
    if best is None:
        return None
    targets = [n for item in best.items if item.optional_vars for n in _bound(item.optional_vars)]
    names = free_names(best.body, bound=targets)
    return BlockReads(names, mutated_names(best.body))


#: Methods that change their object in place (lists, dicts, sets, deques, queues, frames).
_MUTATORS = frozenset(
    {
        "append", "extend", "insert", "add", "update", "setdefault", "pop", "popitem",
        "remove", "discard", "clear", "appendleft", "extendleft", "sort", "reverse", "put",
    }
)  # fmt: skip


def mutated_names(body: Iterable[ast.stmt]) -> frozenset[str]:
    """Names whose value ``body`` changes in place: a mutating method called on them, an
    item or attribute assigned or deleted, or an augmented assignment."""
    found: set[str] = set()
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in _MUTATORS and isinstance(node.func.value, ast.Name):
                    found.add(node.func.value.id)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                found.add(node.target.id)
            elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
                targets = (
                    node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
                )
                for target in targets:
                    base = _base_of_item(target)
                    if base is not None:
                        found.add(base)
    return frozenset(found)


def _base_of_item(target: ast.AST) -> str | None:
    """``x`` for ``x[...]``, ``x.a`` or ``x.a[...].b``; None for a plain name or a tuple."""
    if not isinstance(target, ast.Subscript | ast.Attribute):
        return None
    node: ast.AST = target
    while isinstance(node, ast.Subscript | ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def free_names(body: Iterable[ast.stmt], bound: Iterable[str] = ()) -> tuple[str, ...]:
    """Names ``body`` loads that it has not bound before (builtins excluded), as dotted
    paths where it reads their members, in order of first use."""
    visitor = _Reads(set(bound))
    for statement in body:
        visitor.visit(statement)
    reads = dict.fromkeys(visitor.reads)
    return tuple(n for n in reads if n.partition(".")[0] not in _BUILTINS)


def _bound(target: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


class _Reads(ast.NodeVisitor):
    """Visits statements in evaluation order, collecting loads of names not yet bound."""

    def __init__(self, bound: set[str]) -> None:
        self.bound = bound
        self.reads: list[str] = []

    def visit_Attribute(self, node: ast.Attribute) -> None:
        # ``helpers.scale(...)`` reads ``helpers.scale``: a module's member is named in full,
        # so that the caller can follow it into the user's own modules.
        chain, base = [node.attr], node.value
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if not (isinstance(node.ctx, ast.Load) and isinstance(base, ast.Name)):
            self.generic_visit(node)
        elif base.id not in self.bound:
            self.reads.append(".".join([base.id, *reversed(chain)]))

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if node.id not in self.bound:
                self.reads.append(node.id)
        else:
            self.bound.add(node.id)

    # -- statements whose value is evaluated before their targets are bound ----------------
    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):  # x += 1 reads x first
            self.visit_Name(ast.Name(id=node.target.id, ctx=ast.Load()))
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.visit(item.optional_vars)
        for statement in node.body:
            self.visit(statement)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.bound.add(node.name)
        for statement in node.body:
            self.visit(statement)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            self.bound.add((alias.asname or alias.name).split(".")[0])

    visit_ImportFrom = visit_Import

    # -- nested scopes: their own parameters and locals are not outside reads -------------
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._nested(node.args, node.body)
        self.bound.add(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        self._nested(node.args, [ast.Expr(node.body)])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.bases, *node.keywords, *node.decorator_list]:
            self.visit(expression)
        self._nested(None, node.body)
        self.bound.add(node.name)

    def _nested(self, args: ast.arguments | None, body: Sequence[ast.AST]) -> None:
        params = set()
        if args is not None:
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            params = {a.arg for a in every if a is not None}
        local = {
            n.id for s in body for n in ast.walk(s) if isinstance(n, ast.Name) and not _loads(n)
        }
        inner = _Reads(self.bound | params | local)
        for statement in body:
            inner.visit(statement)
        self.reads.extend(inner.reads)

    def _comprehension(self, node: ast.AST, generators: list[ast.comprehension]) -> None:
        # The first iterable is evaluated outside; targets are local to the comprehension.
        inner = _Reads(set(self.bound))
        for position, generator in enumerate(generators):
            (self if position == 0 else inner).visit(generator.iter)
            inner.visit(generator.target)
            for condition in generator.ifs:
                inner.visit(condition)
        for part in ("elt", "key", "value"):
            child = getattr(node, part, None)
            if child is not None:
                inner.visit(child)
        self.reads.extend(inner.reads)

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node, node.generators)

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._comprehension(node, node.generators)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._comprehension(node, node.generators)

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, node.generators)


def _loads(node: ast.Name) -> bool:
    return isinstance(node.ctx, ast.Load)
