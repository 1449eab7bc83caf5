"""``Tracker``: the user's handle on a workspace and its provenance database.

A thin facade: every method delegates to one service built by the composition root
(:func:`consist.api.bootstrap.bootstrap`), reachable as ``tracker.services``.
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from consist.api import arguments
from consist.api.bootstrap import Services, TrackerSettings, bootstrap
from consist.api.events import TrackerEvents
from consist.api.facade import delegate
from consist.api.lineage import RunLineage
from consist.api.maintenance import SnapshotMaintenance
from consist.api.queries import RunQueries
from consist.api.recording import RunRecording
from consist.api.run_helpers import RunHelpers
from consist.api.run_options import RunKeywords
from consist.api.scenario import Scenario
from consist.api.steps import step_decorator, step_setting
from consist.api.tables import HotTables
from consist.core.errors import ConsistError, redact
from consist.core.model import Artifact, Run, RunResult
from consist.core.ports.store import SqlEngineProvider
from consist.core.workspace import absolute

if TYPE_CHECKING:
    pass


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
        ``None`` (default): found from each step's own source file (the nearest folder above
        it holding ``pyproject.toml``, ``setup.cfg``, ``setup.py`` or ``.git``).
    hashing
        ``"full"`` (default: BLAKE3 of the bytes, memoised) or ``"fast"`` (size and mtime).
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
    access_mode
        ``"standard"`` (default) records; ``"analysis"`` records no runs or artifacts but
        may ingest data and build views; ``"read_only"`` (same as ``read_only=True``)
        writes nothing.
    hashing_strategy
        Another name for ``hashing`` (give one or the other).
    """

    #: A traced block reading this counts it as a handle, not data.
    __consist_block_read__ = "context"

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        db_path: str | os.PathLike[str] | None = None,
        *,
        mounts: Mapping[str, str | os.PathLike[str]] | None = None,
        project_root: str | os.PathLike[str] | None = None,
        hashing: str | None = None,
        code_identity: str = "auto",
        schemas: Sequence[type] | None = None,
        cache_epoch: int = 0,
        read_only: bool = False,
        plugins: Iterable[str] | None = None,
        flush_interval: float = 0.1,
        access_mode: str = "standard",
        hashing_strategy: str | None = None,
    ) -> None:
        # Every argument is checked before anything is created on disk.
        settings = TrackerSettings.check(
            run_dir,
            db_path,
            mounts=mounts,
            project_root=project_root,
            hashing=hashing,
            hashing_strategy=hashing_strategy,
            code_identity=code_identity,
            cache_epoch=cache_epoch,
            read_only=read_only,
            plugins=plugins,
            flush_interval=flush_interval,
            access_mode=access_mode,
        )
        self._attach(bootstrap(settings, models=arguments.schemas(schemas)))

    @classmethod
    def from_adapters(cls, settings: TrackerSettings, **adapters: Any) -> Tracker:
        """A tracker over injected adapters (``store=``, ``filesystem=``, ``executors=``,
        ``clock=``; see :func:`~consist.api.bootstrap.bootstrap`), e.g. the fakes of
        :mod:`consist.testing`; the rest comes from the registry as usual."""
        tracker = cls.__new__(cls)
        tracker._attach(bootstrap(settings, **adapters))
        return tracker

    def _attach(self, services: Services) -> None:
        self.services = services
        services.recording.shell.owner = self
        self._finalizer = weakref.finalize(self, services.release)
        self.views = services.views

    # -- settings (those entering a step's identity may be changed between steps) ---------
    run_dir = property(lambda self: self.services.settings.run_dir)
    db_path = property(lambda self: self.services.settings.db_path)
    mounts = property(lambda self: self.services.settings.mounts)
    read_only = property(lambda self: self.services.settings.read_only)
    access_mode = property(lambda self: self.services.settings.access_mode)
    project_root = step_setting("project_root")
    hashing = step_setting("hashing")
    code_identity = step_setting("code_identity")
    cache_epoch = step_setting("cache_epoch")

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
        self.services.recorder.flush()

    @property
    def engine(self) -> Any:
        """A SQLAlchemy engine over the metadata database, for ``select(...)`` queries."""
        store = self.services.store
        if not isinstance(store, SqlEngineProvider):
            raise ConsistError(f"the store at {redact(self.db_path)!r} offers no SQL engine.")
        self.flush()
        self.views.refresh()
        return store.sqlalchemy_engine()

    @property
    def current_run(self) -> Run | None:
        """The run open on this tracker (``None`` outside a run)."""
        return self.services.recording.current_run

    @property
    def is_cached(self) -> bool:
        """Inside a run: whether it is a cache hit."""
        return bool(self.current_run is not None and self.current_run.cache_hit)

    # -- lookups and lineage ---------------------------------------------------------------
    get_run = delegate("queries", RunQueries.get_run)
    get_artifacts_for_run = delegate("queries", RunQueries.get_artifacts_for_run)
    get_artifact = delegate("queries", RunQueries.get_artifact)
    find_artifacts = delegate("queries", RunQueries.find_artifacts)
    find_runs = delegate("queries", RunQueries.find_runs)
    find_run = delegate("queries", RunQueries.find_run)
    explain = delegate("queries", RunQueries.explain)
    history = delegate("queries", RunQueries.history)
    lineage = delegate("lineage", RunLineage.lineage)
    print_lineage = delegate("lineage", RunLineage.print_lineage)
    export_lineage = delegate("lineage", RunLineage.export_lineage)
    rebuild_from_snapshots = delegate("maintenance", SnapshotMaintenance.rebuild_from_snapshots)
    find_latest_run = delegate("helpers", RunHelpers.find_latest_run)
    get_latest_run_id = delegate("helpers", RunHelpers.get_latest_run_id)
    get_run_outputs = delegate("helpers", RunHelpers.get_run_outputs)
    get_run_inputs = delegate("helpers", RunHelpers.get_run_inputs)
    get_run_config = delegate("helpers", RunHelpers.get_run_config)
    diff_runs = delegate("helpers", RunHelpers.diff_runs)
    resolve_uri = delegate("helpers", RunHelpers.resolve_uri)

    # -- runs opened by hand, and logging into the open run -------------------------------
    def begin_run(self, run_id: str | None = None, model: str | None = None, **options: Any) -> Run:
        """Open a run whose work you do yourself (the cache is consulted; nothing is
        skipped: ``tracker.is_cached`` tells); close it with :meth:`end_run`."""
        return self.services.recording.begin(run_id, model, options, sys._getframe(1))

    end_run = delegate("recording", RunRecording.end_run)

    def start_run(
        self, run_id: str, model: str | None = None, **options: Any
    ) -> AbstractContextManager[Tracker]:
        """A run as a ``with`` block: completed on normal exit, failed on an exception."""
        return self.services.recording.start_run(run_id, model, **options)

    def trace(
        self, name: str, run_id: str | None = None, **options: Any
    ) -> AbstractContextManager[Tracker]:
        """An inline block recorded as a run named ``name``; it executes also on a cache hit
        (check ``tracker.is_cached`` to skip work)."""
        return self.services.recording.trace(name, run_id, **options)

    run_artifact_dir = delegate("recording", RunRecording.run_artifact_dir)
    log_artifact = delegate("recording", RunRecording.log_artifact)
    log_input = delegate("recording", RunRecording.log_input)
    log_output = delegate("recording", RunRecording.log_output)
    log_artifacts = delegate("recording", RunRecording.log_artifacts)
    log_dataframe = delegate("recording", RunRecording.log_dataframe)
    log_meta = delegate("recording", RunRecording.log_meta)
    capture_outputs = delegate("recording", RunRecording.capture_outputs)

    # -- events ---------------------------------------------------------------------------
    on_run_start = delegate("events", TrackerEvents.on_run_start)
    on_run_complete = delegate("events", TrackerEvents.on_run_complete)
    on_run_failed = delegate("events", TrackerEvents.on_run_failed)

    # -- steps and scenarios --------------------------------------------------------------
    def define_step(
        self,
        outputs: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        description: str | None = None,
        **run_defaults: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorate a function with defaults that :meth:`run` uses when not given explicitly."""
        return step_decorator(outputs, tags, description, run_defaults)

    def run(
        self,
        fn: Callable[..., Any] | None = None,
        name: str | None = None,
        **options: Unpack[RunKeywords],
    ) -> RunResult:
        """Run ``fn`` through the cache: on a hit it is not called and the recorded outputs
        are returned; on a miss it runs and its outputs are recorded.

        The options are listed (typed) in :class:`~consist.api.run_options.RunKeywords`; see
        the user guide for the binding and output-mapping rules.
        """
        return self.services.steps.run(fn, {"name": name, **options})

    def map(self, fn: Callable[..., Any], items: Iterable[Any], **options: Any) -> list[Any]:
        """Run ``fn`` once per item (each item is that step's ``config``), in input order:
        hits are resolved here without running anything; misses run here, or on a Dask
        cluster with ``executor="dask"`` (``dask_client=`` or ``dask_address=``). See
        :func:`consist.api.sweeps.map_call` for every option."""
        from consist.api.sweeps import map_call

        return map_call(self, fn, items, options)

    def scenario(self, name: str, **options: Any) -> Scenario:
        """Open a scenario on this tracker (see :func:`consist.scenario`)."""
        return Scenario(self, name, caller=sys._getframe(1), **options)

    # -- data -----------------------------------------------------------------------------
    def load(self, artifact: Artifact, **kwargs: Any) -> Any:
        """Load an artifact's data (takes ``engine=`` and ``db_fallback=`` as
        :func:`consist.load` does)."""
        access = self.services.access
        return access.load(access.attach(artifact), **kwargs)

    def staging_path(self, uri: str) -> Path:
        """The local path a step writes ``uri`` to: for ``"lake://x"`` on an object-store
        mount, its staging file (uploaded and digested when the run records it); for a local
        mount, the file itself. See ``docs/object-stores.md``."""
        return self.services.workspace.to_path(uri)

    def materialize(self, artifact: Artifact, dest: str | os.PathLike[str]) -> Path:
        """Copy an artifact's bytes (from wherever they are) to ``dest``, verified against
        the recorded digest; a mismatch raises ``IntegrityError`` and leaves no file."""
        return self.services.access.materialize(artifact, absolute(dest), self.services.fs)

    def load_input_bundle(self, run_id: str) -> dict[str, Any]:
        """The inputs of run ``run_id`` by key: copied in where missing, tabular ones loaded
        as DataFrames, others as local paths."""
        inputs = self.get_artifacts_for_run(run_id).inputs
        return self.services.access.input_bundle(inputs, self.services.fs)

    ingest = delegate("tables", HotTables.ingest)
    rebuild_from_rows = delegate("tables", HotTables.rebuild_from_rows)
    is_rebuildable = delegate("tables", HotTables.is_rebuildable)
    export_schema_sqlmodel = delegate("tables", HotTables.export_schema_sqlmodel)
