"""Caching through the public API: hits skip the function, any identity change misses."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from frame_libs import as_dict, frame_type, read_csv, rows_where, takes, write_file

import consist
from consist import RunStatus


class Counter:
    def __init__(self) -> None:
        self.calls = 0


def test_hit_does_not_call_the_function(tracker, raw_csv: Path, lib: str) -> None:
    counter = Counter()

    def step(raw: Path):
        counter.calls += 1
        return {"copy": read_csv(lib, raw)}

    first = tracker.run(step, inputs={"raw": raw_csv}, outputs=["copy"])
    second = tracker.run(step, inputs={"raw": raw_csv}, outputs=["copy"])
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert counter.calls == 1
    assert second["copy"].id == first["copy"].id
    assert second.run.id != first.run.id
    assert second.run.meta == {**second.run.meta, "cache_hit": True, "cache_source": first.run.id}


def test_config_change_misses(tracker, raw_csv: Path) -> None:
    def step(raw: Path, config):
        return {"out": pd.read_csv(raw)}

    a = tracker.run(step, inputs={"raw": raw_csv}, config={"threshold": 0.5})
    b = tracker.run(step, inputs={"raw": raw_csv}, config={"threshold": 0.6})
    c = tracker.run(step, inputs={"raw": raw_csv}, config={"threshold": 0.5})
    assert (a.cache_hit, b.cache_hit, c.cache_hit) == (False, False, True)
    assert c.run.meta["cache_source"] == a.run.id


def test_integral_float_config_is_the_same_config(tracker, raw_csv: Path) -> None:
    def step(raw: Path, config):
        return {"out": pd.read_csv(raw)}

    assert not tracker.run(step, inputs={"raw": raw_csv}, config={"a": 1}).cache_hit
    assert tracker.run(step, inputs={"raw": raw_csv}, config={"a": 1.0}).cache_hit


def test_one_changed_byte_of_an_input_misses(tracker, raw_csv: Path) -> None:
    def step(raw: Path):
        return {"out": pd.read_csv(raw)}

    assert not tracker.run(step, inputs={"raw": raw_csv}).cache_hit
    data = bytearray(raw_csv.read_bytes())
    data[-2] = ord("5") if data[-2] != ord("5") else ord("6")  # same size, one byte differs
    raw_csv.write_bytes(bytes(data))
    assert not tracker.run(step, inputs={"raw": raw_csv}).cache_hit
    assert tracker.run(step, inputs={"raw": raw_csv}).cache_hit


def test_failed_run_is_recorded_and_never_reused(tracker, raw_csv: Path) -> None:
    attempts = Counter()

    def flaky(raw: Path):
        attempts.calls += 1
        if attempts.calls == 1:
            raise RuntimeError("solver diverged")
        return {"out": pd.read_csv(raw)}

    with pytest.raises(RuntimeError, match="solver diverged"):
        tracker.run(flaky, inputs={"raw": raw_csv})
    failed = tracker.find_runs(model="flaky", status="failed")
    assert len(failed) == 1
    assert "RuntimeError: solver diverged" in failed[0].error
    assert failed[0].ended_at is not None

    retry = tracker.run(flaky, inputs={"raw": raw_csv})
    assert retry.cache_hit is False and attempts.calls == 2
    assert retry.run.status is RunStatus.COMPLETED


def test_new_tracker_on_same_files_keeps_the_cache(make_tracker, raw_csv: Path, lib) -> None:
    def step(raw: Path):
        return {"out": read_csv(lib, raw)}

    first = make_tracker()
    original = first.run(step, inputs={"raw": raw_csv})
    first.close()

    second = make_tracker()
    again = second.run(step, inputs={"raw": raw_csv})
    assert again.cache_hit and again.run.meta["cache_source"] == original.run.id
    loaded = second.load(again["out"], engine=lib)
    assert isinstance(loaded, frame_type(lib)) and loaded.shape == (4, 2)


def test_run_rows_links_and_snapshot_are_recorded(tracker, raw_csv: Path, workdir: Path) -> None:
    def step(raw: Path):
        return {"out": pd.read_csv(raw)}

    result = tracker.run(step, inputs={"raw": raw_csv}, tags=["demo"], year=2030)
    run = tracker.get_run(result.run.id)
    assert run.status is RunStatus.COMPLETED
    assert (run.year, run.tags, run.model_name) == (2030, ["demo"], "step")
    assert run.signature and run.code_digest and run.config_digest and run.inputs_digest
    links = tracker.get_artifacts_for_run(run.id)
    assert set(links.inputs) == {"raw"} and set(links.outputs) == {"out"}
    assert links.inputs["raw"].digest.startswith("blake3:")
    assert links.outputs["out"].run_id == run.id

    snapshot = workdir / "runs" / ".consist" / "runs" / f"{run.id}.json"
    document = json.loads(snapshot.read_text())
    assert document["run"]["status"] == "completed"
    assert set(document["links"]["output"]) == {"out"}
    assert not list(snapshot.parent.glob("*.tmp"))


def test_produced_inputs_are_merkle_linked(tracker, raw_csv: Path, lib: str) -> None:
    def clean(raw: Path, config):
        df = read_csv(lib, raw)
        return {"cleaned": rows_where(df, df["value"] >= config["threshold"])}

    @takes(lib, "cleaned")
    def summarise(cleaned):
        assert isinstance(cleaned, frame_type(lib))
        return {"summary": cleaned.describe()}

    up = tracker.run(clean, inputs={"raw": raw_csv}, config={"threshold": 0.5})
    down = tracker.run(summarise, inputs={"cleaned": up["cleaned"]})
    assert not down.cache_hit
    assert tracker.run(summarise, inputs={"cleaned": up["cleaned"]}).cache_hit
    # Upstream config change → new upstream signature → downstream misses.
    up2 = tracker.run(clean, inputs={"raw": raw_csv}, config={"threshold": 0.1})
    assert not tracker.run(summarise, inputs={"cleaned": up2["cleaned"]}).cache_hit
    links = tracker.get_artifacts_for_run(down.run.id)
    assert links.inputs["cleaned"].id == up["cleaned"].id


def test_cache_modes(tracker, raw_csv: Path) -> None:
    counter = Counter()

    def step(raw: Path):
        counter.calls += 1
        return {"out": pd.read_csv(raw)}

    first = tracker.run(step, inputs={"raw": raw_csv})
    forced = tracker.run(step, inputs={"raw": raw_csv}, cache_mode="overwrite")
    assert not forced.cache_hit and counter.calls == 2
    newest = tracker.run(step, inputs={"raw": raw_csv})
    assert newest.run.meta["cache_source"] == forced.run.id  # newest completed run wins

    before = len(tracker.find_runs())
    peek = tracker.run(step, inputs={"raw": raw_csv}, cache_mode="readonly")
    assert peek.cache_hit and peek.run.meta["cache_source"] == forced.run.id
    assert len(tracker.find_runs()) == before
    assert first.run.id != forced.run.id


def test_readonly_miss_executes_but_records_nothing(tracker, raw_csv: Path) -> None:
    def step(raw: Path, config):
        return {"out": pd.read_csv(raw)}

    result = tracker.run(step, inputs={"raw": raw_csv}, config={"k": 1}, cache_mode="readonly")
    assert result.cache_hit is False and result["out"].path.exists()
    assert tracker.find_runs() == []


def test_fast_hashing_uses_size_and_mtime(make_tracker, raw_csv: Path) -> None:
    tracker = make_tracker(hashing="fast")

    def step(raw: Path):
        return {"out": pd.read_csv(raw)}

    result = tracker.run(step, inputs={"raw": raw_csv})
    assert tracker.get_artifacts_for_run(result.run.id).inputs["raw"].digest.startswith("fast:")
    assert tracker.run(step, inputs={"raw": raw_csv}).cache_hit
    stat = raw_csv.stat()
    os.utime(raw_csv, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not tracker.run(step, inputs={"raw": raw_csv}).cache_hit


def test_cache_epoch_invalidates_everything(make_tracker, raw_csv: Path) -> None:
    def step(raw: Path):
        return {"out": pd.read_csv(raw)}

    make_tracker().run(step, inputs={"raw": raw_csv})
    assert make_tracker().run(step, inputs={"raw": raw_csv}).cache_hit
    assert not make_tracker(cache_epoch=1).run(step, inputs={"raw": raw_csv}).cache_hit


def test_depends_on_counts_for_identity_but_is_not_passed(tracker, raw_csv: Path, workdir) -> None:
    settings = workdir / "config.yaml"
    settings.write_text("alpha: 1\n")
    seen = Counter()

    def step(raw: Path, **rest):
        seen.calls += 1
        assert rest == {}
        return {"out": pd.read_csv(raw)}

    assert not tracker.run(step, inputs={"raw": raw_csv}, depends_on=[settings]).cache_hit
    assert tracker.run(step, inputs={"raw": raw_csv}, depends_on=[settings]).cache_hit
    settings.write_text("alpha: 2\n")
    assert not tracker.run(step, inputs={"raw": raw_csv}, depends_on=[settings]).cache_hit
    assert seen.calls == 2


def test_consist_load_reads_parquet_csv_and_json(
    tracker, raw_csv: Path, workdir: Path, lib: str
) -> None:
    def step(raw: Path):
        df = read_csv(lib, raw)
        json_path = write_file(df, tracker.run_artifact_dir() / "table.json")
        return {"as_parquet": df, "as_csv": raw, "as_json": json_path}

    result = tracker.run(step, inputs={"raw": raw_csv})
    expected = as_dict(pd.read_csv(raw_csv))
    for key in ("as_parquet", "as_csv", "as_json"):
        loaded = consist.load(result[key], engine=lib)
        assert isinstance(loaded, frame_type(lib)) and list(loaded.columns) == list(expected)
        for column, values in as_dict(loaded).items():
            assert values == pytest.approx(expected[column])  # pandas reads json floats roughly
    assert result["as_json"].driver == "json"
    assert result["as_csv"].uri.startswith("file://")
    assert result["as_parquet"].uri.startswith("workspace://outputs/step/")
