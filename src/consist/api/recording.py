"""Manual run lifecycle (``begin_run`` / ``end_run`` / ``start_run`` / ``trace``) and logging.

:class:`RunRecording` is a service the :class:`~consist.api.tracker.Tracker` delegates to. It
owns the open run: one run is open per tracker at a time; the open run is also the "current
run" of this thread or task for the module-level ``consist.log_*`` functions (the tracker,
the service's ``owner``, is published in a ContextVar while a run is open).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from consist.api.capture import Capture
from consist.api.code import StepIdentity, block_code_identity, block_reads_identity
from consist.api.inputs import named_values
from consist.api.options import refuse_recording
from consist.api.schemas import table_name
from consist.api.shell import OpenRun
from consist.api.steps import refuse_unsupported
from consist.core.checks import check_text, storable_text
from consist.core.declared import declare, settle
from consist.core.errors import (
    ActiveRunError,
    ArgumentError,
    ArgumentTypeError,
    NoActiveRunError,
    OptionValueError,
    OutputMissingError,
)
from consist.core.inputs import driver_for
from consist.core.model import Artifact, Run, RunStatus, validate_key
from consist.core.session import RunSession, check_direction
from consist.core.step import StepScope, error_summary
from consist.core.tables import check_table_name
from consist.core.workspace import absolute

if TYPE_CHECKING:
    from consist.api.events import TrackerEvents
    from consist.api.frames import FrameIO
    from consist.api.runs import OpenScenario, ScenarioSlot
    from consist.api.steps import StepRequests
    from consist.api.tables import HotTables
    from consist.core.services import StepRunner

# Options a manually opened run accepts (a subset of tracker.run's).
RUN_OPTIONS = frozenset(
    {
        "config",
        "inputs",
        "depends_on",
        "hash_inputs",
        "tags",
        "year",
        "iteration",
        "description",
        "parent_run_id",
        "cache_mode",
        "validate_cached_outputs",
        "facet",
        "facet_from",
        "cache_hydration",
        "output_missing",
        "facet_index",
    }
)


# The statuses a run can be closed with by hand.
_END_STATUSES = (RunStatus.COMPLETED.value, RunStatus.FAILED.value)


def _declares(session: RunSession, value: Any, direction: str) -> bool:
    """Whether logging ``value`` declares an output whose file is not written yet."""
    if direction != "output" or not isinstance(value, (str, os.PathLike)):
        return False
    if isinstance(value, str) and "://" in value:
        return False
    return not absolute(value, session.artifact_dir).exists() and not absolute(value).exists()


def _schema_name(schema: Any) -> str:
    """The table name a schema (a schema class, or the name itself) stands for."""
    return check_table_name(schema, "schema") if isinstance(schema, str) else table_name(schema)


class RunRecording:
    """Opening runs by hand and logging artifacts into the open run.

    ``owner`` (the tracker) is opaque here: it is published as the current tracker while a
    run is open, handed to :class:`RunContext`, and yielded by ``start_run`` / ``trace``.
    """

    def __init__(
        self,
        requests: StepRequests,
        runner: StepRunner,
        events: TrackerEvents,
        frames: FrameIO,
        tables: HotTables,
        scenarios: ScenarioSlot,
        shell: OpenRun,
        access_mode: str,
    ) -> None:
        self._requests = requests
        self._runner = runner
        self._events = events
        self._frames = frames
        self._tables = tables
        self._scenarios = scenarios
        self.shell = shell
        self.access_mode = access_mode

    @property
    def session(self) -> RunSession | None:
        """The run open on the tracker (opened by hand or executing a step), if any."""
        return self.shell.session

    @property
    def current_run(self) -> Run | None:
        return self.shell.current_run

    @property
    def _scenario(self) -> OpenScenario | None:
        return self._scenarios.current

    # -- opening and closing runs --------------------------------------------------------------
    def begin(
        self,
        run_id: str | None,
        model: str | None,
        options: dict[str, Any],
        caller: FrameType,
        name: str | None = None,
        traced: str | None = None,
    ) -> Run:
        """Open a run by hand. ``name`` is given for traced blocks (``trace``, ``sc.trace``),
        whose identity also counts what the block reads from its surroundings; ``traced`` is
        their scenario's identity, folded in when the block reads a value that has no digest
        (or its source cannot be read), since the scenario then stands in for it."""
        if self.session is not None:
            raise ActiveRunError(
                f"run {self.session.run.id!r} is still open on this tracker; end it with "
                "tracker.end_run() (or leave its with-block) before starting another."
            )
        unknown = sorted(set(options) - RUN_OPTIONS)
        if unknown:
            raise ArgumentTypeError(
                f"unknown run options {unknown}; allowed: {sorted(RUN_OPTIONS)}."
            )
        refuse_unsupported(options)
        refuse_recording(self.access_mode, "it cannot open runs")
        scope = self._scenarios.scope()
        settings = self._requests.settings
        code: StepIdentity | tuple[str, str]
        code = block_code_identity(settings.code_identity, settings.project_root, caller)
        if name is not None:
            code, scope = self._block_identity(code, caller, scope, traced)
        step_name = name or model or run_id or "run"
        args = {**options, "run_id": run_id, "model": model or step_name, "name": step_name}
        args = {k: v for k, v in args.items() if v is not None}
        request = self._requests.build(None, args, code, scope)
        session = self._runner.open(request)
        self.shell.enter(session)
        return session.run

    def _block_identity(
        self, code: tuple[str, str], caller: FrameType, scope: StepScope, traced: str | None
    ) -> tuple[StepIdentity, StepScope]:
        settings = self._requests.settings
        reads = block_reads_identity(
            settings.code_identity, settings.project_root, caller, self._requests.object_digest
        )
        if reads is None:
            identity = StepIdentity(*code, detail={"unseen_reads": ["<source not readable>"]})
        else:
            identity = StepIdentity(*code, reads.digest, reads.detail)
        if traced is not None and (reads is None or reads.unseen):
            scope = scope.traced(traced)
        return identity, scope

    def end_run(self, status: str = "completed", error: BaseException | str | None = None) -> Run:
        """Close the open run as ``"completed"`` (default) or ``"failed"``."""
        session = self.session
        if session is None:
            raise NoActiveRunError(
                "end_run() was called but no run is open on this tracker; open one with "
                "tracker.begin_run(...) or use 'with tracker.start_run(...)'."
            )
        if status not in _END_STATUSES:
            raise OptionValueError("status", status, _END_STATUSES)
        final = RunStatus(status)
        if final is RunStatus.COMPLETED:
            try:
                settle(session)  # declared outputs; output_missing="error" fails the run
            except OutputMissingError as exc:
                self.end_run("failed", exc)
                raise
        message = error_summary(error) if isinstance(error, BaseException) else error
        if message is not None:
            message = storable_text(str(message))
        try:
            session.end(final, message)
        finally:
            self.shell.leave()
        if self._scenario is not None:
            self._scenario.absorb(session.run, session.inputs, session.outputs)
        self._events.run_finished(session.run)
        return session.run

    @contextmanager
    def start_run(self, run_id: str, model: str | None = None, **options: Any) -> Iterator[Any]:
        """A run as a ``with`` block: completed on normal exit, failed on an exception."""
        self.begin(run_id, model, options, sys._getframe(2))
        yield from self._close_when_done()

    @contextmanager
    def trace(self, name: str, run_id: str | None = None, **options: Any) -> Iterator[Any]:
        """Documented on ``Tracker.trace``."""
        model = options.pop("model", None) or name
        self.begin(run_id, model, options, sys._getframe(2), name=name)
        yield from self._close_when_done()

    def _close_when_done(self) -> Iterator[Any]:
        try:
            yield self.shell.owner
        except BaseException as exc:
            if self.session is not None:
                self.end_run("failed", exc)
            raise
        if self.session is not None:
            self.end_run()

    # -- the open run ----------------------------------------------------------------------
    def _require_session(self, what: str) -> RunSession:
        if self.session is None:
            raise NoActiveRunError(
                f"{what}() needs an open run; call it inside tracker.run(...), a "
                "'with tracker.trace(...)' / 'with tracker.start_run(...)' block, or after "
                "tracker.begin_run(...)."
            )
        return self.session

    def run_artifact_dir(self) -> Path:
        """The artifact directory of the open run (it exists already)."""
        return self._require_session("run_artifact_dir").ensure_dir()

    # -- logging ---------------------------------------------------------------------------
    def log_artifact(
        self,
        path_or_artifact: str | os.PathLike[str] | Artifact,
        key: str | None = None,
        direction: str = "output",
        schema: Any = None,
        driver: str | None = None,
        **meta: Any,
    ) -> Artifact:
        """Record a file (or an existing artifact) as an input or output of the open run."""
        session = self._require_session("log_artifact")
        if _declares(session, path_or_artifact, direction):
            # An output announced before it is written: digested when the run ends.
            meta = {**meta, "schema": _schema_name(schema)} if schema is not None else meta
            return declare(session, path_or_artifact, key, driver, meta)  # type: ignore[arg-type]
        staged = self._stage(session, path_or_artifact, key, direction, schema, driver, meta)
        artifact = session.add(*staged)
        session.record()
        return artifact

    def _stage(
        self,
        session: RunSession,
        value: Any,
        key: str | None,
        direction: str,
        schema: Any,
        driver: str | None,
        meta: dict[str, Any],
    ) -> tuple[str, Artifact, str]:
        """Check one file or artifact to log, without linking it yet: ``(key, artifact,
        direction)`` for ``session.add``. Nothing about the run changes if this raises."""
        direction = check_direction(direction)
        if schema is not None:
            meta = {**meta, "schema": _schema_name(schema)}
        session.commit_pending()
        if isinstance(value, Artifact):
            return validate_key(key if key is not None else value.key), value, direction
        if not isinstance(value, (str, os.PathLike)):
            raise ArgumentTypeError(
                f"log_artifact() takes a path or an Artifact, got {type(value).__name__} "
                f"({value!r:.80}); use log_dataframe() for DataFrames."
            )
        key, artifact = session.stage_file(
            value, key=key, direction=direction, driver=driver, meta=meta
        )
        return key, artifact, direction

    def log_input(self, path_or_artifact: Any, key: str | None = None, **kwargs: Any) -> Artifact:
        """Record a file or artifact the open run consumed."""
        return self.log_artifact(path_or_artifact, key, direction="input", **kwargs)

    def log_output(self, path_or_artifact: Any, key: str | None = None, **kwargs: Any) -> Artifact:
        """Record a file or artifact the open run produced."""
        return self.log_artifact(path_or_artifact, key, direction="output", **kwargs)

    def log_artifacts(
        self,
        paths: Iterable[Any] | Mapping[str, Any],
        direction: str = "output",
        **meta: Any,
    ) -> dict[str, Artifact]:
        """Record several files at once (keyed by mapping key, else by file stem)."""
        session = self._require_session("log_artifacts")
        # Every entry is checked before any is linked: one bad entry refuses the whole call.
        staged = [
            self._stage(session, value, key, direction, None, None, dict(meta))
            for key, value in named_values(paths, "paths")
        ]
        logged = {key: session.add(key, artifact, how) for key, artifact, how in staged}
        session.record()
        return logged

    def log_dataframe(
        self,
        df: Any,
        key: str,
        schema: Any = None,
        path: str | os.PathLike[str] | None = None,
        driver: str | None = None,
        direction: str = "output",
    ) -> Artifact:
        """Write ``df`` (parquet by default; csv by ``driver`` or path suffix) and record it.

        With ``schema`` (a SQLModel table class) the rows are also ingested into the
        schema's table, validated against it (see :meth:`ingest`), and the artifact joins
        the schema's view.
        """
        session = self._require_session("log_dataframe")
        if not self._frames.is_frame(df):
            raise ArgumentTypeError(
                f"log_dataframe() takes a DataFrame or Series, got {type(df).__name__}."
            )
        self._check_frame_target(session, df, key, path, driver, direction)
        meta = {"schema": _schema_name(schema)} if schema is not None else {}
        if schema is not None and not isinstance(schema, str) and self._tables.ingests:
            self._tables.check_fits(df, schema)
        artifact = session.log_frame(
            df, key=key, path=path, driver=driver, direction=direction, meta=meta
        )
        session.record()
        if schema is not None and not isinstance(schema, str) and self._tables.ingests:
            self._tables.ingest(artifact, df, schema)
        return artifact

    def _check_frame_target(
        self,
        session: RunSession,
        df: Any,
        key: str,
        path: str | os.PathLike[str] | None,
        driver: str | None,
        direction: str,
    ) -> None:
        """Refuse a frame that could not be written where asked, before anything is written."""
        validate_key(key)
        check_direction(direction)
        check_text(driver, "driver", optional=True)
        suffix_driver = None
        if path is not None:
            target = absolute(path, session.artifact_dir)
            if target.is_dir() and driver_for(target) is None:
                raise ArgumentError(
                    f"log_dataframe(path={str(path)!r}) names a directory; give a file path "
                    f"such as {str(target / (key + '.parquet'))!r}."
                )
            suffix_driver = driver_for(target)
        self._frames.check_writable(df, driver or suffix_driver or self._frames.default_driver(df))

    def capture_outputs(
        self, directory: str | os.PathLike[str], pattern: str = "*", recursive: bool = False
    ) -> Capture:
        """Log files written into ``directory`` as outputs of the open run, keyed by stem.

        As a plain call: files created or modified since the run started. As a context
        manager (``with tracker.capture_outputs(d):``): files created or modified in the
        block. The same as ``ctx.capture_outputs`` of an injected run context.
        """
        return Capture(self._require_session("capture_outputs"), directory, pattern, recursive)

    def log_meta(self, **values: Any) -> None:
        """Add key/value metadata to the open run (``run.meta``)."""
        session = self._require_session("log_meta")
        session.log_meta(values)
        session.record()
