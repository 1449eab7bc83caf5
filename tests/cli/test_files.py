"""``consist validate`` and ``gc`` on real files: a file changed behind the library's back
is reported, ``gc --dry-run`` lists exactly what ``gc`` deletes, provenance survives, and a
step whose outputs were collected runs again."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from cli_helpers import Recorded, clean, table_rows

from consist import RunResult, Tracker


def test_validate_passes_on_an_untouched_workspace(fresh: Recorded) -> None:
    result = fresh.invoke("validate", "--verify-digests")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    data = json.loads(fresh.invoke("validate", "--json").stdout)
    assert data["counts"]["ok"] == len(data["artifacts"]) > 0
    assert f"{len(data['artifacts'])} artifacts: {len(data['artifacts'])} ok" in result.stdout


def test_validate_reports_missing_and_altered_files(fresh: Recorded) -> None:
    listed = json.loads(fresh.invoke("artifacts", fresh.runs["summary"], "--json").stdout)
    summary = next(a for a in listed if a["key"] == "summary")
    cleaned = next(a for a in listed if a["key"] == "cleaned")
    summary_path = fresh.root / summary["uri"].removeprefix("workspace://")
    cleaned_path = fresh.root / cleaned["uri"].removeprefix("workspace://")
    summary_path.unlink()
    # Same size, same mtime: only the bytes differ.
    stat = cleaned_path.stat()
    data = bytearray(cleaned_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    cleaned_path.write_bytes(bytes(data))
    os.utime(cleaned_path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    presence = fresh.invoke("validate")
    assert presence.exit_code == 1
    assert [row[:2] for row in table_rows(presence.stdout)] == [["missing", "summary"]]
    assert "missing or changed" in presence.stderr

    digests = fresh.invoke("validate", "--verify-digests", "--json")
    assert digests.exit_code == 1
    found = {a["key"]: a for a in json.loads(digests.stdout)["artifacts"] if a["status"] != "ok"}
    assert found["summary"]["status"] == "missing"
    assert found["cleaned"]["status"] == "altered"
    assert found["cleaned"]["artifact_id"] == cleaned["id"]
    assert cleaned["digest"] in found["cleaned"]["detail"]


RAW = "a,b\n1,2\n3,4\n5,6\n"  # what cli_helpers.record writes


def _clean_again(fresh: Recorded, raw: str) -> RunResult:
    """The first cleaning (factor 2) asked for again, with ``raw.csv`` holding ``raw``."""
    (fresh.root / "raw.csv").write_text(raw)
    with Tracker(fresh.root, db_path=fresh.db) as tracker:
        return tracker.run(
            clean,
            inputs={"path": fresh.root / "raw.csv"},
            outputs=["cleaned"],
            config={"factor": 2},
            tags=["prep"],
            year=2020,
        )


def test_gc_keeps_sweeps_and_collects_superseded_versions(fresh: Recorded) -> None:
    # Two configs, a cache hit, a scenario over two years: each output is the only version
    # of its computation (or consumed), and the failed run wrote nothing.
    assert json.loads(fresh.invoke("gc", "--dry-run", "--json").stdout)["artifacts"] == []
    # The input file is updated in place and the first cleaning runs again: its old
    # output is superseded by the new version.
    newer = _clean_again(fresh, RAW.replace("5,6", "50,60"))
    assert not newer.cache_hit
    plan = json.loads(fresh.invoke("gc", "--dry-run", "--json").stdout)["artifacts"]
    assert [(a["key"], a["run_id"]) for a in plan] == [("cleaned", fresh.runs["first"])]
    assert plan[0]["reason"] == f"superseded by 'cleaned' of run {newer.run.id}"
    assert (
        json.loads(fresh.invoke("gc", "--dry-run", "--json", "--keep-last", "2").stdout)[
            "artifacts"
        ]
        == []
    )


def test_gc_dry_run_lists_exactly_what_gc_deletes(fresh: Recorded) -> None:
    _clean_again(fresh, RAW.replace("5,6", "50,60"))
    before = sorted(p for p in fresh.root.rglob("*") if p.is_file() and p.suffix != ".json")
    planned = fresh.invoke("gc", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.stderr
    plan = json.loads(planned.stdout)
    after_dry_run = sorted(p for p in fresh.root.rglob("*") if p.is_file())
    assert [p for p in after_dry_run if p.suffix != ".json"] == before  # nothing deleted
    assert len(plan["artifacts"]) == 1 and plan["dry_run"] is True
    table = fresh.invoke("gc", "--dry-run")
    assert [row[:2] for row in table_rows(table.stdout)] == [["cleaned", fresh.runs["first"]]]
    assert "would delete 1 file" in table.stdout

    done = fresh.invoke("gc", "--json")
    assert done.exit_code == 0, done.stderr
    deleted = json.loads(done.stdout)
    assert deleted["artifacts"] == plan["artifacts"] and deleted["dry_run"] is False
    gone = Path(plan["artifacts"][0]["path"])
    assert not gone.exists()
    remaining = sorted(p for p in fresh.root.rglob("*") if p.is_file() and p.suffix != ".json")
    assert remaining == [p for p in before if p != gone]
    assert json.loads(fresh.invoke("gc", "--dry-run", "--json").stdout)["artifacts"] == []


def test_after_gc_provenance_answers_and_the_step_runs_again(fresh: Recorded) -> None:
    _clean_again(fresh, RAW.replace("5,6", "50,60"))
    assert fresh.invoke("gc").exit_code == 0
    first = fresh.runs["first"]
    shown = json.loads(fresh.invoke("show", first, "--json").stdout)
    assert shown["run"]["status"] == "completed"
    output = next(a for a in shown["artifacts"] if a["direction"] == "output")
    assert output["bytes"] == "removed" and output["bytes_removed_at"]
    assert "removed" in table_rows(fresh.invoke("artifacts", first).stdout)[-1]
    checked = json.loads(fresh.invoke("validate", "--json").stdout)
    assert checked["counts"]["removed"] == 1 and checked["counts"]["missing"] == 0
    assert fresh.invoke("validate").exit_code == 0  # removed on purpose is not a problem
    lineage = fresh.invoke("lineage", output["id"])
    assert lineage.exit_code == 0 and first in lineage.stdout

    # The marker survives a rebuild of the database from the snapshots.
    fresh.db.unlink()
    rebuilt = fresh.invoke("db", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.stderr
    again = json.loads(fresh.invoke("show", first, "--json").stdout)
    assert next(a for a in again["artifacts"] if a["direction"] == "output")["bytes"] == "removed"

    # The input back as it was: the same signature as the first run, whose outputs are
    # gone, so the step executes again instead of handing back missing files.
    rerun = _clean_again(fresh, RAW)
    assert rerun.run.signature == shown["run"]["signature"]
    assert not rerun.cache_hit
    assert rerun.outputs["cleaned"].path.exists()


def test_gc_older_than_and_bad_values(fresh: Recorded) -> None:
    _clean_again(fresh, RAW.replace("5,6", "50,60"))
    old_only = json.loads(fresh.invoke("gc", "--dry-run", "--json", "--older-than", "1d").stdout)
    assert old_only["artifacts"] == []
    bad = fresh.invoke("gc", "--older-than", "soon")
    assert bad.exit_code == 2 and "'soon'" in bad.stderr and "30d" in bad.stderr
    assert fresh.invoke("gc", "--keep-last", "0").exit_code == 2


def test_gc_never_deletes_files_outside_the_workspace(fresh: Recorded, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with Tracker(fresh.root, db_path=fresh.db) as tracker:
        for n in (1, 2):
            target = outside / f"v{n}.csv"
            # The same computation twice: the second supersedes the first.
            with tracker.start_run(f"export_{n}", model="export", cache_mode="overwrite"):
                target.write_text(f"x\n{n}\n")
                tracker.log_output(target, key="exported")
    plan = json.loads(fresh.invoke("gc", "--dry-run", "--json").stdout)
    assert all(not a["path"].startswith(str(outside)) for a in plan["artifacts"])
    assert fresh.invoke("gc").exit_code == 0
    assert (outside / "v1.csv").exists() and (outside / "v2.csv").exists()


def test_run_dir_points_gc_at_the_workspace_of_a_database_kept_elsewhere(
    fresh: Recorded, tmp_path: Path
) -> None:
    _clean_again(fresh, RAW.replace("5,6", "50,60"))
    elsewhere = tmp_path / "databases" / fresh.db.name
    elsewhere.parent.mkdir()
    shutil.copy(fresh.db, elsewhere)
    moved = Recorded(fresh.root, elsewhere)
    # Files are resolved against the database's folder unless --run-dir says otherwise:
    # there, no recorded output exists, so nothing is planned (or deleted).
    assert json.loads(moved.invoke("gc", "--dry-run", "--json").stdout)["artifacts"] == []
    told = moved.invoke("--run-dir", str(fresh.root), "gc", "--dry-run", "--json")
    assert [a["run_id"] for a in json.loads(told.stdout)["artifacts"]] == [fresh.runs["first"]]
    missing = moved.invoke("--run-dir", str(tmp_path / "nope"), "gc", "--dry-run")
    assert missing.exit_code == 2
