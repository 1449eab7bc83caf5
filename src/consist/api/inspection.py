"""Questions about a whole provenance database: free-text search, a summary, a health check
(``doctor``) and the differences between two runs.

:class:`Inspection` works on an open :class:`~consist.Tracker` (read-only is enough) and
backs ``consist search``, ``summary``, ``db doctor`` and ``diff``. Aggregates are single SQL
statements over the documented tables of :mod:`consist.models` (sent as text through
:func:`consist.run_query`, with every value a bound parameter), so they stay fast on
databases of many thousand runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consist.api.housekeeping import tracker_services
from consist.api.sql import run_query
from consist.core.checks import check_int, check_text
from consist.core.errors import ArgumentError
from consist.core.explain import Change, config_changes, input_changes
from consist.core.model import Artifact, Run, RunStatus
from consist.core.recorder import PENDING_DIR

if TYPE_CHECKING:
    from consist.api.tracker import Tracker

_LIKE_ESCAPE = "\\"
_SEARCH_RUNS = (
    "SELECT id FROM run WHERE lower(id) LIKE :p ESCAPE '\\' OR lower(model_name) LIKE :p "
    "ESCAPE '\\' OR lower(coalesce(description, '')) LIKE :p ESCAPE '\\' "
    "OR lower(coalesce(tags, '')) LIKE :p ESCAPE '\\' "
    "OR lower(coalesce(parent_run_id, '')) LIKE :p ESCAPE '\\' "
    "ORDER BY created_at DESC, id DESC LIMIT :n"
)
_SEARCH_ARTIFACTS = (
    "SELECT id FROM artifact WHERE lower(id) LIKE :p ESCAPE '\\' OR lower(key) LIKE :p "
    "ESCAPE '\\' OR lower(uri) LIKE :p ESCAPE '\\' ORDER BY created_at DESC, id DESC LIMIT :n"
)
_RUNS_BY_STATUS = "SELECT status, count(*) FROM run GROUP BY status"
_RUNS_BY_MODEL = (
    "SELECT model_name, count(*), max(created_at) FROM run GROUP BY model_name "
    "ORDER BY count(*) DESC, model_name"
)
_ARTIFACT_TOTALS = "SELECT count(*), coalesce(sum(size), 0) FROM artifact"
_CACHE_HITS = "SELECT count(*) FROM run WHERE cache_hit"
_SCENARIOS = "SELECT count(*) FROM run WHERE tags LIKE '%\"scenario_header\"%'"
_TIME_SPAN = "SELECT min(created_at), max(created_at) FROM run"
_SCHEMA_VERSION = "SELECT value FROM consist_meta WHERE key = 'schema_version'"
_ARTIFACT_URIS = "SELECT uri FROM artifact"


def _sql(statement: str, tracker: Tracker, **params: Any) -> list[Any]:
    from sqlalchemy import text

    return run_query(text(statement).bindparams(**params) if params else statement, tracker)


@dataclass(slots=True)
class SearchHits:
    """Runs and artifacts whose id, name, tags, description or address contain the text."""

    runs: list[Run] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)


@dataclass(slots=True)
class RunDiff:
    """How run ``b`` differs from run ``a``: fields, signature components, config keys,
    inputs and outputs (by key: digests that differ, or present on one side only)."""

    a: str
    b: str
    fields: list[Change] = field(default_factory=list)
    signature: list[Change] = field(default_factory=list)
    config: list[Change] = field(default_factory=list)
    inputs: list[Change] = field(default_factory=list)
    outputs: list[Change] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.fields or self.signature or self.config or self.inputs or self.outputs)


@dataclass(slots=True)
class DoctorReport:
    """The state of a database and its workspace.

    ``pending``: snapshots and journals waiting to be imported; ``crashed``: runs whose
    process died; ``running``: runs recorded as running (in a live process, or one on
    another host); ``orphans``: files under ``run_dir/outputs`` that no artifact records.
    """

    database: str
    schema_version: str | None
    runs: int
    pending: list[str] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """No pending snapshots and no orphan files (crashed runs are history, not faults)."""
        return not (self.pending or self.orphans)


class Inspection:
    """Search, summary, doctor and diff over ``tracker``'s database."""

    def __init__(self, tracker: Tracker) -> None:
        self._tracker = tracker

    def search(self, text: str, limit: int = 20) -> SearchHits:
        """Runs and artifacts matching ``text`` (case-insensitive substring), newest first.

        Runs match on id, model, description, tags and scenario; artifacts on id, key and
        address. At most ``limit`` of each.
        """
        text = check_text(text, "search text") or ""
        if not text.strip():
            raise ArgumentError("search text is empty; give a word to look for, e.g. 'demand'.")
        limit = check_int(limit, "limit", low=1, high=2**31)
        escaped = "".join(_LIKE_ESCAPE + c if c in "%_\\" else c for c in text.lower())
        pattern = f"%{escaped}%"
        run_ids = _sql(_SEARCH_RUNS, self._tracker, p=pattern, n=limit)
        artifact_ids = _sql(_SEARCH_ARTIFACTS, self._tracker, p=pattern, n=limit)
        return SearchHits(
            [self._tracker.get_run(i) for i in run_ids],
            [self._tracker.get_artifact(i) for i in artifact_ids],
        )

    def summary(self) -> dict[str, Any]:
        """Counts of runs (by status and model), cache hits, scenarios and artifacts."""
        tracker = self._tracker
        statuses = dict(_sql(_RUNS_BY_STATUS, tracker))
        count, total_bytes = _sql(_ARTIFACT_TOTALS, tracker)[0]
        first, last = _sql(_TIME_SPAN, tracker)[0]
        return {
            "database": str(tracker.db_path),
            "runs": sum(statuses.values()),
            "runs_by_status": {s.value: int(statuses.get(s.value, 0)) for s in RunStatus},
            "cache_hits": int(_sql(_CACHE_HITS, tracker)[0]),
            "scenarios": int(_sql(_SCENARIOS, tracker)[0]),
            "models": [
                {"model": m, "runs": int(n), "last_run": _iso(when)}
                for m, n, when in _sql(_RUNS_BY_MODEL, tracker)
            ],
            "artifacts": int(count),
            "artifact_bytes": int(total_bytes),
            "first_run": _iso(first),
            "last_run": _iso(last),
        }

    def doctor(self) -> DoctorReport:
        """Schema version, pending snapshots, crashed and running runs, orphan files."""
        tracker = self._tracker
        versions = _sql(_SCHEMA_VERSION, tracker)
        statuses = dict(_sql(_RUNS_BY_STATUS, tracker))
        pending_dir = tracker.run_dir / ".consist" / PENDING_DIR
        pending = sorted(p.name for p in pending_dir.glob("*") if p.is_file())
        crashed = [r.id for r in tracker.find_runs(status="crashed")]
        running = [r.id for r in tracker.find_runs(status="running")]
        return DoctorReport(
            str(tracker.db_path),
            str(versions[0]) if versions else None,
            int(sum(statuses.values())),
            pending,
            crashed,
            running,
            self._orphans(),
        )

    def _orphans(self) -> list[str]:
        """Files under ``run_dir/outputs`` that no artifact records (nor lies inside)."""
        outputs = self._tracker.run_dir / "outputs"
        if not outputs.is_dir():
            return []
        workspace = tracker_services(self._tracker).workspace
        recorded: set[str] = set()
        for uri in _sql(_ARTIFACT_URIS, self._tracker):
            try:
                recorded.add(os.path.normpath(workspace.to_path(uri)))
            except (LookupError, ValueError):
                continue
        orphans = []
        for folder, _dirs, files in os.walk(outputs):
            for name in files:
                path = os.path.normpath(os.path.join(folder, name))
                if not _recorded(path, recorded, str(outputs)):
                    orphans.append(str(Path(path).relative_to(self._tracker.run_dir)))
        return sorted(orphans)

    def diff(self, a: str, b: str) -> RunDiff:
        """How run ``b`` differs from run ``a`` (see :class:`RunDiff`)."""
        run_a, run_b = self._tracker.get_run(a), self._tracker.get_run(b)
        result = RunDiff(run_a.id, run_b.id)
        for name in ("model_name", "status", "parent_run_id", "year", "iteration", "cache_epoch"):
            if getattr(run_a, name) != getattr(run_b, name):
                result.fields.append(Change(name, getattr(run_a, name), getattr(run_b, name)))
        if sorted(run_a.tags) != sorted(run_b.tags):
            result.fields.append(Change("tags", run_a.tags, run_b.tags))
        for name in _SIGNATURE_PARTS:
            if getattr(run_a, name) != getattr(run_b, name):
                result.signature.append(Change(name, getattr(run_a, name), getattr(run_b, name)))
        result.config = config_changes(run_a.config, run_b.config)
        arts_a = self._tracker.get_artifacts_for_run(run_a.id)
        arts_b = self._tracker.get_artifacts_for_run(run_b.id)
        result.inputs = input_changes(arts_a.inputs, arts_b.inputs)
        result.outputs = [
            Change(c.what, _digest(c.old), _digest(c.new))
            for c in input_changes(arts_a.outputs, arts_b.outputs)
            if _digest(c.old) != _digest(c.new)
        ]
        return result


_SIGNATURE_PARTS = (
    "signature",
    "code_digest",
    "config_digest",
    "inputs_digest",
    "arguments_digest",
    "code_identity",
)


def _digest(identity: Any) -> Any:
    # input_changes describes an artifact as (digest, producer run); for outputs only the
    # bytes matter (two runs always differ as producers).
    return identity[0] if isinstance(identity, tuple) else identity


def _recorded(path: str, recorded: set[str], stop: str) -> bool:
    """Whether ``path`` or a folder above it (a directory artifact) is recorded."""
    while True:
        if path in recorded:
            return True
        parent = os.path.dirname(path)
        if parent == path or len(parent) < len(stop):
            return False
        path = parent


def _iso(moment: Any) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        return moment
    text: str = moment.isoformat()
    return text if moment.tzinfo is not None else text + "+00:00"
