"""Assembling a step's code identity from the tracker's ``code_identity`` setting, and the
identity of the values bound to its call."""

from __future__ import annotations

import functools
import hashlib
import linecache
import subprocess
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consist.api.options import CODE_IDENTITY_MODES
from consist.core.identity import code_identity as core_code_identity
from consist.core.identity import module_identity
from consist.core.identity.arguments import arguments_identity, block_arguments_identity
from consist.core.identity.block_reads import block_reads
from consist.core.identity.canonical import Fallback
from consist.core.identity.code import project_root_of, root_of_file
from consist.core.identity.signature import literal_code_identity

MODES = CODE_IDENTITY_MODES


@dataclass(frozen=True, slots=True)
class StepIdentity:
    """The code and arguments components of a function-shaped step's signature."""

    code_digest: str
    code_mode: str
    arguments_digest: str = ""
    #: What was folded in beyond the config, for explanations (None: nothing).
    detail: dict[str, Any] | None = field(default=None)


def step_identity(
    fn: Callable[..., Any],
    fn_args: Mapping[str, Any],
    setting: str,
    project_root: Path | None,
    fallback: Fallback | None,
) -> StepIdentity:
    """Code identity of ``fn`` and the identity of the values bound to its call.

    ``project_root`` None: the project is found from the step's own source file.
    """
    root = project_root if project_root is not None else project_root_of(fn)
    captured: tuple[tuple[str, str], ...] = ()
    if setting == "git":
        code_digest, code_mode = git_identity(root), "git"
    elif setting not in MODES:
        code_digest, code_mode = literal_code_identity(setting.removeprefix("version:")), "literal"
    else:
        mode = "deps" if setting == "auto" else setting
        identity = core_code_identity(fn, mode, project_root=root)
        code_digest, code_mode, captured = identity.digest, identity.mode, identity.captured

    def code_of(value: Any) -> str:  # a callable passed as an argument: its code counts
        return core_code_identity(value, "deps", project_root=root).digest

    bound = arguments_identity(fn, fn_args, fallback=fallback, code_digest=code_of)
    detail: dict[str, Any] = {}
    if bound.tree:
        detail["arguments"] = bound.shown
    if captured:
        detail["captured"] = dict(captured)
    return StepIdentity(code_digest, code_mode, bound.digest, detail or None)


def block_code_identity(
    setting: str, project_root: Path | None, caller: types.FrameType
) -> tuple[str, str]:
    """``(digest, mode)`` for a block recorded by hand (``trace``, ``start_run``, ``begin_run``).

    With ``"auto"`` (and the function-oriented modes, which have no function here) this is the
    source of the file containing the block; code typed at a prompt, which has no file, falls
    back to the bytecode of the calling frame.
    """
    path = Path(caller.f_code.co_filename)
    root = project_root if project_root is not None else root_of_file(path)
    if setting == "git":
        return git_identity(root), "git"
    if setting not in MODES:
        return literal_code_identity(setting.removeprefix("version:")), "literal"
    if path.is_file():
        return module_identity(path).digest, "module"
    standin = types.FunctionType(caller.f_code, caller.f_globals)
    identity = core_code_identity(standin, "source", project_root=root)
    return identity.digest, identity.mode


@dataclass(frozen=True, slots=True)
class BlockReadsIdentity:
    """The values a traced block reads from its surroundings, as a signature component."""

    digest: str
    #: What the run records for explanations: ``{"arguments": {"reads": {...}}}``.
    detail: dict[str, Any] | None
    #: Names read whose values have no stable digest (a scenario, a live connection...).
    unseen: tuple[str, ...]


def block_reads_identity(
    setting: str, project_root: Path | None, caller: types.FrameType, fallback: Fallback
) -> BlockReadsIdentity | None:
    """The identity of what the ``with`` block being entered in ``caller`` reads from outside
    itself; None when its source cannot be read (code typed at a prompt)."""
    filename = caller.f_code.co_filename
    lines = linecache.getlines(filename, caller.f_globals)
    reads = block_reads(filename, lines, caller.f_lineno) if lines else None
    if reads is None:
        return None
    root = project_root if project_root is not None else root_of_file(Path(filename))
    values = _read_values(reads.names, (caller.f_locals, caller.f_globals), root)
    follows_code = setting in ("auto", "deps")

    def code_of(value: Any) -> str:  # a function the block calls: its code counts
        return core_code_identity(value, "deps", project_root=root).digest if follows_code else ""

    identity, unseen = block_arguments_identity(
        values, fallback=fallback, code_digest=code_of, accumulators=reads.mutated
    )
    detail: dict[str, Any] = {}
    if identity.tree:
        detail["arguments"] = identity.shown
    if unseen:
        detail["unseen_reads"] = list(unseen)
    return BlockReadsIdentity(identity.digest, detail or None, unseen)


def _read_values(
    paths: tuple[str, ...], scopes: tuple[Mapping[str, Any], ...], root: Path
) -> dict[str, Any]:
    """The value of each read path, by the path as far as it was followed: through modules of
    the user's project (``helpers.scale`` is that function), never into other objects (a
    block reading ``params.alpha`` counts all of ``params``) or other libraries' modules."""
    values: dict[str, Any] = {}
    for path in paths:
        base, *members = path.split(".")
        scope = next((s for s in scopes if base in s), None)
        if scope is None:
            continue  # bound by the block itself later, or a NameError when it runs
        value, followed = scope[base], [base]
        for member in members:
            if not (isinstance(value, types.ModuleType) and _in_project(value, root)):
                break
            value = getattr(value, member, _ABSENT)
            followed.append(member)
        if value is not _ABSENT:
            values.setdefault(".".join(followed), value)
    return values


_ABSENT: Any = object()


def _in_project(module: types.ModuleType, root: Path) -> bool:
    source = getattr(module, "__file__", None)
    return source is not None and _file_under(source, str(root))


@functools.lru_cache(maxsize=1024)
def _file_under(source: str, root: str) -> bool:
    return Path(source).resolve().is_relative_to(Path(root).resolve())


def git_identity(project_root: Path) -> str:
    """Repository HEAD plus a digest of uncommitted changes to tracked files."""

    def git(*args: str) -> bytes:
        return subprocess.run(
            ["git", *args], cwd=project_root, capture_output=True, check=True, timeout=30
        ).stdout

    try:
        head = git("rev-parse", "HEAD").strip().decode()
        diff = git("diff", "HEAD", "--no-color", "--no-ext-diff", "--binary")
    except (OSError, subprocess.SubprocessError) as exc:
        from consist.core.errors import OptionValueError

        raise OptionValueError(
            "code_identity",
            "git",
            MODES,
            f"project_root {str(project_root)!r} is not a git checkout with a commit ({exc}); "
            "use code_identity='deps' or run 'git init && git commit'.",
        ) from exc
    return "git:" + head + ":" + hashlib.sha256(diff).hexdigest()
