"""Runs and artifacts as JSON-able records and as table rows.

The table and ``--json`` of a command are both made from one record, so they cannot drift:
a table shows a subset of the record's fields, in the order of ``*_COLUMNS``.
"""

from __future__ import annotations

from typing import Any

from consist.api.housekeeping import removed_bytes
from consist.core.model import Artifact, Run

#: (table heading, record field) of ``consist runs`` and the other run listings.
RUN_COLUMNS = [
    ("id", "id"),
    ("model", "model"),
    ("status", "status"),
    ("hit", "cache_hit"),
    ("scenario", "scenario"),
    ("year", "year"),
    ("iter", "iteration"),
    ("created", "created_at"),
    ("seconds", "duration_seconds"),
    ("tags", "tags"),
]
#: (table heading, record field) of artifact listings.
ARTIFACT_COLUMNS = [
    ("direction", "direction"),
    ("key", "key"),
    ("uri", "uri"),
    ("driver", "driver"),
    ("size", "size"),
    ("producer", "run_id"),
    ("bytes", "bytes"),
]


def run_record(run: Run, *, full: bool = False) -> dict[str, Any]:
    """A run's facts (all of them with ``full``, e.g. for ``consist show``)."""
    record: dict[str, Any] = {
        "id": run.id,
        "model": run.model_name,
        "status": str(run.status),
        "cache_hit": run.cache_hit,
        "cache_source": (run.meta or {}).get("cache_source"),
        "scenario": run.parent_run_id,
        "year": run.year,
        "iteration": run.iteration,
        "created_at": run.created_at,
        "duration_seconds": run.duration_seconds,
        "tags": list(run.tags),
        "description": run.description,
        "signature": run.signature,
    }
    if full:
        record.update(
            {
                "started_at": run.started_at,
                "ended_at": run.ended_at,
                "error": run.error,
                "code_identity": run.code_identity,
                "code_digest": run.code_digest,
                "config_digest": run.config_digest,
                "inputs_digest": run.inputs_digest,
                "arguments_digest": run.arguments_digest,
                "cache_epoch": run.cache_epoch,
                "config": run.config,
                "facet": run.facet,
                "host": run.host,
                "pid": run.pid,
                "artifact_dir": run.artifact_dir,
                "meta": run.meta,
            }
        )
    return record


def artifact_record(
    artifact: Artifact, direction: str | None = None, producer: Run | None = None
) -> dict[str, Any]:
    """An artifact's facts; ``bytes`` is ``"removed"`` when ``gc`` deleted its file
    (``producer``: the run that made it, where that was looked up), else ``"recorded"``."""
    removed = removed_bytes(producer) if producer is not None else {}
    record: dict[str, Any] = {
        "id": artifact.id,
        "key": artifact.key,
        "uri": artifact.uri,
        "driver": artifact.driver,
        "digest": artifact.digest,
        "size": artifact.size,
        "run_id": artifact.run_id,
        "created_at": artifact.created_at,
        "bytes": "removed" if artifact.id in removed else "recorded",
        "bytes_removed_at": removed.get(artifact.id),
        "meta": artifact.meta,
    }
    if direction is not None:
        record = {"direction": direction, **record}
    return record


def rows(records: list[dict[str, Any]], columns: list[tuple[str, str]]) -> list[list[Any]]:
    """Table rows: each record's values in the order of ``columns``."""
    return [[record.get(field) for _, field in columns] for record in records]


def headings(columns: list[tuple[str, str]]) -> list[str]:
    return [heading for heading, _ in columns]
