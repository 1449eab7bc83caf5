"""Identity of a step's inputs: raw files are digested, produced artifacts are Merkle-linked."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from consist.core.errors import ConsistWarning
from consist.core.identity.signature import merkle_identity
from consist.core.model import Artifact
from consist.core.ports.filesystem import FileSystem
from consist.core.workspace import Workspace

Role = Literal["input", "depends_on", "hash_only"]
# Inputs enter the signature under a role prefix so an input and a depends_on file with the
# same key cannot stand in for each other.


@dataclass(slots=True)
class InputRef:
    """One declared input: a local path, an existing artifact, or both."""

    key: str
    role: Role
    path: Path | None = None
    artifact: Artifact | None = None

    @property
    def passed(self) -> bool:
        return self.role == "input"


# zarr format 2 keeps each array's dtype, shape and attributes in dot-named files; those are
# data, unlike the version-control and editor droppings that dot-names otherwise are.
DOTTED_DATA_NAMES = frozenset({".zarray", ".zattrs", ".zgroup", ".zmetadata"})


def skipped_in_digest(name: str) -> bool:
    """Whether a directory digest leaves out an entry called ``name`` (dot-names, except
    zarr's metadata files)."""
    return name.startswith(".") and name not in DOTTED_DATA_NAMES


def driver_for(path: Path) -> str | None:
    """File format from the suffix (``data.csv.gz`` → ``csv``); None for directories/unknown."""
    suffixes = [s.lower().lstrip(".") for s in path.suffixes]
    compressed = {"gz", "bz2", "zst", "xz", "zip"}
    while suffixes and suffixes[-1] in compressed:
        suffixes.pop()
    return suffixes[-1] if suffixes else None


def raw_artifact_id(key: str, uri: str, digest: str) -> str:
    """Deterministic id for an external input file, so re-using it adds no new rows."""
    return hashlib.sha256(f"{key}\0{uri}\0{digest}".encode()).hexdigest()[:32]


def identify_input(
    ref: InputRef, fs: FileSystem, workspace: Workspace, hashing: str, now: datetime
) -> tuple[str, Artifact]:
    """``(identity, artifact)`` for one input.

    A produced artifact contributes its producer's signature and digest. If its bytes are on
    this machine and no longer match the recorded digest, the actual bytes count instead —
    reusing a result computed from different data would be a false hit.
    """
    artifact = ref.artifact
    if artifact is not None:
        current = None
        if ref.path is not None and fs.exists(ref.path):
            current = fs.digest(ref.path, hashing)
        same_kind = (
            current is not None
            and artifact.digest is not None
            and current.digest.partition(":")[0] == artifact.digest.partition(":")[0]
        )
        if same_kind and current is not None and current.digest != artifact.digest:
            warnings.warn(
                f"input {ref.key!r} ({ref.path}) changed since run {artifact.run_id} "
                "recorded it; the current bytes are used for identity.",
                ConsistWarning,
                stacklevel=4,
            )
            return current.digest, artifact
        if artifact.run_id and artifact.producer_signature:
            return merkle_identity(artifact.producer_signature, artifact.digest), artifact
        return artifact.digest or (current.digest if current else ""), artifact
    assert ref.path is not None
    found = fs.digest(ref.path, hashing)
    uri, portable = workspace.to_uri(ref.path)
    if not portable:
        workspace.warn_not_portable(ref.path)
    artifact = Artifact(
        id=raw_artifact_id(ref.key, uri, found.digest),
        key=ref.key,
        uri=uri,
        driver=driver_for(ref.path),
        digest=found.digest,
        size=found.size,
        run_id=None,
        created_at=now,
    )
    return found.digest, artifact
