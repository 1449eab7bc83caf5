"""The dependency walk behind ``deps``: from a step's code to everything it references.

Starting from the step's targets, each function, class or module-level statement is digested
and the names it references are resolved (through closures, module attributes and
function-level imports) until only code outside the project remains. Constants are recorded
by where to read them back, and every lookup is guarded, so the memo can revalidate cheaply.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

from consist.core.identity._bytecode import _bytecode_hex, _is_current, _methods_hex
from consist.core.identity._locality import (
    _installed,
    _is_local_function,
    _is_local_module,
    _is_local_module_name,
    _is_local_path,
)
from consist.core.identity._memo import _Static
from consist.core.identity._references import (
    _code_refs,
    _rebound,
    _references,
    _Refs,
    _union,
    _without_locals,
)
from consist.core.identity._source import (
    _class_node,
    _dump_hex,
    _function_node,
    _module_file,
    _module_tree,
    _source_file,
    _stat,
)
from consist.core.identity._values import (
    _ATTR,
    _CELL,
    _DICT,
    _MISSING,
    _captured,
    _is_code,
    _is_simple,
    _partial_token,
    _qualified,
    _read,
)
from consist.core.identity.canonical import canonical_bytes

_SCHEME = b"consist-code-v1\x00"  # prefixes every code digest, in code.py too


class _Analysis:
    """One walk from a step's targets over the project code and constants they reference."""

    def __init__(self, root: Path, follow: bool) -> None:
        self.root, self.follow = root, follow
        self.units: dict[Any, tuple[str, str, str]] = {}  # key -> (label, kind, hex digest)
        self.files: dict[str, tuple[int, int]] = {}
        self.guards: dict[tuple[int, Any], tuple[int, Any, Any, Any]] = {}
        self.constants: dict[tuple[int, Any], tuple[bytes, int, Any, Any, type, str]] = {}
        # (references, globals, closure cells, names the code rebinds itself)
        self.queue: list[
            tuple[_Refs, dict[str, Any], dict[str, tuple[Any, str]], frozenset[str]]
        ] = []
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
        return _Static(
            digest,
            mode if exact else "bytecode",
            tuple(roots + labels),
            tuple(self.files.items()),
            tuple(self.guards.values()),
            tuple(constants),
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
            digest, refs = _dump_hex(node), _without_locals(_references([node]), code)
            if not _is_current(code):  # source on disk is not what runs: add what runs
                digest += ":" + _bytecode_hex(fn)
                refs = _union(refs, _code_refs(code))
            self.units[id(fn)] = (label, "source", digest)
            self._record(code.co_filename, signature)
        if self.follow:
            cells = zip(code.co_freevars, fn.__closure__ or (), strict=False)
            named = {n: (c, f"{label}.<{n}>") for n, c in cells}
            self.queue.append((refs, fn.__globals__, named, _rebound(code)))
            if hasattr(fn, "__wrapped__"):
                self._classify(fn.__wrapped__, None, explicit=True)

    def _class(self, cls: type) -> bool:
        """Fold in a class; False when it has no source and its methods' bytecode stood in."""
        if id(cls) in self.units:
            return self.units[id(cls)][1] == "source"
        self.keep.append(cls)
        filename = _source_file(cls)
        signature = _stat(filename) if filename else None
        node = _class_node(cls, filename)
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
            self.queue.append((refs, namespace, {}, frozenset()))
        return node is not None

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
        self.queue.append((_references(list(statements)), namespace, {}, frozenset()))

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

    def _resolve(
        self,
        refs: _Refs,
        namespace: dict,
        cells: dict[str, tuple[Any, str]],
        rebound: frozenset[str],
    ) -> None:
        for name in sorted(refs.names - rebound):
            self._classify(*self._lookup(name, namespace, cells))
        for chain in sorted(refs.chains):
            if chain[0] not in rebound:
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
            if not isinstance(value, types.ModuleType) or not _is_local_module(value, self.root):
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
            if explicit or _is_local_function(value, self.root):
                self._function(value)
            elif hasattr(value, "__wrapped__"):  # a third-party decorator on project code
                self._classify(value.__wrapped__, None)
            else:
                self._distribution(value.__module__)
        elif isinstance(value, type):
            if not _is_local_module_name(value.__module__, self.root):
                self._distribution(value.__module__)
            elif not self._class(value) and where:
                self._statement_at(where)
        elif isinstance(value, types.ModuleType):
            if _is_local_module(value, self.root):  # used whole (getattr(mod, name)): all of it
                self._file(str(value.__file__))
            else:
                self._distribution(value.__name__)
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
        if _is_local_module_name(type(value).__module__, self.root):
            self._class(type(value))
        else:
            self._distribution(type(value).__module__)
        # An object's state counts like a constant's value where it can be digested; else
        # the statement that made it stands in.
        if where is not None and not self._constant(value, where):
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
        if kind == _CELL:
            label, shown = key, "closure." + key.rpartition(".<")[2].rstrip(">")
        else:
            label = f"{container.get('__name__')}.{key}"
            shown = "global." + label
        try:
            _captured(value)
        except TypeError:  # e.g. keys that collide once canonical: treat as an object
            return False
        read_key = None if kind == _CELL else key
        self.constants[(id(container), read_key)] = (
            f"{label}=".encode(),
            kind,
            container,
            read_key,
            type(value),
            shown,
        )
        return True

    def _distribution(self, module_name: str | None) -> None:
        """Fold in the name and version of the installed distribution providing a module
        outside the project (its source is not followed; an upgrade still counts)."""
        found = _installed(module_name)
        if found is not None:
            self.units[("dist", found[0])] = (f"dist:{found[0]}", "dist", found[1])
