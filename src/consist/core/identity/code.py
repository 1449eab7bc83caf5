"""Code identity of a step's callable: which code runs, as a digest.

``deps`` folds in the step's AST-normalised source and, transitively, every project-local
function, class and module-level constant it references, so editing a helper is a miss and
editing a comment is not. The static part (normalised sources, what each name resolves to)
is memoised per callable and revalidated on every call by stat-ing the files involved and
checking that every resolved name still points at the same object; constants are re-read
from their namespaces on every call, so rebinding or mutating one changes the identity.

This module is the entry point. The work is split across private siblings: ``_targets``
(unwrapping the callable), ``_deps`` (the dependency walk), ``_memo`` (the memo and its
revalidation), ``_source``, ``_bytecode`` and ``_references`` (reading code),
``_values`` (digesting constants and partial arguments) and ``_locality`` (what counts as
project code).
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consist.core.errors import OptionValueError
from consist.core.identity._deps import _SCHEME, _Analysis
from consist.core.identity._memo import _memoised, _Static
from consist.core.identity._source import _module_tree, _source_file
from consist.core.identity._targets import _targets

__all__ = [
    "MODES",
    "CodeIdentity",
    "code_identity",
    "module_identity",
    "project_root_of",
    "root_of_file",
]

MODES: tuple[str, ...] = ("deps", "source", "module")


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
    captured
        ``(label, value as shown)`` of each captured value folded in (``closure.factor``,
        ``global.module.NAME``), so an explanation can say which one changed.
    """

    digest: str
    mode: str
    detail: tuple[str, ...] = ()
    captured: tuple[tuple[str, str], ...] = ()


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
        project code that ``deps`` follows (see :func:`project_root_of` for the default).

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
    targets, _bound = _targets(fn, follow=mode == "deps")  # bound values are arguments
    root = _root(project_root)
    if mode == "module":
        return _module_mode(targets, root)
    entry = _analysis(targets, root, mode)
    constants = entry.constant_tokens()
    if constants is None:  # a constant changed type: redo the static analysis once
        entry = _analysis(targets, root, mode, force=True)
        # Still unreadable (mutated concurrently): never reuse, rather than guess.
        constants = entry.constant_tokens() or ([b"unstable:" + os.urandom(16)], {})
    tokens, shown = constants
    identity = _with_tokens(_identity(entry), tokens)
    return CodeIdentity(identity.digest, identity.mode, identity.detail, tuple(shown.items()))


_ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


def project_root_of(fn: Any) -> Path:
    """The project a step belongs to, found from its own source file.

    The nearest ancestor of the file holding a ``pyproject.toml``, ``setup.cfg``,
    ``setup.py`` or ``.git``, else the file's own folder; code with no file (typed at a
    prompt) belongs to the current directory. It never depends on where the process was
    launched from, so a driver started from any folder follows the same helpers.
    """
    targets, _bound = _targets(fn, follow=False)
    code_targets = [obj for kind, obj in targets if kind in ("function", "class")]
    filename = _source_file(code_targets[-1]) if code_targets else None
    return root_of_file(filename)


def root_of_file(filename: str | os.PathLike[str] | None) -> Path:
    """The project holding source file ``filename`` (see :func:`project_root_of`)."""
    if filename is None or not os.path.isfile(filename):
        return Path.cwd()
    return _root_of_folder(os.path.dirname(os.path.abspath(filename)))


@functools.lru_cache(maxsize=256)
def _root_of_folder(folder: str) -> Path:
    here = Path(folder).resolve()
    for candidate in (here, *here.parents):
        if any((candidate / marker).exists() for marker in _ROOT_MARKERS):
            return candidate
    return here


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


def _analysis(targets: tuple, root: Path, mode: str, force: bool = False) -> _Static:
    """The static analysis of ``targets``: memoised, redone once the memo is stale."""
    return _memoised(
        (mode, root, targets),
        lambda: _Analysis(root, follow=mode == "deps").identity(targets, mode),
        force=force,
    )


def _identity(entry: _Static) -> CodeIdentity:
    # Built here, not by the analysis, so CodeIdentity stays defined in this public module
    # without the private modules importing it back (which would be an import cycle).
    return CodeIdentity(entry.digest, entry.mode, entry.detail)


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
    return _identity(_analysis(targets, root, "source"))  # no module file: own source/bytecode
