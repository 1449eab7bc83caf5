"""The metadata store port: where runs, artifacts and their links are recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from consist.core.model import Artifact, Link, Run, RunArtifacts


@dataclass(slots=True)
class WriteBatch:
    """Rows to make durable in ONE transaction.

    ``runs`` are upserted (a later state of the same run id replaces the earlier one);
    ``artifacts`` and ``links`` are inserted once (re-inserting an existing id is a no-op);
    ``unlinks`` removes links (used when a traced cache hit is demoted).
    """

    runs: list[Run] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    unlinks: list[Link] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.runs or self.artifacts or self.links or self.unlinks)


@dataclass(slots=True)
class CacheCandidate:
    """A completed, executed run that a new run with the same signature may reuse."""

    run: Run
    outputs: dict[str, Artifact]


@dataclass(slots=True)
class RunQuery:
    """Filters for :meth:`MetadataStore.find_runs`; ``None`` means "any"."""

    model: str | None = None
    status: str | None = None
    parent_id: str | None = None
    year: int | None = None
    iteration: int | None = None
    tags: tuple[str, ...] = ()
    limit: int | None = None
    # Exact matches on flattened facet keys (nested keys dotted), e.g. (("alpha", 0.2),).
    facet: tuple[tuple[str, Any], ...] = ()


@runtime_checkable
class MetadataStore(Protocol):
    """Records runs, artifacts and links; answers cache lookups and basic queries.

    Implementations must make :meth:`find_cached` an indexed lookup whose cost does not grow
    with the number of runs, and must translate driver exceptions into
    :class:`consist.core.errors.StoreError` subclasses.
    """

    def apply(self, batch: WriteBatch) -> None:
        """Write every row of ``batch`` in one transaction (all or nothing)."""
        ...

    def find_cached(self, signature: str) -> CacheCandidate | None:
        """The newest completed run with ``signature`` that executed (was not itself a hit)."""
        ...

    def get_run(self, run_id: str) -> Run | None:
        """The run with ``run_id``, or None."""
        ...

    def get_run_artifacts(self, run_id: str) -> RunArtifacts:
        """The run's input and output artifacts, by link key."""
        ...

    def get_artifact(self, artifact_id: str) -> Artifact | None:
        """The artifact with ``artifact_id``, or None."""
        ...

    def find_runs(self, query: RunQuery) -> list[Run]:
        """Runs matching every filter of ``query``, newest first."""
        ...

    def find_artifacts(
        self,
        *,
        key: str | None = None,
        creator: str | None = None,
        consumer: str | None = None,
        limit: int | None = None,
    ) -> list[Artifact]:
        """Artifacts with ``key``, output by run ``creator`` (produced by it, or handed back
        by it on a cache hit) and/or used as an input by run ``consumer``, newest first."""
        ...

    def workspaces(self) -> list[str]:
        """The workspaces (``run_dir`` paths) registered as writing to this database, so a
        tracker opening it can find runs another workspace left pending."""
        ...

    def add_workspace(self, run_dir: str) -> None:
        """Register ``run_dir`` (see :meth:`workspaces`); registering it again is a no-op."""
        ...

    def held_elsewhere(self) -> bool:
        """Whether another process held the database when this store opened it, so that
        using it now means waiting for that process's turn (a DuckDB file admits one
        process at a time). False for a store every process can use at once."""
        ...

    def close(self) -> None:
        """Release connections and locks. Idempotent."""
        ...


@runtime_checkable
class SqlEngineProvider(Protocol):
    """Capability: the store can hand out a SQLAlchemy engine for user queries."""

    def sqlalchemy_engine(self) -> Any:
        """A SQLAlchemy engine over the same database (created on first use)."""
        ...
