"""Run rows decoded in bulk give the same runs as one at a time, damaged JSON included."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from consist.adapters.stores.sql.rows import row_to_run, rows_to_runs, run_to_row
from consist.adapters.stores.sql.statements import RUN_COLUMNS
from consist.core.model import Run, RunStatus

NOW = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)


def _run(index: int, **fields) -> Run:
    return Run(f"r{index}", "m", RunStatus.COMPLETED, NOW, signature=f"s{index}", **fields)


def test_bulk_decoding_round_trips_every_field() -> None:
    runs = [
        _run(0),
        _run(1, config={"a": [1, 2.5, None]}, meta={"cache_hit": True, "note": "é"}),
        _run(2, tags=["x", "y"], year=2030, iteration=3, started_at=NOW, ended_at=NOW),
        _run(3, config=[], meta={}),
        _run(4, config=0, meta={"nested": {"k": "v"}}, error="boom", pid=7, host="h"),
    ]
    decoded = rows_to_runs([run_to_row(run) for run in runs])
    assert decoded == runs
    assert [row_to_run(run_to_row(run)) for run in runs] == runs
    # Each run owns its documents: changing one changes no other.
    decoded[1].meta["note"] = "changed"
    assert rows_to_runs([run_to_row(runs[1])])[0].meta["note"] == "é"


def test_a_damaged_document_raises_its_own_error() -> None:
    rows = [list(run_to_row(_run(i, meta={"i": i}))) for i in range(3)]
    meta = RUN_COLUMNS.index("meta_json")
    rows[1][meta] = '{"i": 1'  # cut short
    with pytest.raises(json.JSONDecodeError):
        rows_to_runs([tuple(row) for row in rows])
    # A document that is valid alone but would merge with its neighbour is not misread.
    rows[1][meta] = '{"i": 1}, {"j": 2}'
    with pytest.raises(json.JSONDecodeError):
        rows_to_runs([tuple(row) for row in rows])
