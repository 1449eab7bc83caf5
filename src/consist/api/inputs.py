"""Turning the user's ``inputs=`` / ``depends_on=`` / ``hash_inputs=`` into input references."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from consist.core.errors import (
    ArgumentError,
    ArgumentTypeError,
    InputNotFoundError,
    SpecialFileError,
    has_credentials,
    redact,
)
from consist.core.inputs import InputRef, Role
from consist.core.model import Artifact, validate_key
from consist.core.workspace import Workspace, absolute


def _local(value: str | os.PathLike[str], workspace: Workspace, key: str, what: str) -> Path:
    text = os.fspath(value)
    if "://" in text:
        if has_credentials(text):
            # The input's address is recorded (database, snapshots): never a password.
            raise ArgumentError(
                f"{what} {key!r} is {redact(text)!r}, a URL with a user name and password in "
                "it, which Consist would record in plain text with the run. Pass the address "
                "without them and give credentials through the environment instead."
            )
        return workspace.to_path(text)
    return absolute(text)


_ENTRY_KINDS = "a path (str or Path), an Artifact, or a (key, path) pair"


def _default_key(value: Any, what: str) -> str:
    if isinstance(value, Artifact):
        return value.key
    if not isinstance(value, (str, os.PathLike)):
        raise ArgumentTypeError(
            f"{what} holds {value!r:.80} ({type(value).__name__}); each entry must be "
            f"{_ENTRY_KINDS}."
        )
    path = Path(os.fspath(value))
    return path.stem or path.name


def named_values(
    values: Iterable[Any] | Mapping[str, Any], what: str = "inputs"
) -> list[tuple[str, Any]]:
    """Key every entry: mapping keys, ``(key, value)`` pairs, else the artifact key or file
    stem (de-duplicated by position).

    Raises
    ------
    ArgumentTypeError
        If ``values`` is neither a mapping, a single path or artifact, nor an iterable of
        them (``what`` names the argument in the message).
    """
    if isinstance(values, Mapping):
        return list(values.items())
    if isinstance(values, (str, os.PathLike, Artifact)):
        values = [values]
    if not isinstance(values, Iterable):
        raise ArgumentTypeError(
            f"{what}={values!r:.80} is a {type(values).__name__}; give a mapping "
            "{'key': path}, or a list whose entries are " + _ENTRY_KINDS + "."
        )
    named: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for index, value in enumerate(values):
        if isinstance(value, tuple) and len(value) == 2:
            key, value = value
        else:
            key = _default_key(value, what)
            if key in seen:
                key = f"{key}_{index}"
        seen.add(key)
        named.append((key, value))
    return named


# The argument each role comes from, for messages.
_ARGUMENT: dict[str, str] = {
    "input": "inputs",
    "depends_on": "depends_on",
    "hash_only": "hash_inputs",
}


def resolve_inputs(
    values: Iterable[Any] | Mapping[str, Any] | None,
    role: Role,
    workspace: Workspace,
) -> list[InputRef]:
    """Validate keys and existence; nothing is recorded if any entry is bad."""
    if values is None:
        return []
    refs: list[InputRef] = []
    for key, value in named_values(values, _ARGUMENT[role]):
        validate_key(key, f"{role.replace('_', ' ')} key")
        if isinstance(value, Artifact):
            path = _artifact_local(value, workspace)
            refs.append(InputRef(key, role, path, value))
            continue
        if not isinstance(value, (str, os.PathLike)):
            raise ArgumentTypeError(
                f"{role} {key!r} is a {type(value).__name__} ({value!r:.80}); give a path "
                "(str or Path), an Artifact, or a 'mount://relative/path' string."
            )
        what = "input" if role == "input" else _ARGUMENT[role]
        remote = _remote_input(value, workspace, key, role, what)
        if remote is not None:
            refs.append(remote)
            continue
        path = _local(value, workspace, key, what)
        if not path.exists():
            raise InputNotFoundError(key, path, what)
        # stat, never open: opening a FIFO blocks until a writer appears.
        mode = path.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise SpecialFileError(path, mode, key, what)
        refs.append(InputRef(key, role, path))
    return refs


def _remote_input(
    value: str | os.PathLike[str], workspace: Workspace, key: str, role: Role, what: str
) -> InputRef | None:
    """An input on an object store (``lake://...`` under a remote mount, or a bare URL such
    as ``s3://bucket/key``), identified by its content digest; None for local inputs."""
    objects = getattr(workspace, "objects", None)  # set on workspaces with object stores
    text = os.fspath(value)
    if objects is None or "://" not in text or not objects.is_remote(text):
        return None
    if has_credentials(text):
        _local(text, workspace, key, what)  # refuses it, with the usual message
    ref: InputRef = objects.input_ref(key, role, text, what)
    return ref


def _artifact_local(artifact: Artifact, workspace: Workspace) -> Path | None:
    objects = getattr(workspace, "objects", None)
    if objects is not None and objects.is_remote(artifact.uri):
        # Never a download here: identity comes from the recorded digest, and the bytes
        # are fetched (and verified) only if the step executes.
        cached: Path | None = objects.cached_copy(artifact)
        return cached
    try:
        return artifact.path if artifact._resolver is not None else workspace.to_path(artifact.uri)
    except LookupError:
        return None
