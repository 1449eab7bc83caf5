"""Core-only fakes of Consist's ports, for fast tests of code that uses them.

:class:`InMemoryStore` keeps runs, artifacts and links in dicts and obeys the same contract
as the SQL stores (:class:`consist.testing.contracts.StoreContract` runs against both): runs
are upserted, artifacts and links inserted once, timestamps come back as aware UTC, values
come back as copies, and a cache lookup returns the newest completed run that executed.

Facets follow the SQL stores' rules exactly (this module may not import them, so the few
lines of canonical JSON, flattening and typing are repeated here): a document is kept once
per content id, reads back as its canonical JSON decoded, and filters compare flattened
leaves by type, so ``1`` equals ``1.0`` but never ``True``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from consist.core.cache import is_reusable
from consist.core.errors import StoreError
from consist.core.facets import document_json, filter_pairs, flatten, typed_leaf
from consist.core.model import Artifact, Direction, Link, Run, RunArtifacts, RunStatus
from consist.core.ports.store import CacheCandidate, RunQuery, WriteBatch
from consist.core.tables import stored_meta

__all__ = ["InMemoryStore"]

_LinkKey = tuple[str, str, str, str]
_MISSING = ("missing", None)  # a leaf the run does not have: equal to no filter value


def _utc(value: datetime) -> datetime:
    # The SQL stores keep naive UTC and return aware UTC; naive input is taken as UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


def _copy_run(run: Run) -> Run:
    return replace(
        run,
        status=RunStatus(run.status),
        created_at=_utc(run.created_at),
        started_at=_utc_or_none(run.started_at),
        ended_at=_utc_or_none(run.ended_at),
        tags=list(run.tags),
        config=copy.deepcopy(run.config),
        meta=copy.deepcopy(run.meta or {}),
    )


def _copy_artifact(artifact: Artifact, producer_signature: str | None = None) -> Artifact:
    return replace(
        artifact,
        created_at=_utc(artifact.created_at),
        meta=copy.deepcopy(stored_meta(artifact.meta)),
        producer_signature=producer_signature,
        _resolver=None,
    )


def _link_key(link: Link) -> _LinkKey:
    return (link.run_id, link.artifact_id, Direction(link.direction).value, link.key)


_Leaf = tuple[str, Any]  # (value type, value) as the SQL stores compare them


def _filter_leaves(pairs: Iterable[tuple[str, Any]]) -> list[tuple[str, _Leaf]]:
    return [(key, typed_leaf(value)) for key, value in filter_pairs(pairs)]


class InMemoryStore:
    """A :class:`~consist.core.ports.store.MetadataStore` held in memory.

    Attributes
    ----------
    batches_applied : int
        Number of non-empty batches written, so tests can assert how writes were grouped.
    """

    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}
        self._artifacts: dict[str, Artifact] = {}
        self._links: dict[_LinkKey, Link] = {}
        # Facet documents by content id (namespace, canonical JSON), each run's document id
        # and each document's flattened typed leaves; stored runs keep ``facet=None``.
        self._facets: dict[str, tuple[str, str]] = {}
        self._facet_of: dict[str, str] = {}
        self._leaves: dict[str, dict[str, _Leaf]] = {}
        self._workspaces: set[str] = set()
        self._lock = threading.RLock()
        self._closed = False
        self.batches_applied = 0

    def __repr__(self) -> str:
        return f"InMemoryStore({len(self._runs)} runs, {len(self._artifacts)} artifacts)"

    def _check_open(self, operation: str) -> None:
        if self._closed:
            raise StoreError(f"metadata store 'memory' is closed; cannot {operation}.")

    def apply(self, batch: WriteBatch) -> None:
        """Write ``batch``: upsert runs, insert new artifacts and links, remove unlinks."""
        if not batch:
            return
        with self._lock:
            self._check_open("write a batch")
            # Copy everything first so a bad value leaves the store untouched (all or nothing).
            runs = [_copy_run(run) for run in batch.runs]
            documents: dict[str, str] = {}
            for run in runs:
                if run.facet is not None:
                    text = document_json(run.facet)
                    documents[run.id] = text
                    run.facet = None
            artifacts = [_copy_artifact(artifact) for artifact in batch.artifacts]
            links = [
                (_link_key(link), replace(link, direction=Direction(link.direction)))
                for link in batch.links
            ]
            unlinks = [_link_key(link) for link in batch.unlinks]
            for run in runs:
                self._runs[run.id] = run
                self._set_facet(run, documents.get(run.id))
            for artifact in artifacts:
                stored = self._artifacts.setdefault(artifact.id, artifact)
                if artifact.created_at < stored.created_at:  # an artifact keeps its earliest
                    stored.created_at = artifact.created_at
            for key, link in links:
                self._links.setdefault(key, link)
            for key in unlinks:
                self._links.pop(key, None)
            self.batches_applied += 1

    def held_elsewhere(self) -> bool:
        return False

    def find_cached(self, signature: str) -> CacheCandidate | None:
        """The newest completed run with ``signature`` that was not itself a cache hit."""
        with self._lock:
            self._check_open("look up the cache")
            candidates = [
                r for r in self._runs.values() if r.signature == signature and is_reusable(r)
            ]
            if not candidates:
                return None
            newest = max(candidates, key=lambda r: (r.created_at, r.id))
            # Like the SQL stores' cache index, the candidate carries no facet document.
            return CacheCandidate(
                run=_copy_run(newest), outputs=self._artifacts_of(newest.id).outputs
            )

    def get_run(self, run_id: str) -> Run | None:
        """The run with ``run_id``, or None."""
        with self._lock:
            self._check_open("read a run")
            run = self._runs.get(run_id)
            return None if run is None else self._read(run)

    def get_run_artifacts(self, run_id: str) -> RunArtifacts:
        """The run's input and output artifacts by link key (empty if unknown)."""
        with self._lock:
            self._check_open("read a run's artifacts")
            return self._artifacts_of(run_id)

    def get_artifact(self, artifact_id: str) -> Artifact | None:
        """The artifact with ``artifact_id`` (with its producer's signature), or None."""
        with self._lock:
            self._check_open("read an artifact")
            artifact = self._artifacts.get(artifact_id)
            return None if artifact is None else self._attach_producer(artifact)

    def find_artifacts(
        self,
        *,
        key: str | None = None,
        creator: str | None = None,
        consumer: str | None = None,
        limit: int | None = None,
    ) -> list[Artifact]:
        """Artifacts matching every given filter, newest first."""
        with self._lock:
            self._check_open("find artifacts")
            consumed, handed_back = set(), set()
            for owner, artifact_id, direction, _key in self._links:
                if owner == consumer and direction == Direction.INPUT.value:
                    consumed.add(artifact_id)
                if owner == creator and direction == Direction.OUTPUT.value:
                    handed_back.add(artifact_id)
            found = [
                a
                for a in self._artifacts.values()
                if (key is None or a.key == key)
                and (creator is None or a.run_id == creator or a.id in handed_back)
                and (consumer is None or a.id in consumed)
            ]
            found.sort(key=lambda a: (_utc(a.created_at), a.id), reverse=True)
            return [self._attach_producer(a) for a in found[:limit]]

    def find_runs(self, query: RunQuery) -> list[Run]:
        """Runs matching every filter of ``query``, newest first."""
        with self._lock:
            self._check_open("query runs")
            status = query.status.value if isinstance(query.status, Enum) else query.status
            wanted = _filter_leaves(query.facet)
            found = [
                run
                for run in self._runs.values()
                if (query.model is None or run.model_name == query.model)
                and (status is None or run.status.value == status)
                and (query.parent_id is None or run.parent_run_id == query.parent_id)
                and (query.year is None or run.year == query.year)
                and (query.iteration is None or run.iteration == query.iteration)
                and all(tag in run.tags for tag in query.tags)
                and self._facet_matches(run.id, wanted)
            ]
            found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
            if query.limit is not None:
                found = found[: max(query.limit, 0)]
            return [self._read(run) for run in found]

    def workspaces(self) -> list[str]:
        with self._lock:
            self._check_open("read the registered workspaces")
            return sorted(self._workspaces)

    def add_workspace(self, run_dir: str) -> None:
        with self._lock:
            self._check_open("register the workspace")
            self._workspaces.add(run_dir)

    def close(self) -> None:
        """Mark the store closed; later calls raise :class:`StoreError`. Idempotent."""
        self._closed = True

    # -- helpers ---------------------------------------------------------------------------

    def _set_facet(self, run: Run, text: str | None) -> None:
        """Point ``run`` at the document ``text`` (stored once per content), or at none."""
        if text is None:
            self._facet_of.pop(run.id, None)
            return
        facet_id = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
        if facet_id not in self._facets:
            self._facets[facet_id] = (run.model_name, text)
            self._leaves[facet_id] = {
                k: typed_leaf(v) for k, v in flatten(json.loads(text)).items()
            }
        self._facet_of[run.id] = facet_id

    def _read(self, run: Run) -> Run:
        """A copy of ``run`` with its facet decoded afresh from the stored document."""
        copied = _copy_run(run)
        facet_id = self._facet_of.get(run.id)
        if facet_id is not None:
            copied.facet = json.loads(self._facets[facet_id][1])
        return copied

    def _facet_matches(self, run_id: str, wanted: list[tuple[str, _Leaf]]) -> bool:
        if not wanted:
            return True
        facet_id = self._facet_of.get(run_id)
        leaves = self._leaves.get(facet_id, {}) if facet_id is not None else {}
        return all(leaves.get(key, _MISSING) == leaf for key, leaf in wanted)

    def _attach_producer(self, artifact: Artifact) -> Artifact:
        producer = self._runs.get(artifact.run_id) if artifact.run_id is not None else None
        return _copy_artifact(artifact, None if producer is None else producer.signature)

    def _artifacts_of(self, run_id: str) -> RunArtifacts:
        result = RunArtifacts()
        for (owner, artifact_id, direction, _key), link in self._links.items():
            artifact = self._artifacts.get(artifact_id)
            if owner != run_id or artifact is None:
                continue
            side = result.inputs if direction == Direction.INPUT.value else result.outputs
            side[link.key] = self._attach_producer(artifact)
        return result
