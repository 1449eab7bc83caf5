"""Convenience lookups over recorded runs: the newest match, a run's inputs, outputs and
config, the differences between two runs' configs and facets, and where a URI points here.

Each answers a question the query service could answer in several lines; the tracker exposes
them under the names that workflows written for the original library call.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from consist.api.artifacts import ArtifactAccess
from consist.api.queries import RunQueries
from consist.core.checks import check_text
from consist.core.errors import RunMatchError
from consist.core.model import Artifact, Run

_MISSING = object()


class RunHelpers:
    """Shortcuts over :class:`RunQueries` (reads only)."""

    def __init__(self, queries: RunQueries, access: ArtifactAccess) -> None:
        self._queries = queries
        self._access = access

    def find_latest_run(self, **filters: Any) -> Run | None:
        """The newest *completed* run matching ``filters`` (those of ``find_runs``; pass
        ``status=`` to look at other states), or None."""
        filters = {"status": "completed", **filters, "limit": 1}
        filters.pop("index_by", None)
        runs = self._queries.find_runs(**filters)
        return runs[0] if runs else None

    def get_latest_run_id(self, **filters: Any) -> str:
        """The id of :meth:`find_latest_run`; ``RunMatchError`` (a ``LookupError`` and a
        ``ValueError``) when nothing matches."""
        run = self.find_latest_run(**filters)
        if run is None:
            described = ", ".join(f"{k}={v!r}" for k, v in filters.items()) or "no filters"
            raise RunMatchError(
                f"no completed run matches {described}; widen the filters or pass status=."
            )
        return run.id

    def get_run_outputs(self, run_id: str) -> dict[str, Artifact]:
        """The run's output artifacts by key."""
        return dict(self._queries.get_artifacts_for_run(run_id).outputs)

    def get_run_inputs(self, run_id: str) -> dict[str, Artifact]:
        """The run's input artifacts by key."""
        return dict(self._queries.get_artifacts_for_run(run_id).inputs)

    def get_run_config(self, run_id: str) -> dict[str, Any]:
        """The run's config as recorded (a dict; ``{}`` for a run without config; a config
        that was not a mapping comes back under the key ``"value"``)."""
        config = self._queries.get_run(run_id).config
        if config is None:
            return {}
        return dict(config) if isinstance(config, Mapping) else {"value": config}

    def diff_runs(self, left: str, right: str) -> dict[str, Any]:
        """How two runs' configs and facets differ, key by key (nested keys dotted).

        Returns ``{"left": id, "right": id, "changes": {key: {"status", "left", "right"}}}``
        with status ``"same"``, ``"changed"``, ``"added"`` (only on the right) or
        ``"removed"`` (only on the left). Facet keys count too, unless the config has the
        same key (a facet taken from the config says nothing new).
        """
        a, b = self._queries.get_run(left), self._queries.get_run(right)
        values_a, values_b = _comparable(a), _comparable(b)
        changes: dict[str, Any] = {}
        for key in sorted(set(values_a) | set(values_b)):
            va, vb = values_a.get(key, _MISSING), values_b.get(key, _MISSING)
            if va is _MISSING:
                status = "added"
            elif vb is _MISSING:
                status = "removed"
            else:
                status = "same" if va == vb else "changed"
            changes[key] = {
                "status": status,
                "left": None if va is _MISSING else va,
                "right": None if vb is _MISSING else vb,
            }
        return {"left": a.id, "right": b.id, "changes": changes}

    def resolve_uri(self, uri: str) -> Path:
        """The local path an artifact URI points at on this machine (this workspace, its
        mounts, else where the database says the bytes were written)."""
        check_text(uri, "uri")
        found = self._access.locate_uri(uri, None)
        return found if found is not None else self._access.workspace.to_path(uri)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: value} if prefix else {"value": value}


def _comparable(run: Run) -> dict[str, Any]:
    values = _flatten(run.config) if run.config is not None else {}
    facet = run.facet if run.facet is not None else run.meta.get("facet")
    for key, value in (_flatten(facet) if isinstance(facet, Mapping) else {}).items():
        values.setdefault(key, value)
    return values
