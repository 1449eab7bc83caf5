"""``consist.load``: read an artifact's data by its driver."""

from __future__ import annotations

from typing import Any

from consist.api import options
from consist.api.context import owner_tracker
from consist.core.errors import ArgumentError, ArgumentTypeError
from consist.core.model import Artifact


def load(
    artifact: Artifact,
    tracker: Any = None,
    *,
    engine: str | None = None,
    db_fallback: str = "inputs-only",
    **kwargs: Any,
) -> Any:
    """Load ``artifact`` (parquet, csv, json, feather/arrow) as a DataFrame.

    Parameters
    ----------
    artifact
        An artifact from a run result, a query, or a coupler.
    tracker
        The tracker whose workspace resolves the artifact's path; defaults to the tracker the
        artifact came from, then to the tracker of the run executing now.
    engine
        ``"pandas"`` (default) or another installed frame engine, e.g. ``"polars"``.
    db_fallback
        When the file is gone but its rows were ingested (``tracker.ingest``,
        ``log_dataframe(schema=...)``), the csv/parquet file is rebuilt from the database:
        ``"inputs-only"`` (default) only for an input of the run executing now, ``"always"``
        for any artifact, ``"never"`` not at all.
    **kwargs
        Passed to the engine's reader.
    """
    options.choice("db_fallback", db_fallback, options.DB_FALLBACK_MODES)
    if not isinstance(artifact, Artifact):
        raise ArgumentTypeError(
            f"consist.load() takes an Artifact, got {type(artifact).__name__}; "
            "use result.outputs['key'] or tracker.get_artifacts_for_run(run_id).outputs['key']."
        )
    owner = owner_tracker(tracker, "load", "load", required=False)
    if owner is not None:
        return owner.load(artifact, engine=engine, db_fallback=db_fallback, **kwargs)
    if artifact._resolver is not None:
        return artifact._resolver.load(artifact, engine=engine, db_fallback=db_fallback, **kwargs)
    raise ArgumentError(
        f"artifact {artifact.key!r} is not attached to a tracker; pass tracker=... to consist.load."
    )


def materialize_artifacts(tracker: Any, items: Any) -> dict[str, Any]:
    """Copy recorded artifacts to chosen paths, each verified against its recorded digest.

    ``items`` is a list of ``(artifact, destination)`` pairs (or a mapping of artifact to
    destination). Every pair is checked before any file is copied; a digest mismatch raises
    ``IntegrityError`` and leaves no file at that destination. Returns the destination
    paths by artifact key.
    """
    from consist.core.materialize import checked_pairs

    checked = checked_pairs(items)
    owner = owner_tracker(tracker, "materialize_artifacts", "materialize")
    return {artifact.key: owner.materialize(artifact, dest) for artifact, dest in checked}
