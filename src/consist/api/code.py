"""Assembling a step's code identity from the tracker's ``code_identity`` setting."""

from __future__ import annotations

import hashlib
import subprocess
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from consist.api.options import CODE_IDENTITY_MODES
from consist.core.identity import code_identity as core_code_identity
from consist.core.identity import module_identity
from consist.core.identity.signature import literal_code_identity

MODES = CODE_IDENTITY_MODES


def step_code_identity(fn: Callable[..., Any], setting: str, project_root: Path) -> tuple[str, str]:
    """``(digest, mode)`` for a function-shaped step."""
    if setting == "git":
        return git_identity(project_root), "git"
    if setting not in MODES:
        return literal_code_identity(setting.removeprefix("version:")), "literal"
    mode = "deps" if setting == "auto" else setting
    identity = core_code_identity(fn, mode, project_root=project_root)
    return identity.digest, identity.mode


def block_code_identity(
    setting: str, project_root: Path, caller: types.FrameType
) -> tuple[str, str]:
    """``(digest, mode)`` for a block recorded by hand (``trace``, ``start_run``, ``begin_run``).

    With ``"auto"`` (and the function-oriented modes, which have no function here) this is the
    source of the file containing the block; code typed at a prompt, which has no file, falls
    back to the bytecode of the calling frame.
    """
    if setting == "git":
        return git_identity(project_root), "git"
    if setting not in MODES:
        return literal_code_identity(setting.removeprefix("version:")), "literal"
    path = Path(caller.f_code.co_filename)
    if path.is_file():
        return module_identity(path).digest, "module"
    standin = types.FunctionType(caller.f_code, caller.f_globals)
    identity = core_code_identity(standin, "source", project_root=project_root)
    return identity.digest, identity.mode


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
