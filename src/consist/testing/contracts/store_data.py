"""Test data builders shared by the store contract suites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from consist.core.model import Artifact, Direction, Link, Run, RunStatus
from consist.core.ports.store import MetadataStore, WriteBatch

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """A fixed aware UTC instant ``seconds`` after :data:`T0`."""
    return T0 + timedelta(seconds=seconds)


def make_run(run_id: str, t: float = 0.0, **fields: Any) -> Run:
    """A completed run created at ``at(t)``; ``fields`` override any attribute."""
    values: dict[str, Any] = {
        "model_name": "step",
        "status": RunStatus.COMPLETED,
        "created_at": at(t),
        "signature": f"sig-{run_id}",
    }
    values.update(fields)
    return Run(id=run_id, **values)


def make_artifact(
    artifact_id: str, run_id: str | None, key: str = "data", **fields: Any
) -> Artifact:
    """An artifact produced by ``run_id``; ``fields`` override any attribute."""
    values: dict[str, Any] = {
        "uri": f"workspace://outputs/{artifact_id}.parquet",
        "driver": "parquet",
        "digest": f"digest-{artifact_id}",
        "size": 1234,
        "created_at": at(1),
    }
    values.update(fields)
    return Artifact(id=artifact_id, key=key, run_id=run_id, **values)


def out(run_id: str, artifact_id: str, key: str) -> Link:
    return Link(run_id, artifact_id, Direction.OUTPUT, key)


def inp(run_id: str, artifact_id: str, key: str) -> Link:
    return Link(run_id, artifact_id, Direction.INPUT, key)


def produced(store: MetadataStore, run: Run, **outputs: str) -> None:
    """Record ``run`` with one output artifact per ``key=artifact_id``."""
    store.apply(
        WriteBatch(
            runs=[run],
            artifacts=[make_artifact(aid, run.id, key) for key, aid in outputs.items()],
            links=[out(run.id, aid, key) for key, aid in outputs.items()],
        )
    )
