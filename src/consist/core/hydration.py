"""Hydration policies: which recorded bytes to copy where, decided without touching a file.

* ``metadata`` (default): nothing is copied; a cache hit hands back artifacts only.
* ``inputs-missing``: before a step executes, inputs produced by earlier runs whose bytes are
  not at their expected local path are copied there from wherever they still are.
* ``outputs-requested``: on a hit, the cached outputs named in ``output_paths`` are copied to
  those paths.
* ``outputs-all``: on a hit, every cached output is copied into the run's artifact folder (or
  ``materialize_cached_outputs_dir``).

The plan lists copies; the shell carries them out (verified against the recorded digests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from consist.core.errors import ArgumentError, MissingBytesError, OptionValueError
from consist.core.model import Artifact
from consist.core.workspace import absolute

POLICIES: tuple[str, ...] = ("metadata", "inputs-missing", "outputs-requested", "outputs-all")
OUTPUT_POLICIES = ("outputs-requested", "outputs-all")


@dataclass(frozen=True, slots=True)
class Copy:
    """Copy ``artifact``'s bytes from ``source`` to ``dest``; with ``source`` None, rebuild
    the file from the rows ingested into the database instead."""

    key: str
    artifact: Artifact
    source: Path | None
    dest: Path


def check_policy(
    policy: object, *, output_paths: Mapping[str, object], materialize_dir: object | None
) -> str:
    """Validate a policy and the arguments it needs, before anything is recorded."""
    if not isinstance(policy, str) or policy not in POLICIES:
        raise OptionValueError("cache_hydration", policy, POLICIES)
    if policy == "outputs-requested" and not output_paths:
        raise ArgumentError(
            "cache_hydration='outputs-requested' copies the cached outputs named in "
            "output_paths=..., but none were given; pass output_paths={'key': 'dest/path'} "
            "or use cache_hydration='outputs-all'."
        )
    if materialize_dir is not None and policy != "outputs-all":
        raise ArgumentError(
            f"materialize_cached_outputs_dir= is only used by cache_hydration='outputs-all' "
            f"(this run has {policy!r}); drop it or switch the policy."
        )
    return policy


def plan_missing_inputs(
    inputs: Mapping[str, Artifact],
    *,
    expected: Callable[[Artifact], Path],
    exists: Callable[[Path], bool],
    locate: Callable[[Artifact], Path | None],
    rebuildable: Callable[[Artifact], bool] | None = None,
) -> list[Copy]:
    """Copies that put every produced input's bytes at its expected local path: from
    wherever the bytes still are, else rebuilt from ingested rows."""
    plan: list[Copy] = []
    for key, artifact in inputs.items():
        if artifact.run_id is None:
            continue  # external inputs were checked to exist when the run was declared
        dest = expected(artifact)
        if exists(dest):
            continue
        source = locate(artifact)
        if source is None and not (rebuildable is not None and rebuildable(artifact)):
            raise MissingBytesError(key, artifact.uri, dest)
        plan.append(Copy(key, artifact, source, dest))
    return plan


def _file_name(artifact: Artifact) -> str:
    name = PurePosixPath(unquote(artifact.uri.partition("://")[2] or artifact.uri)).name
    return name or artifact.key


def plan_cached_outputs(
    policy: str,
    outputs: Mapping[str, Artifact],
    *,
    output_paths: Mapping[str, Path],
    artifact_dir: Path,
    materialize_dir: Path | None,
    locate: Callable[[Artifact], Path | None],
) -> list[Copy]:
    """Copies of a cache hit's outputs that ``policy`` asks for (none for other policies)."""
    if policy == "outputs-requested":
        wanted = {k: absolute(p, artifact_dir) for k, p in output_paths.items() if k in outputs}
    elif policy == "outputs-all":
        folder = materialize_dir or artifact_dir
        wanted = {k: folder / _file_name(a) for k, a in outputs.items()}
    else:
        return []
    plan: list[Copy] = []
    for key, dest in wanted.items():
        artifact = outputs[key]
        source = locate(artifact)
        if source is None:
            raise MissingBytesError(key, artifact.uri, dest)
        if source != dest:
            plan.append(Copy(key, artifact, source, dest))
    return plan
