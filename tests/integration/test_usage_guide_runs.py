"""The usage guide's "Runs" snippet, executed verbatim in a fresh project folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SNIPPET = Path(__file__).parent / "snippets" / "runs.py"


def test_runs_snippet_records_then_reuses(raw_csv: Path, run_snippet) -> None:
    first = run_snippet(SNIPPET)
    result = first["result"]
    assert result.cache_hit is False
    cleaned = first["cleaned_artifact"]
    assert cleaned.key == "cleaned"
    assert cleaned.digest.startswith("blake3:")
    frame = pd.read_parquet(cleaned.path)
    assert sorted(frame["value"]) == [0.6, 0.9]  # threshold 0.5 keeps two rows
    first["tracker"].close()

    # The same script run again in a new process-like session is a cache hit.
    second = run_snippet(SNIPPET)
    assert second["result"].cache_hit is True
    assert second["cleaned_artifact"].id == cleaned.id
    assert second["result"].run.meta["cache_source"] == result.run.id
    tracker = second["tracker"]
    runs = tracker.find_runs(model="clean_data")
    assert len(runs) == 2
    assert {r.meta["cache_hit"] for r in runs} == {True, False}
    tracker.close()


def test_runs_snippet_with_a_call_counter_skips_the_function_on_a_hit(
    raw_csv: Path, run_snippet, tmp_path: Path
) -> None:
    """The snippet as a notebook user would extend it: a call counter in the step. Running
    the cell again (new function, new tracker) is a hit that does not call the function."""
    counted = tmp_path / "runs_counted.py"
    text = SNIPPET.read_text()
    body = "    df = pd.read_csv(raw_file)\n"
    assert body in text
    counted.write_text(text.replace(body, "    calls.append(1)\n" + body))
    calls: list[int] = []
    for expected_hit in (False, True, True):
        namespace = run_snippet(counted, calls=calls)
        assert namespace["result"].cache_hit is expected_hit
        namespace["tracker"].close()
    assert calls == [1]
