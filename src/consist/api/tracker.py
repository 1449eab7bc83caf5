"""``Tracker``: the user's handle on a workspace and its provenance database."""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consist.api import arguments, options, steps, stores
from consist.api.artifacts import ArtifactAccess
from consist.api.bootstrap import build_registry, construct, get_plugin_manager
from consist.api.capture import Capture
from consist.api.events import Callback, TrackerEvents
from consist.api.frames import FrameIO
from consist.api.lineage import RunLineage
from consist.api.maintenance import SnapshotMaintenance
from consist.api.processes import ThisProcess
from consist.api.queries import RunQueries
from consist.api.recording import RunRecording
from consist.api.scenario import Scenario
from consist.api.steps import StepSettings, build_request, refuse_unsupported, step_decorator
from consist.api.tables import HotTables
from consist.api.views import ViewRegistry
from consist.core.checks import check_int
from consist.core.errors import (
    ActiveRunError,
    ArgumentTypeError,
    ConsistError,
    MissingBytesError,
    ReadOnlyError,
    redact,
)
from consist.core.explain import CacheExplanation
from consist.core.lineage import LineageNode
from consist.core.model import Artifact, Run, RunArtifacts, RunResult, RunStatus
from consist.core.ports.clock import SystemClock
from consist.core.ports.store import MetadataStore, SqlEngineProvider
from consist.core.services import StepRunner
from consist.core.session import RunSession
from consist.core.step import RunnerPorts, StepRequest, StepScope
from consist.core.tables import IngestResult
from consist.core.workspace import Workspace, absolute

if TYPE_CHECKING:
    from rich.console import Console


class Tracker:
    """Records and caches runs in ``run_dir``, with provenance in the database at ``db_path``.

    Parameters
    ----------
    run_dir
        Workspace root (created if missing). Outputs go under ``run_dir/outputs/<model>/<run_id>``
        and run snapshots under ``run_dir/.consist/runs``.
    db_path
        Path or URL of the metadata store; the suffix or scheme picks the store
        (``.duckdb`` → DuckDB). ``None`` → ``run_dir/provenance.duckdb``.
    mounts
        ``{"name": "/local/root"}``: files under a root are recorded as ``name://relative``.
    project_root
        Code under this directory (outside site-packages) counts for ``code_identity="deps"``.
        ``None`` (default): found from each step's own source file, the nearest folder above
        it holding ``pyproject.toml``, ``setup.cfg``, ``setup.py`` or ``.git`` (else the
        file's folder), so the launch folder never matters.
    hashing
        ``"full"`` (BLAKE3 of the bytes, memoised) or ``"fast"`` (size and mtime).
    code_identity
        ``"auto"``, ``"deps"``, ``"source"``, ``"module"``, ``"git"`` or a literal version.
    schemas
        SQLModel table classes to register as typed cross-run views (``tracker.views``).
    cache_epoch
        Folded into every signature; bump it to invalidate every cached result.
    read_only
        Allow lookups and loads only; anything that would record raises ``ReadOnlyError``.
    plugins
        Plugin names to allow (third-party allow-list) or, prefixed with ``-``, to block.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        db_path: str | os.PathLike[str] | None = None,
        *,
        mounts: Mapping[str, str | os.PathLike[str]] | None = None,
        project_root: str | os.PathLike[str] | None = None,
        hashing: str = "full",
        code_identity: str = "auto",
        schemas: Sequence[type] | None = None,
        cache_epoch: int = 0,
        read_only: bool = False,
        plugins: Iterable[str] | None = None,
        flush_interval: float = 0.1,
    ) -> None:
        # Every argument is checked before anything is created on disk.
        self.hashing = options.hashing(hashing)
        self.code_identity = options.code_identity(code_identity)
        self.cache_epoch = check_int(cache_epoch, "cache_epoch")
        self.read_only = arguments.flag(read_only, "read_only")
        self.mounts = arguments.mounts(mounts)
        models = arguments.schemas(schemas)
        flush_interval = arguments.seconds(flush_interval, "flush_interval")
        self.run_dir = absolute(run_dir)
        self.project_root = absolute(project_root) if project_root is not None else None
        self._consist_dir = self.run_dir / ".consist"

        self._pm = get_plugin_manager()
        self._registry = build_registry(self._pm, plugins)
        self.db_path = arguments.store_location(db_path, self.run_dir)
        store_spec = self._registry.store_for(self.db_path)
        self._fs = construct(self._registry.get("filesystem", "local"), cache_dir=self._consist_dir)
        with arguments.removed_if_refused(self.run_dir):
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._recorder = stores.acquire(
                self.db_path,
                lambda: construct(store_spec, self.db_path),
                self._fs.write_atomic,
                self._fs.remove,
                flush_interval,
            )
        self._finalizer = weakref.finalize(self, stores.release, self.db_path)
        try:
            self._open_rest(models)
        except BaseException:  # a refused tracker releases the shared store at once
            self.close()
            raise

    def _open_rest(self, models: list[type]) -> None:
        """The part of ``__init__`` that runs once the store is open."""
        self._store: MetadataStore = self._recorder.store
        self._workspace = Workspace(self.run_dir, self.mounts)
        self._frames = FrameIO(self._registry)
        self._access = ArtifactAccess(self._workspace, self._frames, self._recorder.get_run)
        self._events = TrackerEvents(self._pm.hook)
        self._queries = RunQueries(self._store, self._recorder, self._access, self.db_path)
        self._tables = HotTables(
            self._store,
            self.db_path,
            self._frames,
            self._access,
            self._queries,
            self._recorder.flush,
            lambda: self._recording.session,
            self._consist_dir,
            self.read_only,
        )
        self._access.rebuild = self._tables.rebuild_for_load
        self._lineage = RunLineage(self._queries)
        self._maintenance = SnapshotMaintenance(
            self._store, self._recorder, self._fs, self._consist_dir, self.read_only
        )
        self._executors: dict[str, Any] = {}
        self._runner = StepRunner(
            RunnerPorts(
                recorder=self._recorder,
                fs=self._fs,
                frames=self._frames,
                executor=self._executor,
                workspace=self._workspace,
                clock=SystemClock(),
                events=self._events,
                attach=self._access.attach,
                snapshot_dir=self._consist_dir / "runs",
                activate=lambda session: self._recording.activate(session),
                make_context=lambda session: self._recording.context(session),
                capture=Capture,
                locate=self._access.locate,
                rebuild=self.rebuild_from_rows,
                rebuildable=self.is_rebuildable,
                process=ThisProcess(),
            )
        )
        self._scenario: Scenario | None = None
        self._recording = RunRecording(
            self._request,
            self._refuse_unsupported,
            self._runner,
            self._events,
            self._frames,
            self._tables,
            lambda: self._scenario,
            self,
            self.read_only,
            self.code_identity,
            self.project_root,
        )
        if not self.read_only:
            self._maintenance.recover()
        self.views = ViewRegistry(
            self._tables.table_store,
            self.flush,
            self._tables.ingest_source,
            self._access.locate_uri,
        )
        for model in models:
            self.views.register(model)

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Flush pending records and release the database. Idempotent."""
        self._finalizer()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def flush(self) -> None:
        """Write queued records to the database now (they are already safe in snapshots)."""
        self._recorder.flush()

    @property
    def engine(self) -> Any:
        """A SQLAlchemy engine over the metadata database, for ``select(...)`` queries."""
        if not isinstance(self._store, SqlEngineProvider):
            raise ConsistError(
                f"the store at {redact(self.db_path)!r} does not offer a SQL engine."
            )
        self.flush()
        self.views.refresh()
        return self._store.sqlalchemy_engine()

    @property
    def current_run(self) -> Run | None:
        """The run open on this tracker (``None`` outside a run)."""
        return self._recording.current_run

    @property
    def _session(self) -> RunSession | None:
        return self._recording.session

    @property
    def is_cached(self) -> bool:
        """Inside a run: whether it is a cache hit."""
        return bool(self.current_run is not None and self.current_run.cache_hit)

    def _executor(self, name: str) -> Any:
        if name not in self._executors:
            self._executors[name] = construct(self._registry.get("executor", name))
        return self._executors[name]

    # -- lookups (RunQueries), lineage (RunLineage), maintenance (SnapshotMaintenance) -----
    def get_run(self, run_id: str) -> Run:
        """The run with ``run_id``; ``RunNotFoundError`` (a ``LookupError``) if none."""
        return self._queries.get_run(run_id)

    def get_artifacts_for_run(self, run_id: str) -> RunArtifacts:
        """The run's input and output artifacts, by key (``.inputs`` / ``.outputs``)."""
        return self._queries.get_artifacts_for_run(run_id)

    def get_artifact(self, key_or_id: str) -> Artifact:
        """The artifact with this id, else the newest artifact with this key."""
        return self._queries.get_artifact(key_or_id)

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
        return self._queries.find_artifacts(**{k: v for k, v in locals().items() if k != "self"})

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
        return self._queries.find_runs(**{k: v for k, v in locals().items() if k != "self"})

    def find_run(self, **filters: Any) -> Run:
        """The one run matching ``filters``; ``LookupError`` saying how many matched otherwise."""
        return self._queries.find_run(**filters)

    def explain(self, run_id: str) -> CacheExplanation:
        """Why run ``run_id`` was a cache hit (its source), or why it executed: what differs
        from the nearest earlier run of the same model (code, config keys, inputs, ...)."""
        return self._queries.explain(run_id)

    def history(self, limit: int | None = 20) -> Any:
        """Recent runs as a pandas DataFrame, newest first (``limit=None``: all of them)."""
        return self._queries.history(limit)

    def lineage(self, artifact_or_key: Artifact | str, max_depth: int | None = None) -> LineageNode:
        """The lineage tree of an artifact (see :func:`consist.api.lineage.lineage`)."""
        return self._lineage.lineage(artifact_or_key, max_depth)

    def print_lineage(
        self,
        artifact_or_key: Artifact | str,
        max_depth: int | None = None,
        console: Console | None = None,
    ) -> None:
        """Print an artifact's lineage as a tree (see :func:`print_lineage`)."""
        self._lineage.print_lineage(artifact_or_key, max_depth, console)

    def export_lineage(
        self,
        artifact_or_key: Artifact | str,
        format: str = "openlineage",
        max_depth: int | None = None,
    ) -> list[dict[str, Any]] | dict[str, Any] | str:
        """An artifact's lineage as ``"openlineage"``, ``"prov-json"`` or ``"mermaid"``."""
        return self._lineage.export_lineage(artifact_or_key, format, max_depth)

    def rebuild_from_snapshots(
        self,
        progress: Callable[[int, int], None] | None = None,
        *,
        on_skip: Callable[[Path, str], None] | None = None,
    ) -> int:
        """Recreate the database rows of every run snapshot in this workspace.

        Each snapshot (``run_dir/.consist/runs/<run_id>.json``) holds a run's last recorded
        state and every artifact it linked, so a deleted or damaged database can be rebuilt:
        runs, artifacts, links and facets come back as they were recorded. Rows already in
        the database are kept (runs are replaced by their snapshot state). Ingested table
        rows are data, not provenance, and are not in snapshots.

        Parameters
        ----------
        progress
            Called as ``progress(done, total)`` after each group of snapshots.
        on_skip
            Called as ``on_skip(path, reason)`` for each snapshot that could not be restored
            (unreadable, or refused by the database); each is also logged as a warning. The
            other snapshots are restored regardless.

        Returns
        -------
        int
            The number of runs restored.
        """
        return self._maintenance.rebuild_from_snapshots(progress, on_skip=on_skip)

    def _recover(self) -> None:  # at open: pending snapshots in, dead processes' runs crashed
        self._maintenance.recover()

    # -- runs opened by hand and logging (RunRecording) ------------------------------------
    def begin_run(self, run_id: str | None = None, model: str | None = None, **options: Any) -> Run:
        """Open a run whose work you do yourself; close it with :meth:`end_run`.

        The cache is consulted (``tracker.is_cached`` tells whether this is a hit), but nothing
        is skipped: that is up to you.
        """
        return self._recording.begin(run_id, model, options, sys._getframe(1))

    def end_run(self, status: str = "completed", error: BaseException | str | None = None) -> Run:
        """Close the open run as ``"completed"`` (default) or ``"failed"``."""
        return self._recording.end_run(status, error)

    def start_run(
        self, run_id: str, model: str | None = None, **options: Any
    ) -> AbstractContextManager[Tracker]:
        """A run as a ``with`` block: completed on normal exit, failed on an exception."""
        return self._recording.start_run(run_id, model, **options)

    def trace(
        self, name: str, run_id: str | None = None, **options: Any
    ) -> AbstractContextManager[Tracker]:
        """An inline block recorded as a run named ``name``. The block always executes, also
        on a cache hit (check ``tracker.is_cached`` to skip work)."""
        return self._recording.trace(name, run_id, **options)

    def run_artifact_dir(self) -> Path:
        """The artifact directory of the open run (it exists already)."""
        return self._recording.run_artifact_dir()

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
        return self._recording.log_artifact(
            path_or_artifact, key, direction, schema, driver, **meta
        )

    def log_input(self, path_or_artifact: Any, key: str | None = None, **kwargs: Any) -> Artifact:
        """Record a file or artifact the open run consumed."""
        return self._recording.log_input(path_or_artifact, key, **kwargs)

    def log_output(self, path_or_artifact: Any, key: str | None = None, **kwargs: Any) -> Artifact:
        """Record a file or artifact the open run produced."""
        return self._recording.log_output(path_or_artifact, key, **kwargs)

    def log_artifacts(
        self,
        paths: Iterable[Any] | Mapping[str, Any],
        direction: str = "output",
        **meta: Any,
    ) -> dict[str, Artifact]:
        """Record several files at once (keyed by mapping key, else by file stem)."""
        return self._recording.log_artifacts(paths, direction, **meta)

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
        return self._recording.log_dataframe(df, key, schema, path, driver, direction)

    def log_meta(self, **values: Any) -> None:
        """Add key/value metadata to the open run (``run.meta``)."""
        self._recording.log_meta(**values)

    # -- events ---------------------------------------------------------------------------
    def on_run_start(self, callback: Callback) -> Callback:
        """Call ``callback(run)`` when a run starts executing. Returns the callback."""
        self._events.on_start.append(callback)
        return callback

    def on_run_complete(self, callback: Callback) -> Callback:
        """Call ``callback(run)`` when a run completes (executed or cache hit)."""
        self._events.on_complete.append(callback)
        return callback

    def on_run_failed(self, callback: Callback) -> Callback:
        """Call ``callback(run)`` when a run fails."""
        self._events.on_failed.append(callback)
        return callback

    # -- steps ----------------------------------------------------------------------------
    def define_step(
        self,
        outputs: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        description: str | None = None,
        **run_defaults: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorate a function with defaults that :meth:`run` uses when not given explicitly."""
        return step_decorator(Tracker.run, outputs, tags, description, run_defaults)

    def run(
        self,
        fn: Callable[..., Any] | None = None,
        name: str | None = None,
        *,
        run_id: str | None = None,
        model: str | None = None,
        description: str | None = None,
        config: Any = None,
        inputs: Mapping[str, Any] | Sequence[Any] | None = None,
        depends_on: Mapping[str, Any] | Sequence[Any] | None = None,
        outputs: Sequence[str] | None = None,
        output_paths: Mapping[str, str | os.PathLike[str]] | None = None,
        fn_args: Mapping[str, Any] | None = None,
        load_inputs: bool | None = None,
        inject_context: bool | str = False,
        tags: Sequence[str] | None = None,
        year: int | None = None,
        iteration: int | None = None,
        facet: Any = None,
        facet_from: Sequence[str] | None = None,
        hash_inputs: Sequence[Any] | None = None,
        cache_mode: str | None = None,
        cache_hydration: str | None = None,
        validate_cached_outputs: str | None = None,
        executor: str | None = None,
        container: Mapping[str, Any] | None = None,
        capture_dir: str | os.PathLike[str] | None = None,
        capture_pattern: str = "*",
        output_missing: str | None = None,
        materialize_cached_outputs_dir: str | os.PathLike[str] | None = None,
    ) -> RunResult:
        """Run ``fn`` through the cache: on a hit it is not called and the recorded outputs
        are returned; on a miss it runs and its outputs are recorded.

        See the user guide for the binding and output-mapping rules.
        """
        given = {k: v for k, v in locals().items() if k not in ("self", "fn")}
        return self._run_step(fn, given)

    def _run_step(self, fn: Any, given: dict[str, Any]) -> RunResult:
        """``run`` after its keyword arguments were gathered (also the path of ``sc.run``)."""
        if fn is None or not callable(fn):
            raise ArgumentTypeError(
                f"run() needs a callable fn, got {fn!r:.80}: pass the step function itself, "
                "e.g. tracker.run(clean_data, ...)."
            )
        given = {k: v for k, v in given.items() if v is not None}
        args, name = {**getattr(fn, steps.STEP_ATTRIBUTE, {}), **given}, steps.step_name(fn)
        self._refuse_unsupported(args)
        if self.read_only:
            raise ReadOnlyError(
                f"this tracker was opened with read_only=True, so run({name!r}) cannot "
                "record; open Tracker(..., read_only=False) to run steps."
            )
        if self._session is not None:
            raise ActiveRunError(
                f"run({name!r}) was called while run {self._session.run.id!r} is open on "
                "this tracker; end that run first, or call the step outside its block."
            )
        scenario = self._scenario
        scope = scenario.step_scope() if scenario is not None else StepScope()
        request = self._request(fn, args, scope=scope)
        try:
            result = self._runner.run(request)
        except BaseException:
            if scenario is not None:
                scenario.note_failure(f"{request.model!r}")
            raise
        if scenario is not None:
            scenario.absorb(result.run, result.inputs, result.outputs)
        return result

    def scenario(self, name: str, **options: Any) -> Scenario:
        """Open a scenario on this tracker (see :func:`consist.scenario`)."""
        return Scenario(self, name, caller=sys._getframe(1), **options)

    _refuse_unsupported = staticmethod(refuse_unsupported)

    def _request(
        self,
        fn: Callable[..., Any] | None,
        args: dict[str, Any],
        code: tuple[str, str] | None = None,
        scope: StepScope | None = None,
    ) -> StepRequest:
        """Validate every option and compute the step's identity (see :func:`build_request`)."""
        s = StepSettings(self.code_identity, self.project_root, self.cache_epoch, self.hashing)
        return build_request(
            fn, args, code, scope, self._registry, self._workspace, self._object_digest, s
        )

    def load(self, artifact: Artifact, **kwargs: Any) -> Any:
        """Load an artifact's data with the frame engine matching its driver.

        Takes ``engine=`` and ``db_fallback=`` as :func:`consist.load` does.
        """
        return self._access.load(self._access.attach(artifact), **kwargs)

    def materialize(self, artifact: Artifact, dest: str | os.PathLike[str]) -> Path:
        """Copy an artifact's bytes to ``dest``, verified against the recorded digest.

        The bytes are taken from wherever they are (this workspace, or the workspace of the
        run that produced them); a mismatch raises ``IntegrityError`` and leaves no file.
        """
        target = absolute(dest)
        source = self._access.locate(artifact)
        if source is None:
            raise MissingBytesError(artifact.key, artifact.uri, target)
        if source != target:
            self._fs.copy_verified(source, target, artifact.digest, artifact.size)
        return target

    def load_input_bundle(self, run_id: str) -> dict[str, Any]:
        """The inputs of run ``run_id``, made local and loaded, by key.

        Inputs whose bytes are not at their local path are copied in first (as with
        ``cache_hydration="inputs-missing"``); tabular inputs come back as DataFrames, others
        as local paths.
        """
        bundle: dict[str, Any] = {}
        for key, artifact in self.get_artifacts_for_run(run_id).inputs.items():
            expected = self._workspace.to_path(artifact.uri)
            if not expected.exists():
                self.materialize(artifact, expected)
            readable = artifact.driver is not None and self._frames.can_read(artifact.driver)
            bundle[key] = self.load(artifact) if readable and expected.is_file() else expected
        return bundle

    # -- hot tables (HotTables) -----------------------------------------------------------
    def ingest(
        self, artifact: Artifact | str, data: Any = None, schema: Any = None
    ) -> IngestResult:
        """Load a tabular artifact's rows into the database (its hot table).

        Parameters
        ----------
        artifact
            The artifact (or its key or id). Its csv, parquet or json file is read in bulk by
            the database unless ``data`` is given.
        data
            The rows instead of the file: a DataFrame (pandas or polars), an Arrow table, or a
            list of row dicts.
        schema
            A SQLModel table class. Its ``__tablename__`` names the table (default: the
            artifact key) and the data must fit it: a column the model does not declare, or
            values that cannot be cast to its types, raise ``SchemaValidationError`` naming
            them, and nothing is written.

        Returns
        -------
        IngestResult
            ``table``, ``rows`` and ``already`` (True when this artifact was ingested into
            the table before; ingesting again never duplicates rows).

        Rows carry ``consist_run_id`` etc. of the open run, or outside any run, of the run
        that produced the artifact.
        """
        return self._tables.ingest(artifact, data, schema)

    def rebuild_from_rows(self, artifact: Artifact, dest: Path) -> bool:
        """Write ``artifact``'s ingested rows to ``dest`` as its driver; False if it was
        never ingested (or the store has no tables)."""
        return self._tables.rebuild_from_rows(artifact, dest)

    def is_rebuildable(self, artifact: Artifact) -> bool:
        return self._tables.is_rebuildable(artifact)

    def export_schema_sqlmodel(
        self,
        artifact_id: str | None = None,
        schema_id: str | None = None,
        class_name: str | None = None,
        table_name: str | None = None,
        out_path: str | os.PathLike[str] | None = None,
    ) -> str:
        """Render a captured schema as an editable SQLModel class (Python source).

        Parameters
        ----------
        artifact_id, schema_id
            Exactly one: the artifact whose captured schema to export (by id or key), or a
            schema id.
        class_name, table_name
            Default to the artifact key in CapWords and as is.
        out_path
            Also write the source to this file.
        """
        return self._tables.export_schema_sqlmodel(
            artifact_id, schema_id, class_name, table_name, out_path
        )

    def _object_digest(self, obj: Any) -> Any:
        return self._pm.hook.consist_object_digest(obj=obj)
