"""Module-level ``consist.log_*`` functions: they act on the run open in this thread or task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consist.api.context import current_tracker
from consist.core.errors import NoActiveRunError
from consist.core.model import Artifact


def _open(what: str) -> Any:
    tracker = current_tracker()
    if tracker is None or tracker.services.recording.session is None:
        raise NoActiveRunError(
            f"consist.{what}() was called outside any run; call it inside a step run by "
            "tracker.run(...), inside a 'with tracker.trace(...)' block, or after "
            "tracker.begin_run(...)."
        )
    return tracker


def log_artifact(*args: Any, **kwargs: Any) -> Artifact:
    """Record a file or artifact in the current run (see ``Tracker.log_artifact``)."""
    return _open("log_artifact").log_artifact(*args, **kwargs)  # type: ignore[no-any-return]


def log_input(*args: Any, **kwargs: Any) -> Artifact:
    """Record an input of the current run (see ``Tracker.log_input``)."""
    return _open("log_input").log_input(*args, **kwargs)  # type: ignore[no-any-return]


def log_output(*args: Any, **kwargs: Any) -> Artifact:
    """Record an output of the current run (see ``Tracker.log_output``)."""
    return _open("log_output").log_output(*args, **kwargs)  # type: ignore[no-any-return]


def log_artifacts(*args: Any, **kwargs: Any) -> dict[str, Artifact]:
    """Record several files in the current run (see ``Tracker.log_artifacts``)."""
    return _open("log_artifacts").log_artifacts(*args, **kwargs)  # type: ignore[no-any-return]


def log_dataframe(*args: Any, **kwargs: Any) -> Artifact:
    """Write and record a DataFrame in the current run (see ``Tracker.log_dataframe``)."""
    return _open("log_dataframe").log_dataframe(*args, **kwargs)  # type: ignore[no-any-return]


def log_meta(**values: Any) -> None:
    """Add metadata to the current run (see ``Tracker.log_meta``)."""
    _open("log_meta").log_meta(**values)


def current_run_dir() -> Path:
    """The artifact directory of the current run."""
    return _open("current_run_dir").run_artifact_dir()  # type: ignore[no-any-return]


def capture_outputs(directory: Any, pattern: str = "*", recursive: bool = False) -> Any:
    """Log files written into ``directory`` as outputs of the current run (see
    ``Tracker.capture_outputs``); a plain call or a ``with`` block."""
    return _open("capture_outputs").capture_outputs(directory, pattern, recursive)
