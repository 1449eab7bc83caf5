"""Rebuilding the database from run snapshots gives back what was recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from frame_libs import make_frame, with_column
from sqlmodel import select
from typer.testing import CliRunner

import consist
from consist import Tracker
from consist.cli import app
from consist.models import Artifact, ConfigFacet, Run, RunArtifactLink, RunConfigKV

if TYPE_CHECKING:
    import polars as pl  # the annotation is read by name; polars loads when used


def simulate(zones: pd.DataFrame, config) -> pd.DataFrame:
    return zones.assign(scale=config["scale"])


def simulate_polars(zones: pl.DataFrame, config) -> pl.DataFrame:
    return with_column(zones, "scale", config["scale"])


SIMULATE = {"pandas": simulate, "polars": simulate_polars}


def record_history(tracker: Tracker, lib: str = "pandas") -> None:
    """Runs of every kind: scenario steps, a function step and its hit, facets, a failure."""
    simulate = SIMULATE[lib]
    zones = make_frame(lib, {"zone": [1, 2], "jobs": [10, 20]})
    with consist.scenario("baseline", tracker=tracker, config={"fuel": 1.2}) as sc:
        with sc.trace(name="prepare"):
            sc.coupler.set("zones", consist.log_dataframe(zones, key="zones"))
        for year in (2020, 2030):
            sc.run(
                fn=simulate,
                input_keys=["zones"],
                config={"scale": year / 1000},
                facet={"scale": year / 1000, "label": f"y{year}"},
                year=year,
                outputs=["result"],
            )
    zones_art = tracker.get_artifact("zones")
    tracker.run(simulate, inputs={"zones": zones_art}, config={"scale": 2}, outputs=["x"])
    assert tracker.run(simulate, inputs={"zones": zones_art}, config={"scale": 2}).cache_hit
    with pytest.raises(RuntimeError), tracker.start_run("broken", model="m"):
        raise RuntimeError("boom")


def contents(tracker: Tracker) -> dict[str, Any]:
    """Every provenance table, as comparable rows."""
    tables = {"run": Run, "artifact": Artifact, "link": RunArtifactLink}
    tables.update({"facet": ConfigFacet, "kv": RunConfigKV})
    found = {}
    for name, model in tables.items():
        rows = consist.run_query(select(model), tracker=tracker)
        found[name] = sorted(repr(sorted(row.model_dump().items())) for row in rows)
    return found


def test_deleting_the_database_and_rebuilding_gives_back_every_row(
    make_tracker, db_file: Path, lib: str
) -> None:
    tracker = make_tracker()
    record_history(tracker, lib)
    before = contents(tracker)
    assert len(before["run"]) == 7 and before["facet"] and before["kv"]
    tracker.close()
    for leftover in db_file.parent.glob(db_file.name + "*"):  # the file, and WAL files
        leftover.unlink()

    fresh = make_tracker()
    assert fresh.find_runs() == []  # a new database starts empty: no silent rebuild
    seen: list[tuple[int, int]] = []
    assert fresh.rebuild_from_snapshots(progress=lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] == 7
    assert contents(fresh) == before
    zones = fresh.get_artifact("zones")
    again = fresh.run(SIMULATE[lib], inputs={"zones": zones}, config={"scale": 2})
    assert again.cache_hit  # the cache index came back too


def test_rebuild_is_idempotent_and_refused_when_read_only(make_tracker) -> None:
    tracker = make_tracker()
    record_history(tracker)
    before = contents(tracker)
    tracker.rebuild_from_snapshots()
    assert contents(tracker) == before
    with pytest.raises(consist.ReadOnlyError):
        make_tracker(read_only=True).rebuild_from_snapshots()


def test_db_rebuild_command(make_tracker, db_file: Path, workdir: Path) -> None:
    tracker = make_tracker()
    record_history(tracker)
    before = contents(tracker)
    tracker.close()
    for leftover in db_file.parent.glob(db_file.name + "*"):
        leftover.unlink()
    runs = workdir / "runs"
    result = CliRunner().invoke(
        app, ["db", "rebuild", "--db", str(db_file), "--run-dir", str(runs)]
    )
    assert result.exit_code == 0, result.output
    assert "7 runs" in result.output
    assert contents(make_tracker()) == before
    missing = CliRunner().invoke(app, ["db", "rebuild", "--db", str(db_file), "--run-dir", "nope"])
    assert missing.exit_code == 1 and "no run snapshots" in missing.output


def damage(snapshots: Path) -> tuple[Path, Path]:
    """Spoil two snapshots as hand edits or a bad copy would: one no longer JSON, one whose
    year no INTEGER column takes."""
    truncated, overflowing = sorted(snapshots.glob("*.json"))[:2]
    truncated.write_bytes(truncated.read_bytes()[:40])
    document = json.loads(overflowing.read_text())
    document["run"]["year"] = 2**70
    overflowing.write_text(json.dumps(document))
    return truncated, overflowing


def test_rebuild_restores_every_snapshot_but_the_damaged_ones(
    make_tracker, db_file: Path, workdir: Path
) -> None:
    tracker = make_tracker()
    record_history(tracker)
    tracker.close()
    for leftover in db_file.parent.glob(db_file.name + "*"):
        leftover.unlink()
    bad = damage(workdir / "runs" / ".consist" / "runs")
    skipped: dict[Path, str] = {}
    fresh = make_tracker()
    restored = fresh.rebuild_from_snapshots(on_skip=lambda path, why: skipped.update({path: why}))
    assert restored == 5 and set(skipped) == set(bad)
    assert len(fresh.find_runs()) == 5
    assert {run.id for run in fresh.find_runs()}.isdisjoint(path.stem for path in bad)


def test_db_rebuild_command_names_the_snapshots_it_left_out(
    make_tracker, db_file: Path, workdir: Path
) -> None:
    tracker = make_tracker()
    record_history(tracker)
    tracker.close()
    bad = damage(workdir / "runs" / ".consist" / "runs")
    args = ["db", "rebuild", "--db", str(db_file), "--run-dir", str(workdir / "runs")]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["runs"] == 5 and set(report["skipped"]) == {str(path) for path in bad}
    plain = CliRunner().invoke(app, args)
    assert plain.exit_code == 1 and "2 snapshot(s) could not be restored" in plain.stderr


def consume(raw: Path) -> None:
    """A step reading a shared input."""


@pytest.mark.parametrize(
    "chunk",
    [
        pytest.param(1, id="one-snapshot-per-batch"),
        pytest.param(None, id="one-batch"),
    ],
)
def test_a_shared_input_keeps_its_creation_time_through_a_rebuild(
    make_tracker, db_file: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch, chunk
) -> None:
    # Each run's snapshot holds the input with the time that run saw it; the snapshots are
    # read in name order, so the later run ("a_...") comes first and must not win.
    raw = workdir / "raw.csv"
    raw.write_text("a\n1\n")
    tracker = make_tracker()
    tracker.run(consume, inputs={"raw": raw}, run_id="z_first")
    tracker.run(consume, inputs={"raw": raw}, config={"k": 2}, run_id="a_second")
    (shared,) = tracker.find_artifacts(key="raw")
    tracker.close()
    if chunk is not None:
        monkeypatch.setattr("consist.api.maintenance.REBUILD_CHUNK", chunk)
    for leftover in db_file.parent.glob(db_file.name + "*"):
        leftover.unlink()

    fresh = make_tracker()
    assert fresh.rebuild_from_snapshots() == 2
    assert [a.created_at for a in fresh.find_artifacts(key="raw")] == [shared.created_at]
    fresh.rebuild_from_snapshots()  # again, over the rows now there
    assert [a.created_at for a in fresh.find_artifacts(key="raw")] == [shared.created_at]
