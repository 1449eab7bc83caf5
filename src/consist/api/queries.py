"""Looking up runs and artifacts (mixed into ``Tracker``; also ``consist.find_runs`` & co).

Every lookup first flushes queued writes, so a query always sees this process's own runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from consist.api.context import current_tracker
from consist.core.errors import RunNotFoundError
from consist.core.model import Artifact, Run, RunArtifacts, RunStatus
from consist.core.ports.store import RunQuery

if TYPE_CHECKING:
    from consist.api.artifacts import ArtifactAccess
    from consist.api.tracker import Tracker
    from consist.core.ports.store import MetadataStore
    from consist.core.recorder import Recorder

_RUN_FIELDS = ("id", "model_name", "status", "parent_run_id", "year", "iteration", "signature")


def _index_value(run: Run, field: str) -> Any:
    if field not in _RUN_FIELDS and not hasattr(run, field):
        raise ValueError(
            f"index_by={field!r} is not a run field; use one of {', '.join(_RUN_FIELDS)}."
        )
    return getattr(run, field)


class QueriesMixin:
    """Run and artifact lookups."""

    if TYPE_CHECKING:  # provided by Tracker
        db_path: str
        _recorder: Recorder
        _store: MetadataStore
        _access: ArtifactAccess

        def flush(self) -> None: ...

    def get_run(self, run_id: str) -> Run:
        """The run with ``run_id``; ``RunNotFoundError`` (a ``LookupError``) if none."""
        run = self._recorder.get_run(run_id)
        if run is None:
            raise RunNotFoundError(
                f"no run with id {run_id!r} in {self.db_path}; list runs with tracker.find_runs()."
            )
        return run

    def get_artifacts_for_run(self, run_id: str) -> RunArtifacts:
        """The run's input and output artifacts, by key (``.inputs`` / ``.outputs``)."""
        self.flush()
        found = self._store.get_run_artifacts(run_id)
        for artifact in (*found.inputs.values(), *found.outputs.values()):
            self._access.attach(artifact)
        return found

    def get_artifact(self, artifact_id: str) -> Artifact:
        """The artifact with ``artifact_id``."""
        self.flush()
        artifact = self._store.get_artifact(artifact_id)
        if artifact is None:
            raise RunNotFoundError(f"no artifact with id {artifact_id!r} in {self.db_path}.")
        return self._access.attach(artifact)

    def find_runs(
        self,
        *,
        model: str | None = None,
        status: str | RunStatus | None = None,
        parent_id: str | None = None,
        year: int | None = None,
        iteration: int | None = None,
        tags: Sequence[str] | None = None,
        limit: int | None = None,
        index_by: str | None = None,
    ) -> Any:
        """Runs matching every given filter, newest first (``limit=None``: all of them).

        Tags match exact elements: ``tags=["scenario"]`` does not match ``"scenario_header"``.
        With ``index_by="year"`` (any run field) the result is a dict keyed by that field,
        holding the newest run for each value.
        """
        if isinstance(tags, str):
            tags = [tags]
        if status is not None:
            status = RunStatus(status).value
        self.flush()
        query = RunQuery(model, status, parent_id, year, iteration, tuple(tags or ()), limit)
        runs = self._store.find_runs(query)
        if index_by is None:
            return runs
        indexed: dict[Any, Run] = {}
        for run in runs:  # newest first: the first run seen for a value wins
            indexed.setdefault(_index_value(run, index_by), run)
        return indexed

    def find_run(self, **filters: Any) -> Run:
        """The one run matching ``filters``; ``LookupError`` saying how many matched otherwise."""
        filters.pop("index_by", None)
        runs = self.find_runs(**{**filters, "limit": 2})
        if len(runs) != 1:
            described = ", ".join(f"{k}={v!r}" for k, v in filters.items()) or "no filters"
            count = "no run matches" if not runs else "more than one run matches"
            raise RunNotFoundError(
                f"{count} {described}; narrow the filters (e.g. model=, year=, parent_id=) or "
                "use find_runs() to see them all."
            )
        return runs[0]


def _tracker(tracker: Any, what: str) -> Tracker:
    found = tracker if tracker is not None else current_tracker()
    if found is None:
        raise ValueError(f"consist.{what}() needs tracker=... when no run is open.")
    return found  # type: ignore[no-any-return]


def find_runs(tracker: Any = None, **filters: Any) -> Any:
    """Runs matching ``filters`` (see :meth:`Tracker.find_runs`)."""
    return _tracker(tracker, "find_runs").find_runs(**filters)


def find_run(tracker: Any = None, **filters: Any) -> Run:
    """Exactly one run matching ``filters`` (see :meth:`Tracker.find_run`)."""
    return _tracker(tracker, "find_run").find_run(**filters)
