"""The run use case over in-memory fakes: no database, no files, no dataframe library."""

from __future__ import annotations

import hashlib
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from consist.core.errors import ConsistWarning
from consist.core.inputs import InputRef
from consist.core.model import Artifact, RunStatus
from consist.core.ports.filesystem import FileDigest
from consist.core.ports.runs import LocalArtifacts
from consist.core.ports.store import RunQuery
from consist.core.recorder import Recorder
from consist.core.services import StepRunner
from consist.core.step import RunnerPorts, StepRequest
from consist.core.tables import Column, TableSchema
from consist.core.workspace import Workspace
from consist.testing.fakes import InMemoryStore

ROOT = Path("/ws")


class FakeFS:
    def __init__(self) -> None:
        self.files: dict[Path, bytes] = {}
        self.log: list[str] = []

    def digest(self, path: Path, hashing: str = "full") -> FileDigest:
        data = self.files[path]
        return FileDigest("blake3:" + hashlib.sha256(data).hexdigest(), len(data))

    def write_atomic(self, path: Path, data: bytes) -> None:
        self.files[path] = data
        self.log.append(f"snapshot {path.name}")

    def read_bytes(self, path: Path) -> bytes | None:
        return self.files.get(path)

    def exists(self, path: Path) -> bool:
        return path in self.files

    def mtime_ns(self, path: Path) -> int:
        return len(self.log)

    def remove(self, path: Path) -> None:
        self.files.pop(path, None)

    def make_dirs(self, path: Path) -> None:
        pass  # folders exist implicitly in this fake


class Table:
    """Stands in for a DataFrame."""

    def __init__(self, rows: list[int]) -> None:
        self.rows = rows


class FakeFrames:
    def __init__(self, fs: FakeFS) -> None:
        self.fs = fs

    def is_frame(self, value: Any) -> bool:
        return isinstance(value, Table)

    def write(self, value: Table, path: Path, driver: str) -> None:
        self.fs.files[path] = repr(value.rows).encode()

    def read(self, path: Path, driver: str, frame_type: str = "") -> Table:
        return Table(eval(self.fs.files[path]))  # noqa: S307 - test data written above

    def can_read(self, driver: str | None) -> bool:
        return driver in ("csv", "parquet")

    def describe(self, value: Any, driver: str | None = None) -> TableSchema | None:
        return TableSchema((Column("value", "integer"),)) if isinstance(value, Table) else None


class Executor:
    name = "python"

    def execute(self, fn, kwargs):
        return fn(**kwargs)


class Executors:
    def executor(self, name: str) -> Executor:
        return Executor()


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


class Events:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def run_started(self, run):
        self.seen.append("started")

    def run_finished(self, run):
        self.seen.append(run.status.value)

    def artifact_logged(self, run, artifact, direction):
        self.seen.append(f"logged {artifact.key}")

    def cache_decided(self, run, decision):
        self.seen.append("hit" if decision.hit else "miss")


class Attach(LocalArtifacts):
    """Artifacts in the fake workspace, loadable through the fake frames."""

    def __init__(self, workspace: Workspace, frames: FakeFrames, fs: FakeFS) -> None:
        super().__init__(workspace, fs)
        self.workspace, self.frames = workspace, frames

    def attach(self, artifact: Artifact) -> Artifact:
        artifact._resolver = self
        return artifact

    def local_path(self, artifact: Artifact) -> Path:
        return self.workspace.to_path(artifact.uri)

    def load(self, artifact: Artifact, **kw: Any) -> Any:
        return self.frames.read(self.local_path(artifact), artifact.driver or "")


class Store(InMemoryStore):
    def __init__(self, fs: FakeFS) -> None:
        super().__init__()
        self.fs = fs

    def apply(self, batch) -> None:
        self.fs.log.append(f"apply {len(batch.runs)} runs")
        super().apply(batch)


@pytest.fixture
def env():
    fs = FakeFS()
    store = Store(fs)
    workspace = Workspace(ROOT, {"data": Path("/data")})
    frames = FakeFrames(fs)
    events = Events()
    recorder = Recorder(store, fs.write_atomic, fs.remove, flush_interval=0)
    ports = RunnerPorts(
        recorder=recorder,
        fs=fs,
        frames=frames,
        executors=Executors(),
        workspace=workspace,
        clock=Clock(),
        events=events,
        artifacts=Attach(workspace, frames, fs),
        snapshot_dir=ROOT / ".consist" / "runs",
    )
    fs.files[Path("/data/raw.csv")] = b"[1, 2, 3]"
    return StepRunner(ports), fs, store, events


def request(fn, **overrides) -> StepRequest:
    values: dict[str, Any] = dict(
        fn=fn,
        name="step",
        model="step",
        code_digest="code-1",
        code_mode="literal",
        config={"k": 1},
        config_digest="cfg-1",
        config_tree={"k": 1},
        inputs=[InputRef("raw", "input", Path("/data/raw.csv"))],
    )
    values.update(overrides)
    return StepRequest(**values)


def test_miss_executes_records_and_a_hit_reuses(env) -> None:
    runner, fs, store, events = env
    calls = []

    def step(raw: Table):
        calls.append(raw.rows)
        return {"doubled": Table([2 * x for x in raw.rows])}

    first = runner.run(request(step))
    assert calls == [[1, 2, 3]] and not first.cache_hit
    out = first["doubled"]
    assert out.uri == f"workspace://outputs/step/{first.run.id}/doubled.parquet"
    assert fs.files[ROOT / "outputs" / "step" / first.run.id / "doubled.parquet"] == b"[2, 4, 6]"
    stored = store.get_run(first.run.id)
    assert stored.status is RunStatus.COMPLETED and stored.meta["cache_hit"] is False
    # Every store write comes after the snapshot of the same event.
    assert fs.log[0].startswith("snapshot") and fs.log[1].startswith("apply")

    second = runner.run(request(step))
    assert second.cache_hit and calls == [[1, 2, 3]]
    assert second["doubled"].id == out.id
    assert store.get_run(second.run.id).meta["cache_source"] == first.run.id
    assert events.seen == ["miss", "started", "logged doubled", "completed", "hit", "completed"]


def test_changed_input_bytes_and_config_miss(env) -> None:
    runner, fs, _, _ = env
    step = lambda raw: None  # noqa: E731
    runner.run(request(step))
    assert runner.run(request(step)).cache_hit
    assert not runner.run(request(step, config_digest="cfg-2")).cache_hit
    fs.files[Path("/data/raw.csv")] = b"[1, 2, 4]"
    assert not runner.run(request(step)).cache_hit


def test_failure_is_recorded_reraised_and_never_reused(env) -> None:
    runner, _, store, events = env

    def broken(raw):
        raise ValueError("bad year")

    with pytest.raises(ValueError, match="bad year"):
        runner.run(request(broken))
    (failed,) = store.find_runs(RunQuery())
    assert failed.status is RunStatus.FAILED and "ValueError: bad year" in failed.error
    assert events.seen[-1] == "failed"
    assert store.find_cached(failed.signature) is None


def test_readonly_mode_records_nothing(env) -> None:
    runner, fs, store, _ = env
    result = runner.run(request(lambda raw: {"x": Table([1])}, cache_mode="readonly"))
    assert not result.cache_hit and store.batches_applied == 0
    assert not [entry for entry in fs.log if entry.startswith("snapshot")]


def test_produced_inputs_contribute_the_producers_signature(env) -> None:
    runner, fs, _, _ = env
    up_a = runner.run(request(lambda raw: {"t": Table([1])}))
    up_b = runner.run(request(lambda raw: {"t": Table([1])}, config_digest="cfg-b"))
    assert up_a["t"].digest == up_b["t"].digest  # same bytes, different producers

    def down(t):
        return None

    def consume(art):
        return request(down, inputs=[InputRef("t", "input", art.path, art)])

    a, b = runner.run(consume(up_a["t"])), runner.run(consume(up_b["t"]))
    assert a.run.signature != b.run.signature
    # Bytes edited after the producer recorded them count as what they are now.
    fs.files[up_a["t"].path] = b"[9]"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = runner.run(consume(up_a["t"]))
    assert not c.cache_hit and c.run.signature != a.run.signature
    assert any(issubclass(w.category, ConsistWarning) for w in caught)
