"""Looking up runs and artifacts: :class:`RunQueries`, the service a ``Tracker`` holds and
delegates ``get_run``, ``find_runs`` & co to; also ``consist.find_runs`` & co.

Every lookup first flushes queued writes, so a query always sees this process's own runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from consist.api.context import owner_tracker
from consist.core.checks import check_int, check_storable, check_tags, check_text
from consist.core.errors import (
    ArgumentTypeError,
    OptionValueError,
    RunMatchError,
    RunNotFoundError,
    redact,
)
from consist.core.explain import CacheExplanation, command_log, config_changes, explain_miss
from consist.core.facets import flatten
from consist.core.model import Artifact, Run, RunArtifacts, RunStatus
from consist.core.ports.store import RunQuery

if TYPE_CHECKING:
    from consist.api.artifacts import ArtifactAccess
    from consist.core.ports.store import MetadataStore
    from consist.core.recorder import Recorder

_RUN_FIELDS = ("id", "model_name", "status", "parent_run_id", "year", "iteration", "signature")


def _lookup(value: object, what: str) -> str:
    """An id or key to look up: text that can be sent to the database."""
    if not isinstance(value, str):
        raise ArgumentTypeError(
            f"{what}={value!r:.80} is a {type(value).__name__}; ids and keys are strings."
        )
    return check_text(value, what) or ""


def _check_index_by(field: object) -> str:
    if isinstance(field, str) and (
        field.startswith("facet.") or field in _RUN_FIELDS or field in Run.__dataclass_fields__
    ):
        return field
    raise OptionValueError(
        "index_by", field, (*_RUN_FIELDS, "facet.<key>"), "Any other Run field works too."
    )


def _index_value(run: Run, field: str) -> Any:
    if field.startswith("facet."):
        value = flatten(run.facet or {}).get(field.removeprefix("facet."))
    else:
        value = getattr(run, field)
    return _hashable(value)


def _hashable(value: Any) -> Any:
    # A facet leaf may be a list (or a dict, e.g. an empty one): key the result by its tuple.
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    return value


def _status(status: object) -> str | None:
    if status is None:
        return None
    allowed = [s.value for s in RunStatus]
    if status not in allowed:
        raise OptionValueError("status", status, allowed)
    return RunStatus(status).value


def _limit(limit: object) -> int | None:
    if limit is None:
        return None
    return check_int(limit, "limit", low=0, high=2**63 - 1)


def _facet_filters(facet: object) -> tuple[tuple[str, Any], ...]:
    if not facet:
        return ()
    if not isinstance(facet, Mapping):
        raise ArgumentTypeError(f"facet={facet!r:.80} must be a mapping such as {{'alpha': 0.2}}.")
    check_storable(facet, "facet")
    return tuple(flatten(dict(facet)).items())


class RunQueries:
    """Run and artifact lookups over a recorder and its store.

    Parameters
    ----------
    store
        The metadata store queried.
    recorder
        Queues writes to ``store`` (flushed before every query) and answers ``get_run``
        from rows not yet flushed too.
    access
        Attaches every artifact returned to the workspace (so it can be loaded).
    db_path
        The store's location, named in "not found" messages.
    """

    def __init__(
        self, store: MetadataStore, recorder: Recorder, access: ArtifactAccess, db_path: str
    ) -> None:
        self._store = store
        self._recorder = recorder
        self._access = access
        self.db_path = db_path

    def flush(self) -> None:
        """Write queued records, so the store sees this process's own runs."""
        self._recorder.flush()

    def get_run(self, run_id: str) -> Run:
        """The run with ``run_id``; ``RunNotFoundError`` (a ``LookupError``) if none."""
        run = self._recorder.get_run(_lookup(run_id, "run_id"))
        if run is None:
            raise RunNotFoundError(
                f"no run with id {run_id!r} in {redact(self.db_path)}; list runs with "
                "tracker.find_runs()."
            )
        return run

    def get_artifacts_for_run(self, run_id: str) -> RunArtifacts:
        """The run's input and output artifacts, by key (``.inputs`` / ``.outputs``)."""
        run_id = _lookup(run_id, "run_id")
        self.flush()
        found = self._store.get_run_artifacts(run_id)
        for artifact in (*found.inputs.values(), *found.outputs.values()):
            self._access.attach(artifact)
        return found

    def get_artifact(self, key_or_id: str) -> Artifact:
        """The artifact with this id, else the newest artifact with this key."""
        key_or_id = _lookup(key_or_id, "key_or_id")
        self.flush()
        artifact = self._store.get_artifact(key_or_id)
        if artifact is None:
            newest = self._store.find_artifacts(key=key_or_id, limit=1)
            artifact = newest[0] if newest else None
        if artifact is None:
            raise RunNotFoundError(
                f"no artifact with id or key {key_or_id!r} in {redact(self.db_path)}; list them "
                "with tracker.find_artifacts()."
            )
        return self._access.attach(artifact)

    def find_artifacts(
        self,
        *,
        creator: str | Run | None = None,
        consumer: str | Run | None = None,
        key: str | None = None,
        limit: int | None = None,
    ) -> list[Artifact]:
        """Artifacts produced by ``creator`` and/or consumed by ``consumer`` (runs or run ids),
        optionally with ``key``, newest first."""
        creator = creator.id if isinstance(creator, Run) else creator
        consumer = consumer.id if isinstance(consumer, Run) else consumer
        for name, value in (("key", key), ("creator", creator), ("consumer", consumer)):
            if value is not None:
                _lookup(value, name)
        self.flush()
        found = self._store.find_artifacts(
            key=key, creator=creator, consumer=consumer, limit=_limit(limit)
        )
        return [self._access.attach(a) for a in found]

    def find_runs(
        self,
        *,
        model: str | None = None,
        status: str | RunStatus | None = None,
        parent_id: str | None = None,
        year: int | None = None,
        iteration: int | None = None,
        tags: Sequence[str] | None = None,
        facet: Mapping[str, Any] | None = None,
        limit: int | None = None,
        index_by: str | None = None,
    ) -> Any:
        """Runs matching every given filter, newest first (``limit=None``: all of them).

        Tags match exact elements: ``tags=["scenario"]`` does not match ``"scenario_header"``.
        ``facet={"alpha": 0.2, "solver.tol": 1e-6}`` matches runs whose facet has exactly
        those values (nested keys dotted). With ``index_by="year"`` (any run field, or
        ``"facet.<key>"``) the result is a dict keyed by that value, holding the newest run
        for each value.
        """
        for name, text in (("model", model), ("parent_id", parent_id)):
            check_text(text, name, optional=True)
        query = RunQuery(
            model,
            _status(status),
            parent_id,
            None if year is None else check_int(year, "year"),
            None if iteration is None else check_int(iteration, "iteration"),
            tuple(check_tags(tags)),
            _limit(limit),
            _facet_filters(facet),
        )
        if index_by is not None:
            _check_index_by(index_by)
        self.flush()
        header = self._generation(parent_id) if parent_id is not None else None
        if header is None:
            runs = self._store.find_runs(query)
        else:  # the limit counts runs of the chosen generation only
            wider = dataclasses.replace(query, parent_id=header[0], limit=None)
            # Steps reused under explicit run ids keep their first generation's meta; the
            # header links each step's artifacts under "<step run id>:<key>".
            linked = self._store.get_run_artifacts(header[1])
            members = {key.partition(":")[0] for key in [*linked.outputs, *linked.inputs]}
            runs = [
                r
                for r in self._store.find_runs(wider)
                if r.id in members or _in_generation(r, header[1])
            ]
            runs = runs[: query.limit] if query.limit is not None else runs
        if index_by is None:
            return runs
        indexed: dict[Any, Run] = {}
        for run in runs:  # newest first: the first run seen for a value wins
            indexed.setdefault(_index_value(run, index_by), run)
        return indexed

    def _generation(self, parent_id: str) -> tuple[str, str] | None:
        """For a scenario entered more than once, ``(name, header id)`` of the generation
        ``parent_id`` addresses: its name the newest, ``name#2`` (``name#1``: the first)
        that one. None when ``parent_id`` names no such scenario (filter as given)."""
        name, sep, number = parent_id.rpartition("#")
        if sep and number.isdigit() and self._store.get_run(f"{name}#2") is not None:
            return name, parent_id if number != "1" else name
        if self._store.get_run(f"{parent_id}#2") is None:
            return None
        generation = 2
        while self._store.get_run(f"{parent_id}#{generation + 1}") is not None:
            generation += 1
        return parent_id, f"{parent_id}#{generation}"

    def find_run(self, **filters: Any) -> Run:
        """The one run matching ``filters``; ``LookupError`` saying how many matched otherwise."""
        filters.pop("index_by", None)
        runs = self.find_runs(**{**filters, "limit": 2})
        if len(runs) != 1:
            described = ", ".join(f"{k}={v!r}" for k, v in filters.items()) or "no filters"
            count = "no run matches" if not runs else "more than one run matches"
            raise RunMatchError(
                f"{count} {described}; narrow the filters (e.g. model=, year=, parent_id=) or "
                "use find_runs() to see them all."
            )
        return runs[0]

    def explain(self, run_id: str) -> CacheExplanation:
        """Why run ``run_id`` was a cache hit (its source), or why it executed: what differs
        from the nearest earlier run of the same model (code, config keys, inputs, ...)."""
        run = self.get_run(run_id)
        if run.cache_hit:
            source = run.meta.get("cache_source")
            return CacheExplanation(
                run.id, True, source_run_id=source, log=self._source_log(source)
            )
        earlier = [
            r
            for r in self.find_runs(model=run.model_name, status="completed")
            if r.id != run.id and not r.cache_hit and r.created_at <= run.created_at
        ]
        # The closest earlier run, not the newest: in a sweep the newest differs in other
        # parameters too, and would be blamed for them (ties go to the newer run).
        previous = min(earlier, key=lambda r: _distance(run, r), default=None)
        return explain_miss(
            run,
            previous,
            inputs=self.get_artifacts_for_run(run.id).inputs,
            previous_inputs=self.get_artifacts_for_run(previous.id).inputs if previous else {},
        )

    def _source_log(self, source: Any) -> str | None:
        """The container log of the run a hit reused (None if it has none or is gone)."""
        if not isinstance(source, str):
            return None
        try:
            return command_log(self.get_run(source))
        except LookupError:
            return None

    def history(self, limit: int | None = 20) -> Any:
        """Recent runs as a pandas DataFrame, newest first (``limit=None``: all of them)."""
        import pandas as pd

        rows = [
            {
                "id": r.id,
                "model": r.model_name,
                "status": r.status.value,
                "cache_hit": r.cache_hit,
                "parent_run_id": r.parent_run_id,
                "year": r.year,
                "iteration": r.iteration,
                "created_at": r.created_at,
                "duration_seconds": r.duration_seconds,
                "tags": list(r.tags),
            }
            for r in self.find_runs(limit=limit)
        ]
        return pd.DataFrame(rows, columns=_HISTORY_COLUMNS)


_HISTORY_COLUMNS = [
    "id",
    "model",
    "status",
    "cache_hit",
    "parent_run_id",
    "year",
    "iteration",
    "created_at",
    "duration_seconds",
    "tags",
]


def _tracker(tracker: Any, what: str) -> Any:
    return owner_tracker(tracker, what, "find_runs")


def find_runs(tracker: Any = None, **filters: Any) -> Any:
    """Runs matching ``filters`` (see :meth:`Tracker.find_runs`)."""
    return _tracker(tracker, "find_runs").find_runs(**filters)


def find_run(tracker: Any = None, **filters: Any) -> Run:
    """Exactly one run matching ``filters`` (see :meth:`Tracker.find_run`)."""
    run: Run = _tracker(tracker, "find_run").find_run(**filters)
    return run


def _in_generation(run: Run, header: str) -> bool:
    """Whether a scenario step belongs to the generation whose header run is ``header``
    (runs that name their parent by hand belong to every generation)."""
    return run.meta.get("scenario_run", header) == header


def _distance(run: Run, other: Run) -> int:
    """How many identity components and config keys differ between two runs of a step."""
    components = ("code_digest", "inputs_digest", "arguments_digest", "cache_epoch")
    differing = sum(getattr(run, name) != getattr(other, name) for name in components)
    if run.config_digest != other.config_digest:
        differing += max(1, len(config_changes(other.config, run.config)))
    return differing
