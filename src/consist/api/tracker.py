"""``Tracker``: the user's handle on a workspace and its provenance database."""

from __future__ import annotations

import functools
import inspect
import os
import sys
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from consist.api import arguments, options, stores
from consist.api.artifacts import ArtifactAccess
from consist.api.bootstrap import build_registry, construct, get_plugin_manager
from consist.api.capture import capture_folder
from consist.api.code import StepIdentity, step_identity
from consist.api.events import Callback, TrackerEvents
from consist.api.frames import FrameIO
from consist.api.inputs import resolve_inputs
from consist.api.lineage import LineageMixin
from consist.api.maintenance import MaintenanceMixin
from consist.api.processes import this_process
from consist.api.queries import QueriesMixin
from consist.api.recording import RecordingMixin
from consist.api.scenario import Scenario
from consist.api.tables import TablesMixin
from consist.api.views import ViewRegistry
from consist.core.checks import check_int, check_tags
from consist.core.errors import (
    ActiveRunError,
    ArgumentTypeError,
    ConsistError,
    MissingBytesError,
    ReadOnlyError,
    UnsupportedError,
    redact,
)
from consist.core.facets import build_facet
from consist.core.hydration import check_policy
from consist.core.identity import canonicalize, tree_digest
from consist.core.model import Artifact, Run, RunResult, validate_key
from consist.core.ports.clock import SystemClock
from consist.core.ports.store import MetadataStore, SqlEngineProvider
from consist.core.services import StepRunner
from consist.core.step import RunnerPorts, StepRequest, StepScope
from consist.core.workspace import Workspace, absolute

STEP_ATTRIBUTE = "__consist_step__"


class Tracker(RecordingMixin, QueriesMixin, LineageMixin, TablesMixin, MaintenanceMixin):
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
        self._access.rebuild = self._rebuild_for_load
        self._events = TrackerEvents(self._pm.hook)
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
                make_dir=lambda p: p.mkdir(parents=True, exist_ok=True),
                snapshot_dir=self._consist_dir / "runs",
                activate=self._activate,
                make_context=self._context,
                capture=self._capture,
                locate=self._access.locate,
                rebuild=self.rebuild_from_rows,
                rebuildable=self.is_rebuildable,
                process=this_process(),
            )
        )
        self.current_run: Run | None = None
        self._session = None
        self._scenario: Scenario | None = None
        self._context_token: Any = None
        if not self.read_only:
            self._recover()
        self.views = ViewRegistry(self, self._table_store)
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
    def is_cached(self) -> bool:
        """Inside a run: whether it is a cache hit."""
        return bool(self.current_run is not None and self.current_run.cache_hit)

    def _executor(self, name: str) -> Any:
        if name not in self._executors:
            self._executors[name] = construct(self._registry.get("executor", name))
        return self._executors[name]

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
        allowed = set(inspect.signature(Tracker.run).parameters) - {"self", "fn"}
        unknown = sorted(set(run_defaults) - allowed)
        if unknown:
            raise ArgumentTypeError(
                f"define_step() got unknown run options {unknown}; allowed: {sorted(allowed)}."
            )
        if outputs is not None:
            arguments.names(outputs, "outputs")
        defaults = {"outputs": outputs, "tags": tags, "description": description, **run_defaults}
        defaults = {k: v for k, v in defaults.items() if v is not None}

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            setattr(fn, STEP_ATTRIBUTE, defaults)
            return fn

        return decorate

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
        args = {**getattr(fn, STEP_ATTRIBUTE, {}), **given}
        self._refuse_unsupported(args)
        if self.read_only:
            raise ReadOnlyError(
                f"this tracker was opened with read_only=True, so run({_name(fn)!r}) cannot "
                "record; open Tracker(..., read_only=False) to run steps."
            )
        if self._session is not None:
            raise ActiveRunError(
                f"run({_name(fn)!r}) was called while run {self._session.run.id!r} is open on "
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

    def _refuse_unsupported(self, args: Mapping[str, Any]) -> None:
        unsupported = {"container": "container" in args}
        names = [name for name, used in unsupported.items() if used]
        if names:
            raise UnsupportedError(
                f"run() options {names} are not available in this version; omit them."
            )

    def _request(
        self,
        fn: Callable[..., Any] | None,
        args: dict[str, Any],
        code: tuple[str, str] | None = None,
        scope: StepScope | None = None,
    ) -> StepRequest:
        """Validate every option (nothing is recorded yet) and compute the step's identity.

        ``fn`` is None for runs opened by hand, whose ``code`` identity the caller supplies.
        ``scope`` says where the run belongs (a scenario's defaults; see :class:`StepScope`).
        """
        scope = scope or StepScope()
        if scope.cache_hydration is not None:
            args = {"cache_hydration": scope.cache_hydration, **args}
        name = args.get("name") or _name(fn)
        cache_mode = options.cache_mode(args.get("cache_mode", "reuse"))
        validate = options.choice(
            "validate_cached_outputs",
            args.get("validate_cached_outputs", "lazy"),
            options.VALIDATE_MODES,
        )
        output_missing = options.choice(
            "output_missing", args.get("output_missing", "warn"), options.OUTPUT_MISSING_MODES
        )
        executor = args.get("executor", "python")
        self._registry.get("executor", executor)
        declared = arguments.names(args.get("outputs") or (), "outputs")
        output_paths = {
            validate_key(k, "output_paths key"): Path(
                arguments.path_text(v, f"output_paths[{k!r}]", "out.csv")
            )
            for k, v in arguments.mapping(
                args.get("output_paths") or {}, "output_paths", "{'result': 'result.csv'}"
            ).items()
        }
        raw_inputs = args.get("inputs")
        refs = resolve_inputs(raw_inputs, "input", self._workspace)
        materialize_dir = args.get("materialize_cached_outputs_dir")
        hydration = check_policy(
            args.get("cache_hydration", "metadata"),
            output_paths=output_paths,
            materialize_dir=materialize_dir,
        )
        refs += resolve_inputs(args.get("depends_on"), "depends_on", self._workspace)
        refs += resolve_inputs(args.get("hash_inputs"), "hash_only", self._workspace)
        config = args.get("config")
        tree = canonicalize(config, fallback=self._object_digest)
        facet = build_facet(args.get("facet"), args.get("facet_from"), config)
        fn_args = arguments.mapping(args.get("fn_args") or {}, "fn_args", "{'alpha': 0.5}")
        if code is None:
            assert fn is not None
            identity = step_identity(
                fn, fn_args, self.code_identity, self.project_root, self._object_digest
            )
        else:
            identity = StepIdentity(*code)
        context = args.get("inject_context", False)
        capture_dir = args.get("capture_dir")
        model = args.get("model") or name
        load_inputs = args.get("load_inputs")
        if load_inputs is None:
            load_inputs = isinstance(raw_inputs, Mapping)
        return StepRequest(
            fn=fn or _no_step,
            name=validate_key(name, "run name"),
            model=validate_key(model, "model name"),
            code_digest=identity.code_digest,
            code_mode=identity.code_mode,
            arguments_digest=identity.arguments_digest,
            identity=identity.detail,
            config=config,
            config_digest=tree_digest(tree),
            config_tree=tree,
            inputs=refs,
            run_id=validate_key(args["run_id"], "run_id") if "run_id" in args else None,
            description=args.get("description"),
            outputs=declared,
            output_paths=output_paths,
            fn_args=dict(fn_args),
            load_inputs=bool(load_inputs),
            tags=check_tags(args.get("tags")),
            year=args.get("year"),
            iteration=args.get("iteration"),
            cache_mode=cache_mode,
            cache_epoch=self.cache_epoch,
            hashing=self.hashing,
            validate_cached_outputs=validate,
            executor=executor,
            output_missing=output_missing,
            context_param=("_consist_ctx" if context is True else context) or None,
            capture_dir=capture_folder(capture_dir) if capture_dir is not None else None,
            capture_pattern=args.get("capture_pattern", "*"),
            parent_run_id=args.get("parent_run_id", scope.parent_run_id),
            scope=scope,
            cache_hydration=hydration,
            materialize_dir=absolute(materialize_dir) if materialize_dir is not None else None,
            facet=facet,
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

    def _object_digest(self, obj: Any) -> Any:
        return self._pm.hook.consist_object_digest(obj=obj)


def _name(fn: Callable[..., Any] | None) -> str:
    while isinstance(fn, functools.partial):  # partial(step, k=1) is a call of step
        fn = fn.func
    return getattr(fn, "__name__", None) or type(fn).__name__


def _no_step() -> None:
    """Stands in for the function of a run whose body the caller executes."""
