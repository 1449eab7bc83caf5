"""What counts as project code: files under the project root, outside installed code."""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
import types
from pathlib import Path
from typing import Any


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


def _is_local_function(fn: types.FunctionType, root: Path) -> bool:
    filename = fn.__code__.co_filename
    if os.path.isfile(filename):
        return _is_local_path(filename, root)
    return _is_local_module_name(fn.__module__, root)  # exec/REPL code: local if its module is


def _is_local_module_name(module_name: str | None, root: Path) -> bool:
    if module_name is None:  # exec'd code with bare globals
        return True
    module = sys.modules.get(module_name)
    if isinstance(getattr(module, "__file__", None), str):
        return _is_local_module(module, root)
    return module_name == "__main__"  # a REPL or notebook session: the user's own code


def _is_local_module(module: Any, root: Path) -> bool:
    filename = getattr(module, "__file__", None)
    return isinstance(filename, str) and _is_local_path(filename, root)


@functools.lru_cache(maxsize=1024)
def _installed(module_name: str | None) -> tuple[str, str] | None:
    """``(distribution, version)`` of the installed package providing ``module_name``; None
    for the standard library, Consist itself, code typed at a prompt and unknown modules."""
    top = (module_name or "").partition(".")[0]
    if not top or top in sys.stdlib_module_names or top in ("builtins", "__main__", "consist"):
        return None
    from importlib import metadata  # only when code outside the project is referenced

    names = [top]
    try:
        dist = metadata.distribution(top)  # the usual case: import name == distribution name
    except metadata.PackageNotFoundError:
        names = _import_names().get(top, [])
        dist = None
        for name in names:
            try:
                dist = metadata.distribution(name)
                break
            except metadata.PackageNotFoundError:
                continue
    if dist is not None:
        return dist.metadata["Name"] or names[0], dist.version
    version = getattr(sys.modules.get(top), "__version__", None)
    return (top, version) if isinstance(version, str) else None


@functools.lru_cache(maxsize=1)
def _import_names() -> dict[str, list[str]]:
    from importlib import metadata

    return dict(metadata.packages_distributions())
