"""The table store contract, run against the in-memory fake (the SQL stores run it in
test_store_contract.py), plus the fake's own behaviour where the contract says nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist.core.model import RunStatus
from consist.core.ports.store import WriteBatch
from consist.core.tables import ARTIFACT_ID, IngestJob, Provenance, ViewPlan, ViewSource
from consist.testing.contracts import TableStoreContract
from consist.testing.contracts.store_data import make_artifact, make_run
from consist.testing.contracts.tables import MODEL, ROWS, job
from consist.testing.fake_tables import InMemoryTableStore
from consist.testing.fakes import InMemoryStore


class TestInMemoryTableStore(TableStoreContract):
    # Every contract test passes: jobs in the contract carry records, and views are built
    # over hot rows only. The fake's gaps (files and frames) are outside the contract and
    # are pinned by the tests below.
    notimpl: dict[str, str] = {}

    @pytest.fixture
    def store(self) -> InMemoryTableStore:
        return InMemoryTableStore()


def test_is_still_an_in_memory_store() -> None:
    assert isinstance(InMemoryTableStore(), InMemoryStore)


def test_files_and_frames_are_a_declared_gap(tmp_path: Path) -> None:
    store = InMemoryTableStore()
    assert store.accepts_frames is False
    assert store.reads_in_place(tmp_path / "t.parquet") is False
    provenance = Provenance("a1", "r1")
    from_file = IngestJob("person", provenance, path=tmp_path / "t.csv", driver="csv")
    from_frame = IngestJob("person", provenance, frame=object())
    for refused in (from_file, from_frame):
        with pytest.raises(ValueError, match="records"):
            store.ingest(refused)
        with pytest.raises(ValueError, match="records"):
            store.validate(refused)
    source = ViewSource("f1", "person", "u", "parquet", provenance, path=tmp_path / "t.parquet")
    with pytest.raises(NotImplementedError, match="reads no files"):
        store.build_view(ViewPlan("v", "person", MODEL, (source,)))
    assert store.hot_columns("person") is None and "v" not in store.views


def test_views_are_evaluated_over_hot_rows_of_finished_runs() -> None:
    store = InMemoryTableStore()
    store.build_view(ViewPlan("v_person", "person", MODEL))
    assert store.view_rows("v_person")[1] == []
    store.apply(
        WriteBatch(
            runs=[make_run("r1"), make_run("r2", status=RunStatus.RUNNING)],
            artifacts=[make_artifact("a1", "r1"), make_artifact("a2", "r2")],
        )
    )
    store.ingest(job("a1"))
    store.ingest(job("a2", rows=[(9, 90)]))
    names, rows = store.view_rows("v_person")
    assert names[:3] == ["person_id", "age", "trips"] and ARTIFACT_ID in names
    assert [row[:3] for row in rows] == [(*r, None) for r in ROWS]  # a2's run is unfinished


def test_values_are_cast_to_the_model_types() -> None:
    from consist.core.tables import Column, TableSchema

    text = TableSchema((Column("person_id", "string"), Column("age", "string")))
    store = InMemoryTableStore()
    store.ingest(job("a1", records=(text, [("1", "30")]), model=MODEL))
    assert store.read_rows("person", "a1") == (["person_id", "age"], [(1, 30)])
