"""Code identity of a step's callable: which code runs, as a digest.

``deps`` folds in the step's AST-normalised source and, transitively, every project-local
function, class and module-level constant it references, so editing a helper is a miss and
editing a comment is not. The static part (normalised sources, what each name resolves to)
is memoised per callable and revalidated on every call by stat-ing the files involved and
checking that every resolved name still points at the same object; constants are re-read
from their namespaces on every call, so rebinding or mutating one changes the identity.
"""

from __future__ import annotations

import ast
import enum
import functools
import hashlib
import importlib.machinery
import importlib.util
import inspect
import linecache
import os
import sys
import sysconfig
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from consist.core.errors import OptionValueError
from consist.core.identity.canonical import canonical_bytes

__all__ = ["MODES", "CodeIdentity", "code_identity", "module_identity"]

MODES: tuple[str, ...] = ("deps", "source", "module")
_SCHEME = b"consist-code-v1\x00"
_MEMO_LIMIT = 4096
_MISSING: Any = object()
_DICT, _CELL, _ATTR = 0, 1, 2  # how a guard or constant reads its value back


@dataclass(frozen=True, slots=True)
class CodeIdentity:
    """The identity of a step's code.

    Attributes
    ----------
    digest
        ``"sha256:<hex>"``.
    mode
        ``"deps"``, ``"source"``, ``"module"``, ``"bytecode"`` or ``"literal"``.
    detail
        Qualified names of what was folded in, to explain cache misses.
    """

    digest: str
    mode: str
    detail: tuple[str, ...] = ()


def code_identity(fn: Any, mode: str, *, project_root: Path) -> CodeIdentity:
    """Identity of the code that calling ``fn`` runs.

    Parameters
    ----------
    fn
        A function, lambda, bound method, ``functools.partial``, decorated function, class
        or callable instance.
    mode
        ``"deps"`` (the callable plus the project-local code and constants it references,
        transitively), ``"source"`` (its own source only) or ``"module"`` (its module file).
    project_root
        Code under this directory, outside site-packages, the stdlib and Consist, is the
        project code that ``deps`` follows.

    Returns
    -------
    CodeIdentity
        Its ``mode`` is ``"bytecode"`` when the source of ``fn`` is unavailable (REPL,
        ``exec``, builtins) and the compiled code was digested instead.

    Raises
    ------
    OptionValueError
        If ``mode`` is not one of :data:`MODES`.
    """
    if mode not in MODES:
        hint = "Literal versions and 'git' are resolved by the caller."
        raise OptionValueError("code_identity", mode, MODES, hint)
    targets, partials = _targets(fn, follow=mode == "deps")
    tokens = [_partial_token(p) for p in partials]
    root = _root(project_root)
    if mode == "module":
        return _with_tokens(_module_mode(targets, root), tokens)
    entry = _memoised(targets, root, mode)
    constants = entry.constant_tokens()
    if constants is None:  # a constant changed type: redo the static analysis once
        entry = _memoised(targets, root, mode, force=True)
        # Still unreadable (mutated concurrently): never reuse, rather than guess.
        constants = entry.constant_tokens() or [b"unstable:" + os.urandom(16)]
    return _with_tokens(entry.identity, constants + tokens)


def module_identity(path: Path) -> CodeIdentity:
    """Identity of a Python source file: its AST with docstrings stripped.

    Parameters
    ----------
    path
        A ``.py`` file. A file that does not parse is digested byte for byte.

    Returns
    -------
    CodeIdentity
        Mode ``"module"``; ``detail`` holds the path.

    Raises
    ------
    FileNotFoundError
        If ``path`` cannot be read.
    """
    filename = os.fspath(path)
    parsed = _module_tree(filename)
    if parsed is None:
        raise FileNotFoundError(filename)
    digest = hashlib.sha256(_SCHEME + b"module\x00" + parsed.digest.encode()).hexdigest()
    return CodeIdentity("sha256:" + digest, "module", (filename,))


# -- memo -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Static:
    """The memoised static analysis of one callable, and how to check it is still valid."""

    identity: CodeIdentity
    files: tuple[tuple[str, tuple[int, int]], ...]
    guards: tuple[tuple[int, Any, Any, Any], ...]
    constants: tuple[tuple[bytes, int, Any, Any, type], ...]

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

    def constant_tokens(self) -> list[bytes] | None:
        tokens = []
        for label, kind, container, key, expected_type in self.constants:
            value = _read(kind, container, key)
            if type(value) is not expected_type:
                return None
            try:
                tokens.append(label + _constant_bytes(value))
            except TypeError:
                return None
        return tokens


_MEMO: dict[tuple[Any, ...], _Static] = {}


def _memoised(targets: tuple, root: Path, mode: str, force: bool = False) -> _Static:
    # Keys hold the functions themselves (not ids), so an id can never be reused while
    # its entry lives; the size bound keeps that from leaking.
    key = (mode, root, targets)
    entry = None if force else _MEMO.get(key)
    if entry is None or not entry.valid():
        entry = _Analysis(root, follow=mode == "deps").identity(targets, mode)
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[key] = entry
    return entry


def _read(kind: int, container: Any, key: Any) -> Any:
    if kind == _DICT:
        return container.get(key, _MISSING)
    if kind == _CELL:
        try:
            return container.cell_contents
        except ValueError:  # an empty cell
            return _MISSING
    return getattr(container, key, _MISSING)


def _with_tokens(identity: CodeIdentity, tokens: list[bytes]) -> CodeIdentity:
    if not tokens:
        return identity
    data = [_SCHEME, identity.digest.encode()]
    for token in tokens:
        data += [b"%d:" % len(token), token]  # length prefixes keep the join injective
    digest = "sha256:" + hashlib.sha256(b"".join(data)).hexdigest()
    return CodeIdentity(digest, identity.mode, identity.detail)


@functools.lru_cache(maxsize=64)
def _absolute_root(text: str) -> Path:
    return Path(text).resolve()


def _root(project_root: Path) -> Path:
    # Resolving costs syscalls: absolute roots are memoised; relative ones follow the cwd.
    text = os.fspath(project_root)
    return _absolute_root(text) if os.path.isabs(text) else Path(text).resolve()


def _module_mode(targets: tuple, root: Path) -> CodeIdentity:
    # The innermost target: for a decorated step that is the user's function, whose module
    # is meant, rather than the module of the decorator's wrapper.
    code_targets = [obj for kind, obj in targets if kind in ("function", "class")]
    filename = _source_file(code_targets[-1]) if code_targets else None
    if filename is not None and os.path.isfile(filename):
        return module_identity(Path(filename))
    return _memoised(targets, root, "source").identity  # no module file: own source/bytecode


# -- decomposing the callable -----------------------------------------------------------


def _targets(fn: Any, *, follow: bool) -> tuple[tuple[tuple[str, Any], ...], list[Any]]:
    """Static targets (the memo key) and partials (whose arguments are read per call)."""
    targets: list[tuple[str, Any]] = []
    partials: list[Any] = []
    _collect(fn, targets, partials, follow, 0)
    return tuple(targets), partials


def _collect(fn: Any, targets: list, partials: list, follow: bool, depth: int) -> None:
    if depth > 16:  # a __wrapped__/partial chain this long is a cycle in practice
        return
    if isinstance(fn, functools.partial):
        partials.append(fn)
        if follow:  # callables passed as partial arguments are code the step runs
            targets += [("ref", v) for v in (*fn.args, *fn.keywords.values()) if _is_code(v)]
        _collect(fn.func, targets, partials, follow, depth + 1)
    elif isinstance(fn, types.MethodType):
        # The instance is not part of identity but its class is: ``self.other()`` calls
        # cannot be resolved statically, so the class source stands in for them.
        owner = fn.__self__
        if follow:
            targets.append(("ref", owner if isinstance(owner, type) else type(owner)))
        _collect(fn.__func__, targets, partials, follow, depth + 1)
    elif isinstance(fn, type):
        targets.append(("class", fn))
    elif isinstance(fn, types.FunctionType):
        targets.append(("function", fn))
        if hasattr(fn, "__wrapped__"):
            _collect(fn.__wrapped__, targets, partials, follow, depth + 1)
    elif hasattr(fn, "__wrapped__"):  # C-level wrappers such as functools.lru_cache
        _collect(fn.__wrapped__, targets, partials, follow, depth + 1)
    elif isinstance(call := _inherited_call(fn), types.FunctionType):
        targets.append(("function", call))
        if follow:
            targets.append(("ref", type(fn)))
    else:
        targets.append(("builtin", _qualified(fn)))


def _inherited_call(fn: Any) -> Any:
    for klass in type(fn).__mro__:
        if "__call__" in vars(klass):
            return vars(klass)["__call__"]
    return None


def _is_code(value: Any) -> bool:
    return isinstance(value, types.FunctionType | types.MethodType | type | functools.partial)


def _qualified(obj: Any) -> str:
    owner = getattr(obj, "__module__", None) or type(obj).__module__
    return f"{owner}.{getattr(obj, '__qualname__', None) or type(obj).__qualname__}"


def _partial_token(partial: functools.partial) -> bytes:
    try:
        args = [list(partial.args), dict(partial.keywords)]
        return b"partial:" + canonical_bytes(args, fallback=_standin)
    except TypeError:
        # Live objects have no stable digest; like fn_args they count by type only.
        names = [type(a).__qualname__ for a in partial.args]
        names += [f"{k}={type(v).__qualname__}" for k, v in sorted(partial.keywords.items())]
        return b"partial-types:" + repr(names).encode()


def _standin(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return ["\x00bytes", bytes(value).hex()]
    if callable(value):  # their code is folded in as a dependency; here only the name
        return "\x00callable:" + _qualified(value)
    return None


def _constant_bytes(value: Any) -> bytes:
    # The type is part of a constant's identity: 1 and 1.0 behave differently in code.
    name = type(value).__qualname__
    if isinstance(value, enum.Enum):
        name += "." + value.name
    return name.encode() + b"=" + canonical_bytes(value, fallback=_standin)


def _is_simple(value: Any, depth: int = 0) -> bool:
    if value is None or isinstance(value, bool | int | float | str | bytes | enum.Enum):
        return True
    if depth > 32:  # also stops self-containing lists
        return False
    if isinstance(value, tuple | list | set | frozenset):
        return all(_is_simple(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(_is_simple(k, depth + 1) and _is_simple(v, depth + 1) for k, v in value.items())
    return False


# -- source, AST and bytecode -----------------------------------------------------------


class _Refs(NamedTuple):
    names: frozenset[str]
    chains: frozenset[tuple[str, ...]]
    imports: frozenset[tuple[str, int]]  # (dotted module name or relative name, level)


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


def _function_node(code: types.CodeType) -> ast.AST | None:
    linecache.checkcache(code.co_filename)  # re-read files edited since they were cached
    try:
        tree = _parse(inspect.getsource(code))  # a code object: no __wrapped__ unwrapping
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


def _arguments_match(args: ast.arguments, code: types.CodeType) -> bool:
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return tuple(names) == code.co_varnames[: len(names)]


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


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _union(*refs: _Refs) -> _Refs:
    return _Refs(
        frozenset().union(*(r.names for r in refs)),
        frozenset().union(*(r.chains for r in refs)),
        frozenset().union(*(r.imports for r in refs)),
    )


def _methods_hex(methods: list[types.FunctionType]) -> str:
    return hashlib.sha256(
        repr([(m.__name__, _bytecode_hex(m)) for m in methods]).encode()
    ).hexdigest()


def _code_refs(code: types.CodeType) -> _Refs:
    # Without source, co_names mixes globals and attribute names: try every pairing.
    names = _code_names(code)
    chains = frozenset((a, b) for a in names for b in names if a != b)
    return _Refs(frozenset(names | set(code.co_freevars)), chains, frozenset())


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


# -- what counts as project code --------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _excluded_dirs() -> tuple[Path, ...]:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    dirs = {Path(__file__).resolve().parents[2]}  # the consist package itself
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        dirs |= {Path(prefix, "lib", version), Path(prefix, "Lib")}
    paths = sysconfig.get_paths()
    dirs |= {Path(paths[k]) for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return tuple(d.resolve() for d in dirs)


@functools.lru_cache(maxsize=8192)
def _is_local_path(filename: str, root: Path) -> bool:
    path = Path(filename).resolve()
    if not path.is_relative_to(root):
        return False
    if {"site-packages", "dist-packages"} & set(path.relative_to(root).parts):
        return False
    # An excluded dir that contains the root itself (a project inside a prefix) is ignored.
    excluded = [d for d in _excluded_dirs() if not root.is_relative_to(d)]
    return not any(path.is_relative_to(d) for d in excluded)


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


# -- the static analysis ----------------------------------------------------------------


class _Analysis:
    """One walk from a step's targets over the project code and constants they reference."""

    def __init__(self, root: Path, follow: bool) -> None:
        self.root, self.follow = root, follow
        self.units: dict[Any, tuple[str, str, str]] = {}  # key -> (label, kind, hex digest)
        self.files: dict[str, tuple[int, int]] = {}
        self.guards: dict[tuple[int, Any], tuple[int, Any, Any, Any]] = {}
        self.constants: dict[tuple[int, Any], tuple[bytes, int, Any, Any, type]] = {}
        self.queue: list[tuple[_Refs, dict[str, Any], dict[str, tuple[Any, str]]]] = []
        self.keep: list[Any] = []  # keeps visited objects alive so their ids stay unique

    def identity(self, targets: tuple[tuple[str, Any], ...], mode: str) -> _Static:
        roots, exact = self._roots(targets)
        while self.queue:
            self._resolve(*self.queue.pop())
        units = sorted(self.units.values())
        constants = sorted(self.constants.values(), key=lambda c: c[0])
        payload = canonical_bytes(
            [mode, roots, [list(u) for u in units], [c[0].decode() for c in constants]]
        )
        digest = "sha256:" + hashlib.sha256(_SCHEME + payload).hexdigest()
        labels = sorted({u[0] for u in units} - set(roots)) + [
            c[0][:-1].decode() for c in constants
        ]
        identity = CodeIdentity(digest, mode if exact else "bytecode", tuple(roots + labels))
        return _Static(
            identity, tuple(self.files.items()), tuple(self.guards.values()), tuple(constants)
        )

    def _roots(self, targets: tuple[tuple[str, Any], ...]) -> tuple[list[str], bool]:
        roots: list[str] = []
        exact = True  # False once a root had to be digested as bytecode
        for kind, obj in targets:
            if kind == "ref":
                self._classify(obj, None)
                continue
            if kind == "builtin":
                self.units[("builtin", obj)] = (obj, "builtin", "")
                roots.append(obj)
                exact = False
                continue
            key = id(obj)
            if kind == "function":
                self._function(obj)
            elif not self._class(obj):
                exact = False
            roots.append(self.units[key][0])
            exact = exact and self.units[key][1] == "source"
        return roots, exact

    # -- units ----------------------------------------------------------------------------

    def _function(self, fn: types.FunctionType) -> None:
        if id(fn) in self.units:
            return
        self.keep.append(fn)
        code = fn.__code__
        self._guard(_ATTR, fn, "__code__", code)  # fn.__code__ can be reassigned
        # Named after where the code was defined: functools.wraps copies the wrapped
        # function's names onto a wrapper, which would make the two indistinguishable.
        label = f"{fn.__globals__.get('__name__')}.{code.co_qualname}"
        signature = _stat(code.co_filename)
        node = _function_node(code)
        if node is None:
            self.units[id(fn)] = (label, "bytecode", _bytecode_hex(fn))
            refs = _code_refs(code)
        else:
            digest, refs = _dump_hex(node), _references([node])
            if not _is_current(code):  # source on disk is not what runs: add what runs
                digest += ":" + _bytecode_hex(fn)
                refs = _union(refs, _code_refs(code))
            self.units[id(fn)] = (label, "source", digest)
            self._record(code.co_filename, signature)
        if self.follow:
            cells = zip(code.co_freevars, fn.__closure__ or (), strict=False)
            self.queue.append((refs, fn.__globals__, {n: (c, f"{label}.<{n}>") for n, c in cells}))
            if hasattr(fn, "__wrapped__"):
                self._classify(fn.__wrapped__, None, explicit=True)

    def _class(self, cls: type) -> bool:
        """Fold in a class; False when it has no source and its methods' bytecode stood in."""
        if id(cls) in self.units:
            return self.units[id(cls)][1] == "source"
        self.keep.append(cls)
        filename = _source_file(cls)
        signature = _stat(filename) if filename else None
        node = self._class_node(cls, filename)
        namespace = getattr(sys.modules.get(cls.__module__), "__dict__", {})
        methods = [v for _, v in sorted(vars(cls).items()) if isinstance(v, types.FunctionType)]
        if node is not None:
            digest, refs = _dump_hex(node), _references([node])
            if not all(_is_current(m.__code__) for m in methods):  # see _function
                digest += ":" + _methods_hex(methods)
                refs = _union(refs, *(_code_refs(m.__code__) for m in methods))
            self.units[id(cls)] = (_qualified(cls), "source", digest)
            self._record(filename, signature)
        else:
            self.units[id(cls)] = (_qualified(cls), "bytecode", _methods_hex(methods))
            refs = _union(*(_code_refs(m.__code__) for m in methods))
        if self.follow:
            self.queue.append((refs, namespace, {}))
        return node is not None

    @staticmethod
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

    def _statement(self, namespace: dict[str, Any], name: str) -> None:
        """Fold in the module-level statements that bind ``name`` (objects without source)."""
        filename = namespace.get("__file__")
        key = ("statement", filename, name)
        if key in self.units or not isinstance(filename, str):
            return
        if not _is_local_path(filename, self.root):
            return
        parsed = _module_tree(filename)
        statements = parsed.bindings.get(name) if parsed is not None else None
        label = f"{namespace.get('__name__')}.{name}"
        if not statements:
            self.units[key] = (label, "opaque", type(namespace.get(name)).__qualname__)
            return
        self._record(filename, _stat(filename))
        self.units[key] = (label, "statement", _dump_hex(*statements))
        self.queue.append((_references(list(statements)), namespace, {}))

    def _file(self, filename: str) -> None:
        key = ("file", filename)
        if key in self.units or not _is_local_path(filename, self.root):
            return
        signature = _stat(filename)
        parsed = _module_tree(filename)
        if parsed is not None:
            self._record(filename, signature)
            # Labels are hashed: relative to the root, so a moved checkout keeps its identity.
            label = Path(filename).resolve().relative_to(self.root).as_posix()
            self.units[key] = (label, "module", parsed.digest)

    def _record(self, filename: str | None, signature: tuple[int, int] | None) -> None:
        if filename is not None and signature is not None:  # virtual files cannot be stat-ed
            self.files.setdefault(filename, signature)

    def _guard(self, kind: int, container: Any, key: Any, expected: Any) -> None:
        self.guards[(id(container), key)] = (kind, container, key, expected)

    # -- resolving references --------------------------------------------------------------

    def _resolve(self, refs: _Refs, namespace: dict, cells: dict[str, tuple[Any, str]]) -> None:
        for name in sorted(refs.names):
            self._classify(*self._lookup(name, namespace, cells))
        for chain in sorted(refs.chains):
            self._follow_chain(chain, namespace, cells)
        for name, level in sorted(refs.imports):
            self._import(name, level, namespace)

    def _lookup(self, name: str, namespace: dict, cells: dict) -> tuple[Any, tuple | None]:
        if name in cells:
            cell, label = cells[name]
            value = _read(_CELL, cell, None)
            self._guard(_CELL, cell, None, value)
            return value, (_CELL, cell, label)
        value = namespace.get(name, _MISSING)
        self._guard(_DICT, namespace, name, value)  # also guards absence (builtins, locals)
        return value, (_DICT, namespace, name)

    def _follow_chain(self, chain: tuple[str, ...], namespace: dict, cells: dict) -> None:
        value, where = self._lookup(chain[0], namespace, cells)
        for attr in chain[1:]:
            if not isinstance(value, types.ModuleType) or not self._local_module(value):
                break
            members = vars(value)
            value = members.get(attr, _MISSING)
            self._guard(_DICT, members, attr, value)
            where = (_DICT, members, attr)
        self._classify(value, where)

    def _import(self, name: str, level: int, namespace: dict) -> None:
        # Imports inside functions are followed by file, never by object: the module may
        # not be imported yet, and the identity must not depend on whether it is.
        if level:
            try:
                name = importlib.util.resolve_name("." * level + name, namespace.get("__package__"))
            except (ImportError, ValueError):
                return
        filename = _module_file(name.rstrip("."))
        if filename is not None and filename.endswith(".py"):
            self._file(filename)

    def _classify(self, value: Any, where: tuple | None, explicit: bool = False) -> None:
        if value is _MISSING:
            return
        if isinstance(value, types.FunctionType):
            if explicit or self._local_function(value):
                self._function(value)
            elif hasattr(value, "__wrapped__"):  # a third-party decorator on project code
                self._classify(value.__wrapped__, None)
        elif isinstance(value, type):
            if self._local_name(value.__module__) and not self._class(value) and where:
                self._statement_at(where)
        elif isinstance(value, types.ModuleType):
            if self._local_module(value):  # used whole (getattr(mod, name)): all of it
                self._file(str(value.__file__))
        elif isinstance(value, functools.partial | types.MethodType):
            self._classify_compound(value, where)
        elif _is_simple(value) and where is not None and self._constant(value, where):
            return
        else:
            self._classify_object(value, where)

    def _classify_compound(self, value: Any, where: tuple | None) -> None:
        if isinstance(value, functools.partial):
            self._classify(value.func, None)
            for arg in (*value.args, *value.keywords.values()):
                if _is_code(arg):
                    self._classify(arg, None)
            label = f"<partial {_qualified(value.func)}>"
            self.units[("partial", id(value))] = (label, "partial", _partial_token(value).hex())
            self.keep.append(value)
        else:
            owner = value.__self__
            self._classify(value.__func__, None)
            self._classify(owner if isinstance(owner, type) else type(owner), None)

    def _classify_object(self, value: Any, where: tuple | None) -> None:
        if hasattr(value, "__wrapped__") and not isinstance(value, type):
            self._classify(value.__wrapped__, None)
        if self._local_name(type(value).__module__):
            self._class(type(value))
        if where is not None:
            self._statement_at(where)

    def _statement_at(self, where: tuple) -> None:
        kind, container, label = where
        if kind == _DICT:
            self._statement(container, label)
        else:  # a closure value with no source: only its type can be recorded
            self.units[("opaque", id(container))] = (
                label,
                "opaque",
                type(_read(kind, container, None)).__qualname__,
            )

    def _constant(self, value: Any, where: tuple) -> bool:
        kind, container, key = where
        label = key if kind == _CELL else f"{container.get('__name__')}.{key}"
        try:
            _constant_bytes(value)
        except TypeError:  # e.g. keys that collide once canonical: treat as an object
            return False
        read_key = None if kind == _CELL else key
        self.constants[(id(container), read_key)] = (
            f"{label}=".encode(),
            kind,
            container,
            read_key,
            type(value),
        )
        return True

    # -- locality ---------------------------------------------------------------------------

    def _local_function(self, fn: types.FunctionType) -> bool:
        filename = fn.__code__.co_filename
        if os.path.isfile(filename):
            return _is_local_path(filename, self.root)
        return self._local_name(fn.__module__)  # exec/REPL code: local if its module is

    def _local_name(self, module_name: str | None) -> bool:
        if module_name is None:  # exec'd code with bare globals
            return True
        module = sys.modules.get(module_name)
        if isinstance(getattr(module, "__file__", None), str):
            return self._local_module(module)
        return module_name == "__main__"  # a REPL or notebook session: the user's own code

    def _local_module(self, module: Any) -> bool:
        filename = getattr(module, "__file__", None)
        return isinstance(filename, str) and _is_local_path(filename, self.root)
