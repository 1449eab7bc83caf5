"""The frame engine contract, run against the pandas adapter and the JSON fake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consist.adapters.frames.pandas_ import PandasEngine
from consist.testing.contracts import FrameEngineContract
from consist.testing.fake_frames import FakeFrame, FakeFrameEngine


class TestPandasEngine(FrameEngineContract):
    notimpl = {
        "test_empty_frame_keeps_its_columns": (
            "the json driver writes orient='records': an empty frame becomes [] and its "
            "column names are lost"
        ),
    }

    @pytest.fixture
    def engine(self) -> PandasEngine:
        return PandasEngine()


class TestFakeFrameEngine(FrameEngineContract):
    notimpl = {
        "test_parquet_round_trip": "the fake writes json only (no pyarrow in consist.testing)",
    }

    @pytest.fixture
    def engine(self) -> FakeFrameEngine:
        return FakeFrameEngine()


def test_fake_reads_records_written_by_pandas(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    PandasEngine().write(PandasEngine().from_records(["a", "b"], [(1, "x")]), path, "json")
    engine = FakeFrameEngine()
    assert engine.read(path, "json") == FakeFrame(("a", "b"), ((1, "x"),))
    assert engine.reads == [(path, "json")]


def test_fake_frame_checks_row_width_and_describes_types(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2 values for 1 columns"):
        FakeFrame(("a",), ((1, 2),))
    frame = FakeFrame.from_dicts([{"a": 1, "b": True}, {"a": 2.5, "c": b"x"}])
    assert frame.columns == ("a", "b", "c") and frame.rows[1] == (2.5, None, b"x")
    assert FakeFrameEngine().describe(frame) == [
        ("a", "float"),
        ("b", "boolean"),
        ("c", "binary"),
    ]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"no": "columns"}))
    assert FakeFrameEngine().describe(path, "json") is None
    assert FakeFrameEngine().describe(path, "csv") is None
