"""Run snapshots: the JSON document written (atomically) before every database write.

The snapshot is the source of truth for a run: everything needed to recreate its rows —
the run, the artifacts it consumed and produced, and the links — is in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from typing import Any

from consist.core.checks import check_text
from consist.core.model import Artifact, Direction, Link, Run, RunStatus, validate_key
from consist.core.ports.store import WriteBatch
from consist.core.workspace import check_address

SNAPSHOT_VERSION = 1
_RUN_FIELDS = [f.name for f in fields(Run)]
_ARTIFACT_FIELDS = [f.name for f in fields(Artifact) if not f.name.startswith("_")]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def run_to_dict(run: Run) -> dict[str, Any]:
    data = {name: getattr(run, name) for name in _RUN_FIELDS}
    data["status"] = run.status.value
    for name in ("created_at", "started_at", "ended_at"):
        data[name] = _time(data[name])
    return data


def run_from_dict(data: dict[str, Any]) -> Run:
    values = {k: v for k, v in data.items() if k in _RUN_FIELDS}
    values["status"] = RunStatus(values["status"])
    for name in ("created_at", "started_at", "ended_at"):
        values[name] = _parse_time(values.get(name))
    return Run(**values)


def artifact_to_dict(artifact: Artifact) -> dict[str, Any]:
    data = {name: getattr(artifact, name) for name in _ARTIFACT_FIELDS}
    data["created_at"] = _time(artifact.created_at)
    return data


def artifact_from_dict(data: dict[str, Any]) -> Artifact:
    values = {k: v for k, v in data.items() if k in _ARTIFACT_FIELDS}
    values["created_at"] = _parse_time(values["created_at"])
    return Artifact(**values)


def encode_snapshot(run: Run, inputs: dict[str, Artifact], outputs: dict[str, Artifact]) -> bytes:
    """The snapshot document of a run and its linked artifacts."""
    document = {
        "consist_snapshot": SNAPSHOT_VERSION,
        "run": run_to_dict(run),
        "links": {
            Direction.INPUT.value: {k: artifact_to_dict(a) for k, a in inputs.items()},
            Direction.OUTPUT.value: {k: artifact_to_dict(a) for k, a in outputs.items()},
        },
    }
    # Compact on purpose: with ``indent`` the json module falls back to its pure-Python
    # encoder, which costs more than the rest of a cache hit's bookkeeping.
    return json.dumps(document, default=str, separators=(",", ":")).encode("utf-8")


def decode_snapshot(data: bytes) -> tuple[Run, dict[str, Artifact], dict[str, Artifact]]:
    """Inverse of :func:`encode_snapshot`, checking what it reads.

    A snapshot on disk may have been edited or written by something else, and its run id,
    keys and addresses become file paths: each is validated like user input.

    Raises
    ------
    InvalidKeyError
        For a run id, parent id or link key that could not name a file.
    UnsafeAddressError
        For an artifact address (or artifact folder) outside its workspace or mount.
    ValueError, KeyError, TypeError
        For a document that is not a snapshot.
    """
    document = json.loads(data)
    links = document["links"]
    snapshot = (
        run_from_dict(document["run"]),
        {k: artifact_from_dict(v) for k, v in links[Direction.INPUT.value].items()},
        {k: artifact_from_dict(v) for k, v in links[Direction.OUTPUT.value].items()},
    )
    _check(*snapshot)
    return snapshot


def _check(run: Run, inputs: dict[str, Artifact], outputs: dict[str, Artifact]) -> None:
    validate_key(run.id, "run id")
    if run.parent_run_id is not None:
        validate_key(run.parent_run_id, "parent run id")
    if run.artifact_dir is not None:
        check_address(run.artifact_dir)
    for group in (inputs, outputs):
        for key, artifact in group.items():
            validate_key(key, "link key")
            validate_key(artifact.key, "artifact key")
            check_text(artifact.id, "artifact id")
            check_address(artifact.uri)


def batch_from_snapshots(documents: Iterable[bytes]) -> WriteBatch:
    """The rows that recreate the runs of ``documents`` (snapshot files' bytes).

    Each snapshot holds a run's last recorded state with every artifact it links, so
    applying the batch to an empty store gives back the runs, artifacts, links and facets.
    """
    batch = WriteBatch()
    seen: dict[str, int] = {}  # artifact id -> its index in batch.artifacts
    for data in documents:
        run, inputs, outputs = decode_snapshot(data)
        batch.runs.append(run)
        for direction, group in ((Direction.INPUT, inputs), (Direction.OUTPUT, outputs)):
            for key, artifact in group.items():
                index = seen.get(artifact.id)
                if index is None:
                    seen[artifact.id] = len(batch.artifacts)
                    batch.artifacts.append(artifact)
                elif artifact.created_at < batch.artifacts[index].created_at:
                    # An input shared by several runs is in each snapshot with the time that
                    # run saw it; the artifact was created at the earliest of them.
                    batch.artifacts[index] = artifact
                batch.links.append(Link(run.id, artifact.id, direction, key))
    return batch
