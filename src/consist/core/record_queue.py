"""The recorder's queue of rows waiting for the database, by kind, with the cache candidates
it can already answer lookups from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from consist.core.model import Artifact, Link, Run
from consist.core.ports.store import CacheCandidate, WriteBatch


@dataclass(slots=True)
class _Queue:
    runs: dict[str, Run] = field(default_factory=dict)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    links: dict[tuple[str, str, str, str], Link] = field(default_factory=dict)
    unlinks: dict[tuple[str, str, str, str], Link] = field(default_factory=dict)
    outputs: dict[str, dict[str, Artifact]] = field(default_factory=dict)
    by_signature: dict[str, str] = field(default_factory=dict)
    snapshots: dict[str, tuple[Path, bytes]] = field(default_factory=dict)

    def batch(self) -> WriteBatch:
        return WriteBatch(
            runs=list(self.runs.values()),
            artifacts=list(self.artifacts.values()),
            links=list(self.links.values()),
            unlinks=list(self.unlinks.values()),
        )

    def candidate(self, signature: str) -> CacheCandidate | None:
        run_id = self.by_signature.get(signature)
        if run_id is None:
            return None
        return CacheCandidate(self.runs[run_id], dict(self.outputs.get(run_id, {})))

    def split(self) -> list[_Queue]:
        """One queue per run, each holding that run's links and the artifacts they name."""
        parts: dict[str, _Queue] = {}
        for run_id, run in self.runs.items():
            part = parts[run_id] = _Queue(runs={run_id: run})
            part.outputs[run_id] = self.outputs.get(run_id, {})
            if run_id in self.snapshots:
                part.snapshots[run_id] = self.snapshots[run_id]
        for group in ("links", "unlinks"):
            for key, link in getattr(self, group).items():
                part = parts[link.run_id]
                getattr(part, group)[key] = link
                if group == "links":
                    part.artifacts[link.artifact_id] = self.artifacts[link.artifact_id]
        for signature, run_id in self.by_signature.items():
            parts[run_id].by_signature[signature] = run_id
        return list(parts.values())

    def merge_under(self, newer: _Queue) -> _Queue:
        """``self`` (older, failed to flush) with ``newer`` applied on top."""
        for name in (
            "runs",
            "artifacts",
            "links",
            "unlinks",
            "outputs",
            "by_signature",
            "snapshots",
        ):
            getattr(self, name).update(getattr(newer, name))
        return self


def _link_key(link: Link) -> tuple[str, str, str, str]:
    # The key is part of a link's identity: one artifact may be consumed under two keys.
    return (link.run_id, link.artifact_id, link.direction.value, link.key)
