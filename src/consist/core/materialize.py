"""Copy recorded artifacts to chosen paths (the module path the original library's
notebooks import ``materialize_artifacts`` from; ``consist.materialize_artifacts`` is the
public name).

Pure: the tracker is used only through its ``materialize(artifact, dest)`` method.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from consist.core.errors import ArgumentTypeError
from consist.core.model import Artifact


def checked_pairs(items: Any) -> list[tuple[Artifact, Any]]:
    """``items`` (``(artifact, destination)`` pairs, or a mapping of artifact to
    destination) as a list of pairs, every one checked before anything is copied."""
    pairs = list(items.items()) if isinstance(items, dict) else list(items)
    checked: list[tuple[Artifact, Any]] = []
    for index, pair in enumerate(pairs):
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Artifact)):
            raise ArgumentTypeError(
                f"materialize_artifacts() items[{index}] is {pair!r:.80}; give (artifact, "
                "destination) pairs, e.g. [(result.outputs['table'], 'copy/table.csv')]."
            )
        if not isinstance(pair[1], (str, Path, os.PathLike)):
            raise ArgumentTypeError(
                f"materialize_artifacts() items[{index}] has destination {pair[1]!r:.80}; "
                "give a path."
            )
        checked.append(pair)
    return checked


def materialize_artifacts(tracker: Any, items: Any) -> dict[str, Any]:
    """Copy each artifact to its destination through ``tracker.materialize`` (digest
    verified); returns the destination paths by artifact key."""
    checked = checked_pairs(items)
    if not hasattr(tracker, "materialize"):
        raise ArgumentTypeError(
            f"materialize_artifacts() takes a consist.Tracker first, got {tracker!r:.80}."
        )
    return {artifact.key: tracker.materialize(artifact, dest) for artifact, dest in checked}
