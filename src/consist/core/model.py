"""Value objects of the domain: runs, artifacts, links and run results.

They are plain dataclasses (cheap to build on the hot path, trivial to serialise into
snapshots); they know nothing about databases or files. ``Artifact.path`` and
``Artifact.load`` delegate to a resolver that the api attaches, so a value read back from a
store on another machine resolves against *that* machine's workspace and mounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Protocol

from consist.core.errors import InvalidKeyError, KeyNotFoundError


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CRASHED = "crashed"


class Direction(StrEnum):
    INPUT = "input"
    OUTPUT = "output"


CacheMode = Literal["reuse", "overwrite", "readonly"]
HashingMode = Literal["full", "fast"]
CACHE_MODES: tuple[str, ...] = ("reuse", "overwrite", "readonly")
HASHING_MODES: tuple[str, ...] = ("full", "fast")

_FORBIDDEN_KEY = re.compile(r"[/\\\x00]")
#: A key becomes a file name (plus a suffix such as ``.parquet`` or ``.json``); file systems
#: allow 255 bytes, so keys stop well short of that.
MAX_KEY_BYTES = 200


def validate_key(key: object, what: str = "artifact key") -> str:
    """Return ``key`` if it can name an artifact, else raise :class:`InvalidKeyError`.

    A key becomes a file name inside the run's directory, so anything that could steer a
    write elsewhere, or that no file system or database can hold, is refused.
    """
    if not isinstance(key, str) or not key.strip():
        raise InvalidKeyError(
            f"{what} {key!r} is invalid: a key must be a non-empty string such as 'persons'."
        )
    if _FORBIDDEN_KEY.search(key) or key == "." or ".." in key:
        raise InvalidKeyError(
            f"{what} {key!r} is invalid: keys may not contain path separators, NUL or '..'; "
            f"use a plain name such as {_suggest_key(key)!r}."
        )
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKeyError(
            f"{what} {key!r} is invalid: it is not valid Unicode (it holds a lone surrogate); "
            "use plain text."
        ) from None
    if size > MAX_KEY_BYTES:
        raise InvalidKeyError(
            f"{what} {key[:40]!r}... ({size} bytes) is too long: a key becomes a file name, so "
            f"it may have at most {MAX_KEY_BYTES} bytes in UTF-8; use a shorter name."
        )
    return key


def _suggest_key(key: str) -> str:
    cleaned = re.sub(r"[/\\\x00.]+", "_", key).strip("_")
    return cleaned or "output"


class ArtifactResolver(Protocol):
    """What an artifact needs from the outside world to find and read its bytes."""

    def local_path(self, artifact: Artifact) -> Path: ...

    def load(self, artifact: Artifact, **kwargs: Any) -> Any: ...


@dataclass(eq=False, slots=True)
class Artifact:
    """A file or table recorded by Consist.

    ``uri`` is portable (``workspace://…``, ``<mount>://…`` or ``file:///…``); ``path`` is
    where the bytes are on this machine.
    """

    id: str
    key: str
    uri: str
    driver: str | None
    digest: str | None
    size: int | None
    run_id: str | None
    created_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)
    producer_signature: str | None = None
    _resolver: ArtifactResolver | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        """The local path of the artifact's bytes (resolved through the current workspace)."""
        if self._resolver is None:
            raise RuntimeError(
                f"artifact {self.key!r} is not attached to a tracker; "
                "load it through tracker.get_artifact or consist.load(artifact, tracker=...)."
            )
        return self._resolver.local_path(self)

    @property
    def container_uri(self) -> str:
        """Another name for ``uri`` (the name the original library's notebooks read): the
        URI of the file or directory holding the artifact's bytes."""
        return self.uri

    def load(self, **kwargs: Any) -> Any:
        """Read the artifact with the frame engine that matches its driver."""
        if self._resolver is None:
            raise RuntimeError(f"artifact {self.key!r} is not attached to a tracker.")
        return self._resolver.load(self, **kwargs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Artifact) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def _repr_html_(self) -> str:  # Jupyter: a compact table
        from consist.core.html import artifact_html

        return artifact_html(self)


@dataclass(slots=True)
class Signature:
    """A run's identity and the components it was built from (kept to explain misses)."""

    value: str
    code: str
    config: str
    inputs: str
    cache_epoch: int
    model: str
    code_mode: str = ""
    #: Digest of the values bound to the call (fn_args, partial arguments, ``self``);
    #: ``""`` when there are none.
    arguments: str = ""


@dataclass(slots=True)
class Run:
    """One execution (or one cache hit) of a step."""

    id: str
    model_name: str
    status: RunStatus
    created_at: datetime
    signature: str | None = None
    code_digest: str | None = None
    config_digest: str | None = None
    inputs_digest: str | None = None
    code_identity: str | None = None
    cache_epoch: int = 0
    parent_run_id: str | None = None
    year: int | None = None
    iteration: int | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    config: Any = None
    # Queryable metadata that does not affect identity (stored deduplicated and indexed).
    facet: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None
    artifact_dir: str | None = None
    host: str | None = None
    pid: int | None = None
    #: Digest of the values bound to the call beyond config and inputs (None: none).
    arguments_digest: str | None = None
    #: What the identity was built from beyond the config, for explanations:
    #: ``{"arguments": {...}, "captured": {"closure.factor": "3", ...}}``.
    identity: dict[str, Any] | None = None

    @property
    def scenario_id(self) -> str | None:
        return self.parent_run_id

    @property
    def model(self) -> str:
        return self.model_name

    @property
    def cache_hit(self) -> bool:
        """Whether this run reused another's outputs (``meta["cache_hit"]``)."""
        return bool((self.meta or {}).get("cache_hit", False))

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def _repr_html_(self) -> str:  # Jupyter: a compact table
        from consist.core.html import run_html

        return run_html(self)


@dataclass(frozen=True, slots=True)
class Link:
    """A run consumed (input) or produced (output) an artifact under a key."""

    run_id: str
    artifact_id: str
    direction: Direction
    key: str


@dataclass(slots=True)
class RunArtifacts:
    """A run's artifacts by key."""

    inputs: dict[str, Artifact] = field(default_factory=dict)
    outputs: dict[str, Artifact] = field(default_factory=dict)


@dataclass(slots=True)
class RunResult:
    """What ``tracker.run`` hands back: the run, its outputs and whether it was a hit."""

    run: Run
    outputs: dict[str, Artifact]
    cache_hit: bool
    inputs: dict[str, Artifact] = field(default_factory=dict)

    @property
    def output(self) -> Artifact | None:
        """The single output, or None when there are zero or several."""
        if len(self.outputs) == 1:
            return next(iter(self.outputs.values()))
        return None

    def __getitem__(self, key: str) -> Artifact:
        try:
            return self.outputs[key]
        except KeyError:
            raise KeyNotFoundError(
                f"run {self.run.id!r} has no output {key!r}; its outputs are {sorted(self.outputs)}"
            ) from None

    def _repr_html_(self) -> str:  # Jupyter: verdict, run and artifacts
        from consist.core.html import run_result_html

        return run_result_html(self)
