"""One cache rule: ``consist.core.cache.is_reusable`` decides which runs a lookup may return,
and the recorder's queue, the SQL writer's cache index and the in-memory fake agree with it
for every status x cache-hit combination; ``decide`` reports a typed reason kind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from consist.adapters.stores.duckdb_ import DuckDBStore
from consist.adapters.stores.sqlite_ import SQLiteStore
from consist.core import recorder as recorder_module
from consist.core.cache import DecisionKind, decide, is_reusable, reusable
from consist.core.model import Artifact, Run, RunStatus
from consist.core.ports.store import CacheCandidate, MetadataStore, WriteBatch
from consist.core.recorder import Recorder
from consist.testing.fakes import InMemoryStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)

# meta["cache_hit"]: absent, False, True (and a truthy non-bool, as a JSON document may hold).
HIT_FLAGS: list[dict[str, Any]] = [
    {},
    {"cache_hit": False},
    {"cache_hit": True, "cache_source": "src"},
    {"cache_hit": 1},
]
COMBINATIONS = [(status, meta) for status in RunStatus for meta in HIT_FLAGS]
IDS = [f"{status.value}-{meta.get('cache_hit', 'absent')}" for status, meta in COMBINATIONS]


def _run(run_id: str, status: RunStatus, meta: dict[str, Any], sig: str = "s") -> Run:
    return Run(run_id, "m", status, NOW, signature=sig, meta=dict(meta))


StoreFactory = Callable[[Path], MetadataStore]
STORES: dict[str, StoreFactory] = {
    "memory": lambda _: InMemoryStore(),
    "sqlite": lambda tmp: SQLiteStore(str(tmp / "c.sqlite")),
    "duckdb": lambda tmp: DuckDBStore(str(tmp / "c.duckdb")),
}


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetadataStore]:
    s = STORES[request.param](tmp_path)
    yield s
    s.close()  # type: ignore[attr-defined]


def test_the_rule_is_completed_and_executed() -> None:
    for status, meta in COMBINATIONS:
        expected = status is RunStatus.COMPLETED and not meta.get("cache_hit", False)
        assert is_reusable(_run("r", status, meta)) is expected
        assert reusable(status, bool(meta.get("cache_hit", False))) is expected
        assert reusable(status.value, bool(meta.get("cache_hit", False))) is expected  # a row
    assert is_reusable(Run("r", "m", RunStatus.COMPLETED, NOW, meta=None)) is True  # type: ignore[arg-type]


def test_the_recorder_uses_the_core_rule() -> None:
    assert recorder_module.is_reusable is is_reusable


@pytest.mark.parametrize(("status", "meta"), COMBINATIONS, ids=IDS)
def test_a_store_indexes_exactly_the_reusable_runs(
    store: MetadataStore, status: RunStatus, meta: dict[str, Any]
) -> None:
    run = _run("r1", status, meta)
    store.apply(WriteBatch(runs=[run]))
    found = store.find_cached("s")
    assert (found is not None) is is_reusable(run)
    if found is not None:
        assert found.run.id == "r1"


@pytest.mark.parametrize(("status", "meta"), COMBINATIONS, ids=IDS)
def test_a_store_follows_the_rule_across_state_changes(
    store: MetadataStore, status: RunStatus, meta: dict[str, Any]
) -> None:
    # From an executed completed run (indexed) to this state ...
    store.apply(WriteBatch(runs=[_run("r1", RunStatus.COMPLETED, {"cache_hit": False})]))
    assert store.find_cached("s") is not None
    run = _run("r1", status, meta)
    store.apply(WriteBatch(runs=[run]))
    assert (store.find_cached("s") is not None) is is_reusable(run)
    # ... and from this state (indexed or not, read off the stored row) to a running one.
    store.apply(WriteBatch(runs=[_run("r1", RunStatus.RUNNING, {})]))
    assert store.find_cached("s") is None


@pytest.mark.parametrize(("status", "meta"), COMBINATIONS, ids=IDS)
def test_the_recorder_queue_follows_the_rule(
    tmp_path: Path, status: RunStatus, meta: dict[str, Any]
) -> None:
    store = InMemoryStore()
    recorder = Recorder(store, lambda path, data: None, lambda path: None, flush_interval=3600)
    try:
        run = _run("r1", status, meta)
        recorder.record(run, {}, {}, snapshot_dir=tmp_path)
        assert (recorder.find_cached("s") is not None) is is_reusable(run)  # queued
        recorder.flush()
        assert (recorder.find_cached("s") is not None) is is_reusable(run)  # stored
    finally:
        recorder.close()


def test_decisions_carry_a_typed_kind_beside_their_reason() -> None:
    run = _run("src", RunStatus.COMPLETED, {})
    artifact = Artifact("a1", "out", "workspace://x.parquet", "parquet", "blake3:00", 1, "src", NOW)
    candidate = CacheCandidate(run=run, outputs={"out": artifact})

    overwrite = decide("overwrite", candidate)
    assert (overwrite.hit, overwrite.kind) == (False, DecisionKind.OVERWRITE)
    assert overwrite.reason == "cache_mode='overwrite' always executes"

    none = decide("reuse", None)
    assert (none.hit, none.kind) == (False, DecisionKind.NO_CANDIDATE)
    assert none.reason == "no completed run has this signature"

    gone = decide("reuse", candidate, outputs_present=lambda c: ["out"])
    assert (gone.hit, gone.kind) == (False, DecisionKind.OUTPUTS_MISSING)
    assert gone.reason == "outputs of run src are missing (out), so the step ran again"
    assert gone.candidate is candidate and gone.source_run_id is None

    for mode in ("reuse", "readonly"):
        hit = decide(mode, candidate, outputs_present=lambda c: [])
        assert (hit.hit, hit.kind) == (True, DecisionKind.REUSED)
        assert hit.reason == "reusing completed run src"
        assert hit.source_run_id == "src"
