"""The composition root: every service a tracker delegates to, built in one place.

:func:`bootstrap` takes validated :class:`TrackerSettings` and builds the adapters from the
plugin registry, unless they are injected: pass ``store=``, ``filesystem=``, ``executors=``
or ``clock=`` (e.g. the fakes in :mod:`consist.testing`) and the same services run on them.
Nothing else in the api constructs a service or an adapter.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from consist.api import arguments, options, remote_mounts, stores
from consist.api.arguments import removed_if_refused
from consist.api.artifacts import ArtifactAccess
from consist.api.events import TrackerEvents
from consist.api.frames import FrameIO
from consist.api.journal import FileJournal
from consist.api.lineage import RunLineage
from consist.api.maintenance import SnapshotMaintenance
from consist.api.options import HashingMode
from consist.api.plugins import build_registry, construct, get_plugin_manager
from consist.api.processes import ThisProcess
from consist.api.queries import RunQueries
from consist.api.recording import RunRecording
from consist.api.remote import ObjectStores, RemoteWorkspace
from consist.api.remote_mounts import RemoteRoot
from consist.api.run_helpers import RunHelpers
from consist.api.runs import ScenarioSlot, StepRuns
from consist.api.scheduling import ThreadScheduler
from consist.api.shell import OpenRun
from consist.api.staging import StagedFileSystem
from consist.api.steps import StepRequests, StepSettings
from consist.api.tables import HotTables
from consist.api.views import ViewRegistry
from consist.core.checks import check_int
from consist.core.ports.clock import Clock, SystemClock
from consist.core.ports.executor import Executor
from consist.core.ports.filesystem import FileSystem
from consist.core.ports.store import MetadataStore
from consist.core.recorder import Recorder
from consist.core.registry import Registry
from consist.core.services import StepRunner
from consist.core.step import RunnerPorts
from consist.core.workspace import Workspace, absolute


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    """A tracker's options, each already checked (see ``Tracker.__init__``)."""

    run_dir: Path
    db_path: str
    mounts: dict[str, Path]
    project_root: Path | None
    hashing: HashingMode
    code_identity: str
    cache_epoch: int
    read_only: bool
    flush_interval: float
    #: ``"standard"`` records; ``"analysis"`` records no runs but may ingest and build
    #: views; ``"read_only"`` writes nothing.
    access_mode: str = "standard"
    #: Plugin allow/block list, checked when the registry is built (see ``plugins.py``).
    plugins: Iterable[str] | None = None
    #: Mounts on object stores (see ``api/remote.py``), by name.
    remote_mounts: dict[str, RemoteRoot] = field(default_factory=dict)

    @classmethod
    def check(
        cls,
        run_dir: str | os.PathLike[str],
        db_path: str | os.PathLike[str] | None = None,
        *,
        mounts: Mapping[str, str | os.PathLike[str]] | None = None,
        project_root: str | os.PathLike[str] | None = None,
        hashing: str | None = None,
        code_identity: str = "auto",
        cache_epoch: int = 0,
        read_only: bool = False,
        plugins: Iterable[str] | None = None,
        flush_interval: float = 0.1,
        access_mode: str = "standard",
        hashing_strategy: str | None = None,
    ) -> TrackerSettings:
        """Settings from ``Tracker``'s arguments, each checked (nothing touches the disk)."""
        remote_mounts.refuse_remote_run_dir(run_dir)  # never a local folder named "s3:"
        local_mounts, remote = remote_mounts.split_mounts(mounts)
        root = absolute(run_dir)
        mode = options.access_mode(access_mode, arguments.flag(read_only, "read_only"))
        return cls(
            run_dir=root,
            db_path=arguments.store_location(db_path, root),
            mounts=arguments.mounts(local_mounts),
            remote_mounts=remote,
            project_root=absolute(project_root) if project_root is not None else None,
            hashing=options.hashing(
                options.alias("hashing", hashing, "full", "hashing_strategy", hashing_strategy)
            ),
            code_identity=options.code_identity(code_identity),
            cache_epoch=check_int(cache_epoch, "cache_epoch"),
            read_only=mode == "read_only",
            flush_interval=arguments.seconds(flush_interval, "flush_interval"),
            plugins=plugins,
            access_mode=mode,
        )

    @property
    def consist_dir(self) -> Path:
        """Where snapshots, the journal and the hash cache live."""
        return self.run_dir / ".consist"


class ExecutorPool:
    """The :class:`~consist.core.ports.runs.Executors` port: executors built on first use."""

    def __init__(self, registry: Registry, given: dict[str, Executor] | None = None) -> None:
        self._registry = registry
        self._built: dict[str, Executor] = dict(given or {})

    def executor(self, name: str) -> Executor:
        if name not in self._built:
            self._built[name] = construct(self._registry.get("executor", name))
        return self._built[name]


@dataclass(slots=True)
class Services:
    """Everything a tracker delegates to (each service owns one concern)."""

    settings: TrackerSettings
    plugins: pluggy.PluginManager
    registry: Registry
    store: MetadataStore
    recorder: Recorder
    fs: FileSystem
    workspace: Workspace
    frames: FrameIO
    access: ArtifactAccess
    events: TrackerEvents
    queries: RunQueries
    tables: HotTables
    lineage: RunLineage
    helpers: RunHelpers
    maintenance: SnapshotMaintenance
    requests: StepRequests
    runner: StepRunner
    scenarios: ScenarioSlot
    recording: RunRecording
    steps: StepRuns
    views: ViewRegistry
    #: Releases what :func:`bootstrap` acquired (the shared store); idempotent.
    release: Any


def bootstrap(
    settings: TrackerSettings,
    *,
    store: MetadataStore | None = None,
    filesystem: FileSystem | None = None,
    executors: dict[str, Executor] | None = None,
    clock: Clock | None = None,
    models: Sequence[type] = (),
) -> Services:
    """Build a tracker's services; adapters come from the registry unless injected.

    An injected ``store`` gets a recorder of its own (it is not shared with other trackers
    in this process, as a store opened from ``settings.db_path`` is).
    """
    pm = get_plugin_manager()
    registry = build_registry(pm, settings.plugins)
    fs = filesystem or construct(
        registry.get("filesystem", "local"), cache_dir=settings.consist_dir
    )
    recorder, release = _recorder(settings, registry, fs, store)
    try:
        return _assemble(settings, pm, registry, fs, recorder, release, executors, clock, models)
    except BaseException:  # a refused tracker releases the shared store at once
        release()
        raise


def _recorder(
    settings: TrackerSettings, registry: Registry, fs: FileSystem, store: MetadataStore | None
) -> tuple[Recorder, Any]:
    if store is not None:
        recorder = Recorder(
            store,
            fs.write_atomic,
            fs.remove,
            flush_interval=settings.flush_interval,
            journal=FileJournal(),
            scheduler=ThreadScheduler(),
        )
        return recorder, _Once(recorder.close)
    spec = registry.store_for(settings.db_path)
    with removed_if_refused(settings.run_dir):  # a refused tracker leaves no folder behind
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        recorder = stores.acquire(
            settings.db_path,
            lambda: construct(spec, settings.db_path),
            fs.write_atomic,
            fs.remove,
            settings.flush_interval,
        )
    return recorder, _Once(lambda: stores.release(settings.db_path))


class _Once:
    """Calls ``action`` the first time it is called, never again."""

    def __init__(self, action: Any) -> None:
        self._action: Any = action

    def __call__(self) -> None:
        action, self._action = self._action, None
        if action is not None:
            action()


def _assemble(
    settings: TrackerSettings,
    pm: pluggy.PluginManager,
    registry: Registry,
    fs: FileSystem,
    recorder: Recorder,
    release: Any,
    executors: dict[str, Executor] | None,
    clock: Clock | None,
    models: Sequence[type],
) -> Services:
    s = settings
    store = recorder.store
    # Object stores: remote mounts resolve to staging folders, staged outputs are uploaded
    # when digested, and remote artifacts are fetched into the download cache.
    objects = ObjectStores(s.remote_mounts, s.consist_dir, registry, fs)
    fs = StagedFileSystem(fs, objects)
    workspace = RemoteWorkspace(s.run_dir, {**s.mounts, **objects.staging}, objects=objects)
    frames = FrameIO(registry)
    access = ArtifactAccess(workspace, frames, recorder.get_run)
    access.remote = objects
    events = TrackerEvents(pm.hook)
    queries = RunQueries(store, recorder, access, s.db_path)
    scenarios = ScenarioSlot()
    shell = OpenRun()
    tables = HotTables(
        store,
        s.db_path,
        frames,
        access,
        queries,
        recorder.flush,
        lambda: shell.session,
        s.consist_dir,
        s.read_only,
    )
    access.rows = tables
    requests = StepRequests(
        StepSettings(s.code_identity, s.project_root, s.cache_epoch, s.hashing),
        registry,
        workspace,
        lambda obj: pm.hook.consist_object_digest(obj=obj),
    )
    runner = StepRunner(
        RunnerPorts(
            recorder=recorder,
            fs=fs,
            frames=frames,
            executors=ExecutorPool(registry, executors),
            workspace=workspace,
            clock=clock or SystemClock(),
            events=events,
            snapshot_dir=s.consist_dir / "runs",
            artifacts=access,
            shell=shell,
            process=ThisProcess(),
        )
    )
    recording = RunRecording(
        requests, runner, events, frames, tables, scenarios, shell, s.access_mode
    )
    recording_allowed = s.access_mode == "standard"
    maintenance = SnapshotMaintenance(store, recorder, fs, s.consist_dir, not recording_allowed)
    if recording_allowed:
        maintenance.recover()
    views = ViewRegistry(
        tables.table_store, recorder.flush, tables.ingest_source, access.locate_uri
    )
    for model in models:
        views.register(model)
    return Services(
        settings=s,
        plugins=pm,
        registry=registry,
        store=store,
        recorder=recorder,
        fs=fs,
        workspace=workspace,
        frames=frames,
        access=access,
        events=events,
        queries=queries,
        tables=tables,
        lineage=RunLineage(queries),
        helpers=RunHelpers(queries, access),
        maintenance=maintenance,
        requests=requests,
        runner=runner,
        scenarios=scenarios,
        recording=recording,
        steps=StepRuns(requests, runner, scenarios, lambda: shell.session, s.access_mode),
        views=views,
        release=release,
    )
