"""Matrix views: one N-dimensional output of many runs, opened as a single Dataset.

Where a tabular view (``tracker.views``) unions rows of many runs, a matrix view stacks an
array artifact (a skim matrix, a gridded field) of many runs along a new ``run_id``
dimension, with each run's scenario, year and iteration as coordinates on it. Every run and
artifact is looked up and checked before any store is opened, and stores are opened lazily:
only what the caller later selects is read.

The factory works through the tracker it is given (its queries and its frame IO), so it
needs nothing beyond the core; ``consist.MatrixViewFactory`` adds the default tracker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from consist.core.errors import (
    ArgumentError,
    ArgumentTypeError,
    KeyNotFoundError,
    OptionValueError,
)
from consist.core.model import Artifact, Run, RunStatus, validate_key

#: The engine that opens and stacks array artifacts.
ARRAY_ENGINE = "xarray"
#: Run fields put on the run dimension as coordinates, by coordinate name.
RUN_COORDS = {
    "scenario": lambda run: run.parent_run_id,
    "year": lambda run: run.year,
    "iteration": lambda run: run.iteration,
    "model": lambda run: run.model_name,
}


class MatrixViewFactory:
    """Opens an array artifact of many runs as one Dataset (see :meth:`load_matrix_view`).

    Parameters
    ----------
    tracker
        The tracker whose database and workspace hold the runs.
    """

    def __init__(self, tracker: Any) -> None:
        if not hasattr(tracker, "find_artifacts"):
            raise ArgumentTypeError(
                f"MatrixViewFactory() needs a tracker, got {tracker!r:.80}: pass "
                "MatrixViewFactory(tracker)."
            )
        self.tracker = tracker

    def load_matrix_view(
        self,
        key: str,
        variables: Sequence[str] | None = None,
        run_ids: Sequence[str] | None = None,
        *,
        parent_id: str | None = None,
        model: str | None = None,
        status: str = "completed",
        dim: str = "run_id",
    ) -> Any:
        """The artifact ``key`` of several runs, stacked along ``dim``.

        Parameters
        ----------
        key
            Output key of the array artifact (a ``.zarr`` store or ``.nc`` file).
        variables
            Data variables to keep; every run's array must hold them. ``None``: all.
        run_ids
            Runs to stack, in this order. ``None``: every run with ``status`` that
            produced ``key`` (narrowed by ``parent_id`` and ``model``), oldest first.
        parent_id
            Only runs of this scenario (their ``parent_run_id``).
        model
            Only runs of this model.
        status
            The status every stacked run must have (``"completed"``: a failed run's store
            may be partial).
        dim
            Name of the new dimension; its coordinate holds the run ids.

        Returns
        -------
        xarray.Dataset
            Lazily opened (dask-backed when dask is installed), with coordinates ``dim``,
            ``scenario``, ``year``, ``iteration`` and ``model`` along ``dim``.

        Raises
        ------
        KeyNotFoundError
            No completed run produced ``key``; a named run has no output ``key``; an array
            lacks one of ``variables``.
        RunNotFoundError
            A run id that is not in the database.
        ArgumentError
            A named run with another status, a repeated run id, or an artifact that is not
            an array store.
        OptionValueError
            An unknown ``status``.
        """
        key = validate_key(key)
        names = _names(variables, "variables")
        wanted = _names(run_ids, "run_ids")
        if not isinstance(dim, str) or not dim:
            raise ArgumentTypeError(f"dim={dim!r} must be a non-empty dimension name.")
        statuses = [s.value for s in RunStatus]
        if status not in statuses:
            raise OptionValueError("status", status, statuses)
        keep = _RunFilter(parent_id, model, status)
        if wanted is not None:
            pairs = self._named_runs(key, wanted, keep)
        else:
            pairs = self._all_runs(key, keep)
        frames = self._frames()
        for run, artifact in pairs:
            _check_array(frames, key, run, artifact)
        opened = [self.tracker.load(artifact, engine=ARRAY_ENGINE) for _, artifact in pairs]
        coords = {name: [field(run) for run, _ in pairs] for name, field in RUN_COORDS.items()}
        try:
            return frames.stack(
                ARRAY_ENGINE,
                opened,
                dim=dim,
                labels=[run.id for run, _ in pairs],
                coords=coords,
                variables=names,
            )
        except KeyError as exc:
            raise KeyNotFoundError(f"matrix view of {key!r}: {exc.args[0]}") from exc

    # -- finding the runs ---------------------------------------------------------------------

    def _all_runs(self, key: str, keep: _RunFilter) -> list[tuple[Run, Artifact]]:
        found: dict[str, tuple[Run, Artifact]] = {}
        for artifact in self.tracker.find_artifacts(key=key):  # newest first
            producer = artifact.run_id
            if producer is None or producer in found:
                continue
            run = self.tracker.get_run(producer)
            if keep.why_not(run) is None:
                found[producer] = (run, artifact)
        if not found:
            raise KeyNotFoundError(
                f"no {keep.describe()} produced an artifact with key {key!r}; check the key "
                "(tracker.find_artifacts() lists them) and the filters, or pass run_ids=[...]."
            )
        return sorted(found.values(), key=lambda pair: (pair[0].created_at, pair[0].id))

    def _named_runs(
        self, key: str, run_ids: list[str], keep: _RunFilter
    ) -> list[tuple[Run, Artifact]]:
        repeated = sorted({r for r in run_ids if run_ids.count(r) > 1})
        if repeated:
            raise ArgumentError(f"run_ids names {repeated} more than once; list each run once.")
        pairs = []
        for run_id in run_ids:
            run = self.tracker.get_run(run_id)
            why = keep.why_not(run)
            if why is not None:
                raise ArgumentError(f"run {run_id!r} {why}; leave it out of run_ids.")
            outputs = self.tracker.get_artifacts_for_run(run_id).outputs
            if key not in outputs:
                raise KeyNotFoundError(
                    f"run {run_id!r} has no output {key!r} (its outputs: {sorted(outputs)})."
                )
            pairs.append((run, outputs[key]))
        return pairs

    def _frames(self) -> Any:
        # The tracker's frame IO: the registry-chosen engines, so the api imports no xarray.
        return self.tracker.services.access.frames


@dataclass(frozen=True, slots=True)
class _RunFilter:
    """Which runs a matrix view may stack."""

    parent_id: str | None
    model: str | None
    status: str

    def why_not(self, run: Run) -> str | None:
        """Why ``run`` is left out, or None if it is kept."""
        if run.status != self.status:
            return f"is {run.status}, not {self.status} (a store of such a run may be partial)"
        if self.parent_id is not None and run.parent_run_id != self.parent_id:
            return f"belongs to scenario {run.parent_run_id!r}, not {self.parent_id!r}"
        if self.model is not None and run.model_name != self.model:
            return f"is of model {run.model_name!r}, not {self.model!r}"
        return None

    def describe(self) -> str:
        what = f"{self.status} run"
        if self.model is not None:
            what += f" of model {self.model!r}"
        if self.parent_id is not None:
            what += f" in scenario {self.parent_id!r}"
        return what


def _names(values: Sequence[str] | None, what: str) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str) or not all(isinstance(v, str) and v for v in values):
        raise ArgumentTypeError(
            f"{what}={values!r:.80} must be a list of non-empty names, e.g. {what}=['a', 'b']."
        )
    names = list(values)
    if not names:
        raise ArgumentError(f"{what}=[] selects nothing; pass None for all of them.")
    return names


def _check_array(frames: Any, key: str, run: Run, artifact: Artifact) -> None:
    spec_drivers = frames.drivers_of(ARRAY_ENGINE)
    if artifact.driver not in spec_drivers:
        raise ArgumentError(
            f"run {run.id!r}'s {key!r} is a {artifact.driver or 'driverless'} artifact "
            f"({artifact.uri}); matrix views stack array stores ({', '.join(spec_drivers)}). "
            "Query tables across runs with tracker.views instead."
        )
