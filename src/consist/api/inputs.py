"""Turning the user's ``inputs=`` / ``depends_on=`` / ``hash_inputs=`` into input references."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from consist.core.errors import InputNotFoundError
from consist.core.inputs import InputRef, Role
from consist.core.model import Artifact, validate_key
from consist.core.workspace import Workspace, absolute


def _local(value: str | os.PathLike[str], workspace: Workspace) -> Path:
    text = os.fspath(value)
    if "://" in text:
        return workspace.to_path(text)
    return absolute(text)


def _default_key(value: Any) -> str:
    if isinstance(value, Artifact):
        return value.key
    return Path(os.fspath(value)).stem or Path(os.fspath(value)).name


def named_values(values: Iterable[Any] | Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Key every entry: mapping keys, ``(key, value)`` pairs, else the artifact key or file
    stem (de-duplicated by position)."""
    if isinstance(values, Mapping):
        return list(values.items())
    if isinstance(values, (str, os.PathLike, Artifact)):
        values = [values]
    named: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for index, value in enumerate(values):
        if isinstance(value, tuple) and len(value) == 2:
            key, value = value
        else:
            key = _default_key(value)
            if key in seen:
                key = f"{key}_{index}"
        seen.add(key)
        named.append((key, value))
    return named


def resolve_inputs(
    values: Iterable[Any] | Mapping[str, Any] | None,
    role: Role,
    workspace: Workspace,
) -> list[InputRef]:
    """Validate keys and existence; nothing is recorded if any entry is bad."""
    if values is None:
        return []
    refs: list[InputRef] = []
    for key, value in named_values(values):
        validate_key(key, f"{role.replace('_', ' ')} key")
        if isinstance(value, Artifact):
            path = _artifact_local(value, workspace)
            refs.append(InputRef(key, role, path, value))
            continue
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(
                f"{role} {key!r} is a {type(value).__name__}; give a path (str or Path), "
                "an Artifact, or a 'mount://relative/path' string."
            )
        path = _local(value, workspace)
        if not path.exists():
            raise InputNotFoundError(key, path)
        refs.append(InputRef(key, role, path))
    return refs


def _artifact_local(artifact: Artifact, workspace: Workspace) -> Path | None:
    try:
        return artifact.path if artifact._resolver is not None else workspace.to_path(artifact.uri)
    except LookupError:
        return None
