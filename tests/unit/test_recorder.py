"""The recorder: snapshot first, grouped flushes, queued rows visible to lookups."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from consist.api.scheduling import ThreadScheduler
from consist.core.errors import StoreError, StoreLockedError
from consist.core.model import Artifact, Run, RunStatus
from consist.core.ports.scheduler import Inline
from consist.core.recorder import Recorder, pending_path
from consist.core.snapshot import decode_snapshot
from consist.testing.fakes import InMemoryStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _run(run_id: str = "r1", status: RunStatus = RunStatus.COMPLETED, sig: str = "s1") -> Run:
    return Run(run_id, "m", status, NOW, signature=sig, meta={"cache_hit": False})


def _artifact(aid: str = "a1", run_id: str | None = "r1") -> Artifact:
    return Artifact(aid, "out", "workspace://x.parquet", "parquet", "blake3:00", 1, run_id, NOW)


class Snapshots:
    def __init__(self) -> None:
        self.files: dict[Path, bytes] = {}
        self.order: list[str] = []

    def write(self, path: Path, data: bytes) -> None:
        self.files[path] = data
        self.order.append("snapshot")

    def remove(self, path: Path) -> None:
        self.files.pop(path, None)


class Journal:
    """Files as lists of snapshot names; ``live`` holds what a later tracker would find."""

    def __init__(self) -> None:
        self.current: list[str] = []
        self.live: list[list[str]] = []

    keeps_documents = False  # every state gets its snapshot file, as these tests expect

    def append(self, snapshot: Path, document: bytes | None = None) -> None:
        if not self.current:
            self.live.append(self.current)
        self.current.append(snapshot.name)

    def rotate(self) -> list[str]:
        token, self.current = self.current, []
        return token

    def discard(self, token: list[str]) -> None:
        self.live = [f for f in self.live if f is not token]

    def listed(self) -> set[str]:
        return {name for f in self.live for name in f}


@pytest.fixture
def parts(tmp_path):
    store = InMemoryStore()
    snaps = Snapshots()
    recorder = Recorder(store, snaps.write, snaps.remove, flush_interval=3600)
    yield store, snaps, recorder
    recorder.close()


def test_snapshot_is_written_before_the_store_and_round_trips(parts, tmp_path) -> None:
    store, snaps, recorder = parts
    run, art = _run(), _artifact()
    recorder.record(run, {}, {"out": art}, snapshot_dir=tmp_path)
    assert store.get_run("r1") is None  # queued, not yet flushed
    decoded_run, inputs, outputs = decode_snapshot(snaps.files[tmp_path / "r1.json"])
    assert decoded_run.id == "r1" and outputs["out"].id == "a1" and inputs == {}
    recorder.flush()
    assert store.get_run("r1").status is RunStatus.COMPLETED
    assert store.batches_applied == 1


def test_queued_runs_are_visible_to_cache_lookups(parts, tmp_path) -> None:
    store, _, recorder = parts
    recorder.record(_run(), {}, {"out": _artifact()}, snapshot_dir=tmp_path)
    found = recorder.find_cached("s1")
    assert found is not None and found.outputs["out"].id == "a1"
    assert recorder.get_run("r1") is not None
    assert store.batches_applied == 0
    # Hits and unfinished runs are never cache sources.
    hit = dataclasses.replace(_run("r2", sig="s2"), meta={"cache_hit": True})
    recorder.record(hit, {}, {}, snapshot_dir=tmp_path)
    recorder.record(_run("r3", RunStatus.RUNNING, "s3"), {}, {}, snapshot_dir=tmp_path)
    assert recorder.find_cached("s2") is None and recorder.find_cached("s3") is None


def test_many_events_flush_in_one_batch_with_the_latest_state(parts, tmp_path) -> None:
    store, _, recorder = parts
    run = _run(status=RunStatus.RUNNING)
    recorder.record(run, {}, {}, snapshot_dir=tmp_path)
    run.status = RunStatus.COMPLETED  # the caller mutates its object afterwards
    assert recorder.get_run("r1").status is RunStatus.RUNNING  # the queued copy is unchanged
    recorder.record(run, {}, {"out": _artifact()}, snapshot_dir=tmp_path)
    for i in range(20):
        recorder.record(_run(f"x{i}", sig=f"sx{i}"), {}, {}, snapshot_dir=tmp_path)
    recorder.flush()
    assert store.batches_applied == 1
    assert store.get_run("r1").status is RunStatus.COMPLETED
    assert store.find_cached("s1").outputs["out"].id == "a1"


class RefusingStore(InMemoryStore):
    """A store that refuses, for a reason other than a lock, every batch holding one of
    ``bad`` (all batches when ``bad`` is None), as a damaged row or a full disk would."""

    def __init__(self, bad: set[str] | None = None) -> None:
        super().__init__()
        self.bad, self.attempts = bad, 0

    def apply(self, batch) -> None:
        self.attempts += 1
        if self.bad is None or self.bad & {run.id for run in batch.runs}:
            raise StoreError("disk I/O error")
        super().apply(batch)


def test_a_refused_run_does_not_hold_back_the_others(tmp_path) -> None:
    store, snaps = RefusingStore(bad={"bad"}), Snapshots()
    recorder = Recorder(store, snaps.write, snaps.remove, flush_interval=3600)
    runs = tmp_path / "runs"
    recorder.record(_run(), {}, {"out": _artifact()}, snapshot_dir=runs)
    recorder.record(_run("bad", sig="s-bad"), {}, {}, snapshot_dir=runs)
    recorder.record(_run("r2", sig="s2"), {"in": _artifact()}, {}, snapshot_dir=runs)
    with pytest.raises(StoreError, match=r"1 run\(s\).*\(bad\): disk I/O error.*pending"):
        recorder.flush()
    # The good runs were written one by one, with their artifacts and links.
    assert store.get_run("r1") and store.get_run("r2")
    assert store.find_cached("s1").outputs["out"].id == "a1"
    assert store.get_run_artifacts("r2").inputs["in"].id == "a1"
    # The refused run waits in pending/ for the next tracker; only its copy is left there.
    pending = sorted(path.name for path in snaps.files if path.parent.name == "pending")
    assert pending == ["bad.json"]
    assert snaps.files[tmp_path / "pending" / "bad.json"] == snaps.files[runs / "bad.json"]
    # It left the queue: later flushes neither retry it nor fail because of it.
    attempts = store.attempts
    recorder.record(_run("r3", sig="s3"), {}, {}, snapshot_dir=runs)
    recorder.flush()
    assert store.attempts == attempts + 1 and store.get_run("r3")
    recorder.close()


def test_a_store_refusing_every_write_never_fails_the_caller_at_close(tmp_path) -> None:
    store, snaps = RefusingStore(), Snapshots()
    recorder = Recorder(store, snaps.write, snaps.remove, flush_interval=3600)
    recorder.record(_run(), {}, {}, snapshot_dir=tmp_path / "runs")
    recorder.record(_run("r2", sig="s2"), {}, {}, snapshot_dir=tmp_path / "runs")
    assert recorder.flush_or_keep() is False
    assert store.attempts == 3  # the batch, then each run alone; no retry loop after that
    recorder.close()
    assert store.attempts == 3
    assert {tmp_path / "pending" / "r1.json", tmp_path / "pending" / "r2.json"} <= set(snaps.files)


def test_an_unwritable_pending_folder_is_reported_not_raised(tmp_path, caplog) -> None:
    store = RefusingStore()

    def write(path: Path, data: bytes) -> None:
        if path.parent.name == "pending":
            raise OSError(28, "No space left on device")

    recorder = Recorder(store, write, lambda p: None, flush_interval=3600)
    recorder.record(_run(), {}, {}, snapshot_dir=tmp_path / "runs")
    assert recorder.flush_or_keep() is False  # refused, and its pending copy cannot be made
    assert "could not keep r1.json pending" in caplog.text
    assert "consist db rebuild" in caplog.text  # its snapshot in runs/ still holds it


class LockedStore(InMemoryStore):
    """A store another process holds: every read and write times out on its lock."""

    def __init__(self) -> None:
        super().__init__()
        self.locked = True

    def apply(self, batch) -> None:
        if self.locked:
            raise StoreLockedError("held by another process")
        super().apply(batch)

    def find_cached(self, signature):
        if self.locked:
            raise StoreLockedError("held by another process")
        return super().find_cached(signature)


def test_pending_path_sits_beside_the_runs_folder(tmp_path) -> None:
    snapshot = tmp_path / ".consist" / "runs" / "r1.json"
    assert pending_path(snapshot) == tmp_path / ".consist" / "pending" / "r1.json"


def test_a_locked_store_keeps_runs_journaled_until_it_is_free(tmp_path) -> None:
    store, snaps, journal = LockedStore(), Snapshots(), Journal()
    recorder = Recorder(store, snaps.write, snaps.remove, flush_interval=3600, journal=journal)
    runs = tmp_path / "runs"
    recorder.record(_run(status=RunStatus.RUNNING), {}, {}, snapshot_dir=runs)
    recorder.record(_run(), {}, {"out": _artifact()}, snapshot_dir=runs)
    assert recorder.flush_or_keep() is False
    assert journal.listed() == {"r1.json"}  # a later tracker would import it from runs/
    assert decode_snapshot(snaps.files[runs / "r1.json"])[0].status is RunStatus.COMPLETED
    recorder.record(_run("r2", sig="s2"), {}, {}, snapshot_dir=runs)
    store.locked = False
    assert recorder.flush_or_keep() is True
    assert journal.listed() == set() and journal.live == []
    assert store.get_run("r1").status is RunStatus.COMPLETED and store.get_run("r2")


def test_a_locked_store_never_fails_the_caller(tmp_path) -> None:
    store, snaps, journal = LockedStore(), Snapshots(), Journal()
    recorder = Recorder(store, snaps.write, snaps.remove, flush_interval=0, journal=journal)
    recorder.record(_run(), {}, {}, snapshot_dir=tmp_path / "runs")  # flushes at once
    assert recorder.find_cached("s1") is not None  # the queued run still serves hits
    assert recorder.find_cached("unknown") is None  # the store's lock reads as a miss
    recorder.close()
    assert journal.listed() == {"r1.json"}  # left for the next tracker
    with pytest.raises(StoreLockedError):
        recorder.flush()  # an explicit flush still says why nothing was written


def test_background_timer_flushes_without_being_asked(tmp_path) -> None:
    store = InMemoryStore()
    recorder = Recorder(
        store, lambda p, b: None, lambda p: None, flush_interval=0.01, scheduler=ThreadScheduler()
    )
    applied = threading.Event()
    original = store.apply

    def apply(batch):
        original(batch)
        applied.set()

    store.apply = apply
    recorder.record(_run(), {}, {}, snapshot_dir=tmp_path)
    assert applied.wait(5), "the timer never flushed"
    assert store.get_run("r1") is not None
    recorder.close()


def test_snapshot_document_is_json(parts, tmp_path) -> None:
    _, snaps, recorder = parts
    recorder.record(_run(), {"raw": _artifact("in", None)}, {}, snapshot_dir=tmp_path)
    document = json.loads(snaps.files[tmp_path / "r1.json"])
    assert document["run"]["status"] == "completed"
    assert document["links"]["input"]["raw"]["run_id"] is None


def test_every_queued_event_is_journaled_until_its_rows_are_written(tmp_path) -> None:
    store, snaps, journal = InMemoryStore(), Snapshots(), Journal()
    recorder = Recorder(store, snaps.write, snaps.remove, flush_interval=3600, journal=journal)
    runs = tmp_path / "runs"
    original = store.apply

    def apply_while_the_run_ends(batch):  # the run's end is recorded during the flush
        assert journal.listed() == {"r1.json"}  # before the rows were written
        original(batch)
        store.apply = original
        recorder.record(_run(), {}, {}, snapshot_dir=runs)

    store.apply = apply_while_the_run_ends
    recorder.record(_run(status=RunStatus.RUNNING), {}, {}, snapshot_dir=runs)
    recorder.flush()
    assert journal.live == [["r1.json"]]  # the end, in the new file, is not written yet
    recorder.flush()
    assert journal.live == []
    assert store.get_run("r1").status is RunStatus.COMPLETED
    recorder.close()


class PausingScheduler(Inline):
    """The single-threaded scheduler, noting when the recorder pauses and what it held."""

    def __init__(self, recorder_of: list[Recorder]) -> None:
        self.pauses: list[str] = []
        self._recorder_of = recorder_of

    def pause(self) -> None:
        recorder = self._recorder_of[0]
        # Nothing of the recorder's may be held: its lock is free (a pause under it would
        # keep other threads of the process waiting out the other processes' turns).
        assert recorder._lock.acquire(blocking=False)
        recorder._lock.release()
        self.pauses.append("pause")


def test_the_recorder_pauses_once_a_run_has_ended_not_while_it_runs(tmp_path) -> None:
    holder: list[Recorder] = []
    scheduler = PausingScheduler(holder)
    scheduler.lock = lambda reentrant=False: threading.RLock()  # type: ignore[method-assign]
    recorder = Recorder(
        InMemoryStore(), lambda p, b: None, lambda p: None, flush_interval=3600, scheduler=scheduler
    )
    holder.append(recorder)
    run = _run(status=RunStatus.RUNNING)
    recorder.record(run, {}, {}, snapshot_dir=tmp_path)
    assert scheduler.pauses == []  # a step that has not ended yet keeps the processor
    run.status = RunStatus.COMPLETED
    recorder.record(run, {}, {"out": _artifact()}, snapshot_dir=tmp_path)
    failed = _run("r2", RunStatus.FAILED, "s2")
    recorder.record(failed, {}, {}, snapshot_dir=tmp_path)
    assert scheduler.pauses == ["pause", "pause"]
    recorder.close()


def test_the_thread_scheduler_pauses_by_offering_the_processor(monkeypatch) -> None:
    import consist.api.scheduling as scheduling

    offered: list[bool] = []
    monkeypatch.setattr(scheduling, "_sched_yield", lambda: offered.append(True))
    ThreadScheduler().pause()
    assert offered == [True]
    monkeypatch.setattr(scheduling, "_sched_yield", None)  # a platform without sched_yield
    ThreadScheduler().pause()
    assert offered == [True]


def test_owed_work_runs_once_before_the_next_flush_or_store_read(parts, tmp_path) -> None:
    store, _, recorder = parts
    done: list[str] = []

    def recover() -> None:
        done.append("recovered")
        recorder.flush()  # owed work may flush itself

    recorder.owe(recover)
    recorder.record(_run(), {}, {}, snapshot_dir=tmp_path)
    assert done == []  # recording never waits for the store
    assert recorder.get_run("r1") is not None and done == []  # a queued run needs no store
    assert recorder.get_run("elsewhere") is None and done == ["recovered"]
    recorder.flush()
    assert done == ["recovered"] and store.get_run("r1") is not None


def test_owed_work_that_fails_stays_owed_and_the_flush_says_why(tmp_path) -> None:
    recorder = Recorder(InMemoryStore(), lambda p, b: None, lambda p: None, flush_interval=3600)
    attempts: list[int] = []

    def recover() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise StoreLockedError("held by another process")

    recorder.owe(recover)
    recorder.record(_run(), {}, {}, snapshot_dir=tmp_path)
    assert not recorder.flush_or_keep()  # locked: rows stay queued, nothing raised
    assert recorder.flush_or_keep() and len(attempts) == 2
    recorder.flush()
    assert len(attempts) == 2
    recorder.close()
