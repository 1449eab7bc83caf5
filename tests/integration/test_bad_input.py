"""Bad input is rejected with a helpful error before anything is recorded."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import consist
from consist import Tracker


def _nothing_recorded(tracker, workdir: Path) -> None:
    assert tracker.find_runs() == []
    snapshots = workdir / "runs" / ".consist" / "runs"
    assert not snapshots.exists() or not any(snapshots.iterdir())
    outputs = workdir / "runs" / "outputs"
    assert not outputs.exists() or not any(outputs.iterdir())


def step(raw: Path, config=None):
    return {"out": pd.read_csv(raw)}


@pytest.mark.parametrize(
    ("option", "value", "listed"),
    [
        ("hashing", "sha1", "'full', 'fast'"),
        ("code_identity", "dep", "'deps'"),
        ("code_identity", 3, "'auto'"),
    ],
)
def test_unknown_tracker_options_list_allowed_values(workdir, option, value, listed) -> None:
    with pytest.raises(ValueError, match=listed) as info:
        Tracker(run_dir=workdir / "runs", **{option: value})
    assert isinstance(info.value, consist.ConsistError)
    assert repr(value) in str(info.value)


def test_literal_code_identity_is_accepted(make_tracker, raw_csv) -> None:
    v3 = make_tracker(code_identity="v3")
    assert not v3.run(step, inputs={"raw": raw_csv}).cache_hit
    assert v3.run(step, inputs={"raw": raw_csv}).cache_hit
    assert not make_tracker(code_identity="v4").run(step, inputs={"raw": raw_csv}).cache_hit


def test_unknown_cache_mode(tracker, raw_csv, workdir) -> None:
    with pytest.raises(ValueError, match="'reuse', 'overwrite', 'readonly'"):
        tracker.run(step, inputs={"raw": raw_csv}, cache_mode="refresh")
    _nothing_recorded(tracker, workdir)


def test_missing_input_file_names_it(tracker, workdir) -> None:
    with pytest.raises(FileNotFoundError, match="nope.csv") as info:
        tracker.run(step, inputs={"raw": workdir / "nope.csv"})
    assert info.value.filename.endswith("nope.csv")
    assert str(info.value).startswith("input 'raw' points at")  # a sentence, not "[Errno None]"
    _nothing_recorded(tracker, workdir)


def test_unhashable_config_names_the_key_path(tracker, raw_csv, workdir) -> None:
    config = {"solver": {"callback": lambda x: x}}
    with pytest.raises(TypeError, match=r'config\["solver"\]\["callback"\]'):
        tracker.run(step, inputs={"raw": raw_csv}, config=config)
    _nothing_recorded(tracker, workdir)


@pytest.mark.parametrize("key", ["", "a/b", "../x", "..", "a\\b"])
def test_invalid_output_keys(tracker, raw_csv, workdir, key) -> None:
    with pytest.raises(consist.InvalidKeyError, match="key"):
        tracker.run(step, inputs={"raw": raw_csv}, outputs=[key])
    with pytest.raises(consist.InvalidKeyError):
        tracker.run(step, inputs={key: raw_csv})
    _nothing_recorded(tracker, workdir)


def test_invalid_returned_key_fails_the_run_without_writing_outside(tracker, workdir) -> None:
    def escaping():
        return {"../../evil": pd.DataFrame({"a": [1]})}

    with pytest.raises(consist.InvalidKeyError):
        tracker.run(escaping)
    assert not (workdir / "evil.parquet").exists()
    assert not list(workdir.rglob("evil*"))


def test_explicit_run_id_conflict(tracker, raw_csv, workdir) -> None:
    first = tracker.run(step, inputs={"raw": raw_csv}, run_id="baseline_2030")
    again = tracker.run(step, inputs={"raw": raw_csv}, run_id="baseline_2030")
    assert again.cache_hit and again.run.id == first.run.id
    with pytest.raises(consist.RunIdConflictError, match="baseline_2030"):
        tracker.run(step, inputs={"raw": raw_csv}, config={"k": 2}, run_id="baseline_2030")
    assert len(tracker.find_runs()) == 1


def test_read_only_tracker_refuses_to_record(make_tracker, raw_csv) -> None:
    make_tracker().run(step, inputs={"raw": raw_csv})
    reader = make_tracker(read_only=True)
    with pytest.raises(consist.ReadOnlyError, match="read_only"):
        reader.run(step, inputs={"raw": raw_csv})
    assert len(reader.find_runs()) == 1


def test_load_rejects_non_artifacts_and_bad_fallback(tracker) -> None:
    with pytest.raises(TypeError, match="Artifact"):
        consist.load("raw.csv")
    with pytest.raises(ValueError, match="'inputs-only', 'always', 'never'"):
        consist.load(None, db_fallback="sometimes")
