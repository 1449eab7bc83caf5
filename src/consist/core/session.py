"""An open run: what it consumed and produced, and what a cache hit does when it logs.

Every way of recording work (``tracker.run`` while the function executes, ``start_run`` /
``begin_run``, ``trace`` blocks) goes through one :class:`RunSession`, so logging from inside a
step behaves the same everywhere.

On a cache hit the session starts out linked to the cached outputs. Re-logging an output with
the same key, location and bytes returns the cached artifact; logging anything else *demotes*
the hit to an ordinary execution: a warning, the links to cached outputs that were not
re-logged are removed, and the run is recorded as having executed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consist.core.checks import check_key_text, check_storable, check_text, plain_values
from consist.core.declared import Declaration
from consist.core.errors import (
    ArgumentError,
    ConsistWarning,
    InputNotFoundError,
    OptionValueError,
    OutputMissingError,
)
from consist.core.inputs import driver_for
from consist.core.model import Artifact, Direction, Run, RunStatus, validate_key
from consist.core.recovery import PROCESS_STARTED
from consist.core.tables import SCHEMA_COLUMNS, SCHEMA_ID, VIEW_DRIVERS
from consist.core.workspace import absolute

if TYPE_CHECKING:
    from consist.core.step import RunnerPorts


#: ``run.meta`` keys the library writes itself; ``log_meta`` may not overwrite them.
RESERVED_META = frozenset(
    {
        "cache_hit",
        "cache_source",
        "demoted_from",
        "hashing",
        "cache_hydration",
        "workspace",
        "scenario_run",
        "cache_miss",
        PROCESS_STARTED,
    }
)


def check_direction(direction: object) -> str:
    """``direction`` if it is ``"input"`` or ``"output"``, else :class:`OptionValueError`."""
    if direction == Direction.INPUT.value or direction == Direction.OUTPUT.value:
        return str(direction)
    raise OptionValueError("direction", direction, [d.value for d in Direction])


class RunSession:
    """Collects a run's inputs and outputs while it is open.

    Parameters
    ----------
    ports
        Adapters and shell services.
    run
        The run being recorded (its ``meta["cache_hit"]`` says whether it started as a hit).
    inputs
        Declared inputs by key (their identity is already in the signature).
    cached_outputs
        For a hit: the source run's outputs by key.
    hashing
        ``"full"`` or ``"fast"``, for digesting logged files.
    recording
        False in ``cache_mode="readonly"``: nothing is written.
    record_hit
        False when the hit *is* an existing run re-opened under its own explicit id: its row
        is left alone unless the session is demoted (then it is re-recorded as executed).
    """

    def __init__(
        self,
        ports: RunnerPorts,
        run: Run,
        inputs: dict[str, Artifact],
        *,
        cached_outputs: dict[str, Artifact] | None = None,
        hashing: str = "full",
        recording: bool = True,
        record_hit: bool = True,
        output_missing: str = "warn",
    ) -> None:
        self.ports = ports
        self.run = run
        self.inputs = dict(inputs)
        self.hashing = hashing
        self.recording = recording
        self.record_hit = record_hit
        self._cached = dict(cached_outputs or {})
        self.outputs: dict[str, Artifact] = dict(self._cached)
        self._relogged: set[str] = set()
        self._unlinked: dict[str, Artifact] = {}
        self.artifact_dir = ports.workspace.to_path(run.artifact_dir or "")
        # Commits staged by the plain-call form of ``capture_outputs`` (see api.capture).
        self.pending: list[Callable[[], None]] = []
        self.started_mtime_ns: int | None = None
        self._dir_made = False
        #: Outputs logged before their file existed, digested when the run ends.
        self.declared: dict[str, Declaration] = {}
        self.output_missing = output_missing

    @property
    def is_cached(self) -> bool:
        return bool(self.run.meta.get("cache_hit", False))

    # -- recording -------------------------------------------------------------------------
    def record(self) -> None:
        """Make the current state durable (snapshot, then queued rows)."""
        if not self.recording or (self.is_cached and not self.record_hit):
            return
        unlinks, self._unlinked = self._unlinked, {}
        self.ports.recorder.record(
            self.run,
            self.inputs,
            self.outputs,
            snapshot_dir=self.ports.snapshot_dir,
            unlink_outputs=unlinks,
        )

    def begin(self, *, exact_start: bool = False) -> None:
        """Record the opening state.

        With ``exact_start`` the session also finds the filesystem time at which the run's
        body starts, for ``capture_outputs`` as a plain call (see :meth:`_next_fs_tick`).
        The artifact directory is made when it is first asked for (:meth:`ensure_dir`) or
        written to: most steps never write there, and a folder costs as much as a file.
        """
        self.record()
        if exact_start:
            self.started_mtime_ns = self._next_fs_tick()

    def ensure_dir(self) -> Path:
        """The artifact directory, created if it does not exist yet."""
        if not self._dir_made:
            self.ports.fs.make_dirs(self.artifact_dir)
            self._dir_made = True
        return self.artifact_dir

    def _next_fs_tick(self) -> int:
        """A file timestamp later than every write made before the run began.

        File times come from a coarse clock (one tick is 1-4 ms): a file written by the
        previous run in the same tick as this run's start would look "modified since the run
        started". So probe the clock through a scratch file until it ticks past the opening
        write; every earlier write is then strictly older, every later one at least as new.
        """
        probe = self.ensure_dir() / ".consist-clock"
        self.ports.fs.write_atomic(probe, b"")
        opened = self.ports.fs.mtime_ns(probe)
        deadline = time.monotonic() + 0.5
        now = opened
        while now <= opened and time.monotonic() < deadline:
            time.sleep(0.0005)
            self.ports.fs.write_atomic(probe, b"")
            now = self.ports.fs.mtime_ns(probe)
        self.ports.fs.remove(probe)
        return now

    def end(self, status: RunStatus, error: str | None = None) -> None:
        """Close the run with ``status`` and record it."""
        if status is RunStatus.COMPLETED:
            self.commit_pending()
        else:
            self.pending.clear()
        self.run.status = status
        self.run.error = error
        self.run.ended_at = self.ports.clock.now()
        self.record()

    def commit_pending(self) -> None:
        pending, self.pending = self.pending, []
        for commit in pending:
            commit()

    # -- logging ---------------------------------------------------------------------------
    def log_file(
        self,
        path: str | os.PathLike[str],
        *,
        key: str | None = None,
        direction: str = "output",
        driver: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Artifact:
        """Record a file or directory this run consumed or produced."""
        self.commit_pending()
        key, artifact = self.stage_file(
            path, key=key, direction=direction, driver=driver, meta=meta
        )
        return self.add(key, artifact, direction)

    def stage_file(
        self,
        path: str | os.PathLike[str],
        *,
        key: str | None = None,
        direction: str = "output",
        driver: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> tuple[str, Artifact]:
        """Check and digest a file to log, without adding it to the run yet: ``(key,
        artifact)`` for :meth:`add`. Lets a caller logging several files refuse them all
        when one is bad."""
        direction = check_direction(direction)
        check_text(driver, "driver", optional=True)
        for name in meta or {}:  # meta keys are looked up by name: no NUL in them
            if isinstance(name, str):
                check_key_text(name, "a meta key")
        check_storable(meta or {}, "meta")
        local = self._local(path, self.artifact_dir if direction == "output" else None)
        if not self.ports.fs.exists(local) and direction == "output":
            local = self._local(path, None)
        key = validate_key(key if key is not None else (local.stem or local.name))
        if not self.ports.fs.exists(local):
            if direction == Direction.INPUT.value:
                raise InputNotFoundError(key, local)
            raise OutputMissingError(
                f"cannot log {key!r}: {local} does not exist; write the file first, "
                "or pass the path it was written to."
            )
        return key, self._new_artifact(key, local, driver, meta, direction, described=local)

    def log_existing(
        self, artifact: Artifact, *, key: str | None = None, direction: str = "output"
    ) -> Artifact:
        """Link an artifact recorded earlier (e.g. another run's output) to this run."""
        self.commit_pending()
        return self.add(validate_key(key or artifact.key), artifact, check_direction(direction))

    def log_frame(
        self,
        frame: Any,
        *,
        key: str,
        path: str | os.PathLike[str] | None = None,
        driver: str | None = None,
        direction: str = "output",
        meta: dict[str, Any] | None = None,
    ) -> Artifact:
        """Write a DataFrame (parquet unless ``driver`` or the path suffix says otherwise)."""
        self.commit_pending()
        key = validate_key(key)
        direction = check_direction(direction)  # before the file is written
        check_text(driver, "driver", optional=True)
        # The value's engine picks the format nothing else names: parquet for frames, a
        # zarr directory for arrays.
        chooser = getattr(self.ports.frames, "default_driver", None)  # older FrameIO fakes
        default = chooser(frame) if chooser is not None else "parquet"
        suffix = "." + (driver or default)
        target = (
            self._local(path, self.artifact_dir) if path else self.artifact_dir / (key + suffix)
        )
        driver = driver or driver_for(target) or default
        self.ports.fs.make_dirs(target.parent)
        self.ports.frames.write(frame, target, driver)
        artifact = self._new_artifact(key, target, driver, meta, direction, described=frame)
        # Where a frame is written by default is this library's choice, so on a hit only its
        # key and bytes must match the cached output. Identity alone is not trusted: a block
        # may compute its frame from values the signature does not see.
        kept = self.add(key, artifact, direction, match_location=path is not None)
        if kept is not artifact and kept.uri != artifact.uri:
            # A second copy of the cached bytes. A directory store (zarr) cannot be unlinked
            # as a file; it is left in place, harmless beside the cached one.
            with contextlib.suppress(IsADirectoryError, PermissionError):
                self.ports.fs.remove(target)
        return kept

    def log_meta(self, values: dict[str, Any]) -> None:
        """Add ``values`` to ``run.meta``; keys the library keeps there are refused."""
        taken = sorted(set(values) & RESERVED_META)
        if taken:
            raise ArgumentError(
                f"log_meta() cannot set {taken}: Consist keeps its own bookkeeping under "
                f"those names ({', '.join(sorted(RESERVED_META))}); choose other names."
            )
        for key in values:  # meta keys are looked up by name: no NUL in them
            if isinstance(key, str):
                check_key_text(key, "a meta key")
        values = plain_values(values)
        check_storable(values, "meta")
        self.run.meta.update(values)

    # -- internals -------------------------------------------------------------------------
    def _local(self, path: str | os.PathLike[str], base: Path | None) -> Path:
        """A local path; ``mount://rel`` addresses resolve through the workspace (a mount on
        an object store resolves to its staging folder, uploaded when recorded)."""
        if isinstance(path, str) and "://" in path:
            return self.ports.workspace.to_path(path)
        return absolute(path, base)

    def _new_artifact(
        self,
        key: str,
        path: Path,
        driver: str | None,
        meta: dict[str, Any] | None,
        direction: str,
        described: Any = None,
    ) -> Artifact:
        found = self.ports.fs.digest(path, self.hashing)
        uri, portable = self.ports.workspace.to_uri(path)
        if not portable:
            self.ports.workspace.warn_not_portable(path)
        produced = direction == Direction.OUTPUT.value
        artifact = Artifact(
            id=secrets.token_hex(16),
            key=key,
            uri=uri,
            driver=driver or driver_for(path),
            digest=found.digest,
            size=found.size,
            run_id=self.run.id if produced else None,
            created_at=self.ports.clock.now(),
            meta=plain_values(dict(meta or {})),
            producer_signature=self.run.signature if produced else None,
        )
        if produced and artifact.driver in VIEW_DRIVERS:
            self._capture_schema(artifact, described)
        return self.ports.artifacts.attach(artifact)

    def _capture_schema(self, artifact: Artifact, described: Any) -> None:
        """Note the columns of a tabular output (the store keeps each distinct schema once)."""
        frame = described if not isinstance(described, Path) else None
        schema = (
            self.ports.frames.describe(frame)
            if frame is not None
            else self.ports.frames.describe(described, artifact.driver)
        )
        if schema is not None:
            artifact.meta[SCHEMA_ID] = schema.id
            artifact.meta[SCHEMA_COLUMNS] = schema.to_json()

    def add(
        self, key: str, artifact: Artifact, direction: str, *, match_location: bool = True
    ) -> Artifact:
        """Link ``artifact`` to the run under ``key`` (as returned by :meth:`stage_file`)."""
        direction = check_direction(direction)
        if direction == Direction.INPUT.value:
            self.inputs[key] = artifact
            self._notify(artifact, direction)
            return artifact
        cached = self._cached.get(key) if self.is_cached else None
        same_place = not match_location or cached is not None and cached.uri == artifact.uri
        if cached is not None and same_place and cached.digest == artifact.digest:
            self._relogged.add(key)
            return cached
        if self.is_cached:
            self._demote(key)
        self.outputs[key] = artifact
        self._notify(artifact, direction)
        return artifact

    def _demote(self, key: str) -> None:
        source = self.run.meta.pop("cache_source", None)
        self.run.meta["cache_hit"] = False
        self.run.meta["demoted_from"] = source
        warnings.warn(
            f"run {self.run.id!r} started as a cache hit of {source!r} but logged a new or "
            f"different output {key!r}; it is recorded as an ordinary execution instead.",
            ConsistWarning,
            stacklevel=5,
        )
        for cached_key, artifact in self._cached.items():
            if cached_key not in self._relogged:
                self.outputs.pop(cached_key, None)
                self._unlinked[cached_key] = artifact
        self._cached = {}

    def _notify(self, artifact: Artifact, direction: str) -> None:
        self.ports.events.artifact_logged(self.run, artifact, direction)
