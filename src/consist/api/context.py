"""The current tracker (per thread and asyncio task) and the ``RunContext`` handed to steps."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consist.api.capture import Capture
from consist.core.errors import ArgumentError, ArgumentTypeError, KeyNotFoundError
from consist.core.model import Artifact, Run
from consist.core.session import RunSession

if TYPE_CHECKING:
    from consist.api.tracker import Tracker

# A ContextVar, not a global: threads and asyncio tasks each see their own current tracker.
current_tracker_var: ContextVar[Any] = ContextVar("consist_current_tracker", default=None)


def current_tracker() -> Any:
    """The tracker whose run is open in this thread or task, or None."""
    return current_tracker_var.get()


def owner_tracker(tracker: Any, what: str, needs: str, *, required: bool = True) -> Any:
    """``tracker``, else the current tracker, for module-level ``consist.<what>()``.

    Raises
    ------
    ArgumentError
        If ``required`` and neither is there.
    ArgumentTypeError
        If the tracker found has no ``needs`` method (it is not a tracker).
    """
    found = tracker if tracker is not None else current_tracker()
    if found is None:
        if required:
            raise ArgumentError(f"consist.{what}() needs tracker=... when no run is open.")
        return None
    # Asked of the type: on an instance, hasattr would evaluate a property such as
    # ``engine`` (flushing and refreshing views) only to throw the value away.
    if not hasattr(type(found), needs):
        raise ArgumentTypeError(f"tracker={found!r:.80} is not a consist.Tracker.")
    return found


class RunContext:
    """What an ``inject_context`` step receives: its run, inputs and logging helpers."""

    def __init__(self, tracker: Tracker, session: RunSession) -> None:
        self._tracker = tracker
        self._session = session

    @property
    def run(self) -> Run:
        return self._session.run

    @property
    def run_dir(self) -> Path:
        """The run's artifact directory (created when first asked for)."""
        return self._session.ensure_dir()

    @property
    def inputs(self) -> dict[str, Artifact]:
        return dict(self._session.inputs)

    @property
    def is_cached(self) -> bool:
        return self._session.is_cached

    def load(self, key: str | Artifact, **kwargs: Any) -> Any:
        """Load the input ``key`` with the frame engine matching its format. An input
        ``Artifact`` (e.g. from ``ctx.inputs``) may be given instead of its key; an artifact
        that is not an input of this run is refused, as reading it would go unrecorded."""
        if isinstance(key, Artifact):
            given = key
            if not any(a.id == given.id for a in self._session.inputs.values()):
                raise KeyNotFoundError(
                    f"artifact {given.key!r} ({given.id}) is not an input of run "
                    f"{self.run.id!r}; its inputs are {sorted(self._session.inputs)}. Declare "
                    "it in inputs=... so the run's signature covers it."
                )
            return self._tracker.load(given, **kwargs)
        try:
            artifact = self._session.inputs[key]
        except KeyError:
            raise KeyNotFoundError(
                f"run {self.run.id!r} has no input {key!r}; its inputs are "
                f"{sorted(self._session.inputs)}"
            ) from None
        return self._tracker.load(artifact, **kwargs)

    def log_artifact(
        self, path_or_artifact: Any, key: str | None = None, **kwargs: Any
    ) -> Artifact:
        return self._tracker.log_artifact(path_or_artifact, key, **kwargs)

    def log_input(self, path_or_artifact: Any, key: str | None = None, **kwargs: Any) -> Artifact:
        return self._tracker.log_input(path_or_artifact, key, **kwargs)

    def log_output(self, path_or_artifact: Any, key: str | None = None, **kwargs: Any) -> Artifact:
        return self._tracker.log_output(path_or_artifact, key, **kwargs)

    def log_artifacts(
        self, paths: Iterable[Any] | Mapping[str, Any], **kwargs: Any
    ) -> dict[str, Artifact]:
        return self._tracker.log_artifacts(paths, **kwargs)

    def log_dataframe(self, df: Any, key: str, **kwargs: Any) -> Artifact:
        return self._tracker.log_dataframe(df, key, **kwargs)

    def log_meta(self, **values: Any) -> None:
        self._tracker.log_meta(**values)

    def output_path(self, key: str, ext: str = "parquet") -> Path:
        """Where to write the output ``key``: ``<run_dir>/<key>.<ext>`` (a key with ``/``
        makes subfolders, created here). Nothing is recorded until the file is logged."""
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts) or key.startswith("/"):
            raise ArgumentError(
                f"output_path(key={key!r}) needs a relative name such as 'skims' or "
                "'summary/mode_shares', without '.', '..' or empty parts."
            )
        suffix = ext.lstrip(".")
        path = self.run_dir.joinpath(*parts[:-1], f"{parts[-1]}.{suffix}" if suffix else parts[-1])
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def capture_outputs(
        self, directory: str | os.PathLike[str], pattern: str = "*", recursive: bool = False
    ) -> Capture:
        """Log files written into ``directory`` as outputs keyed by file stem.

        As a plain call: files created or modified since the run started. As a context
        manager (``with ctx.capture_outputs(d):``): files created or modified in the block.
        """
        return Capture(self._session, directory, pattern, recursive)
