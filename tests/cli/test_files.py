"""``consist validate`` and ``gc`` on real files: a file changed behind the library's back
is reported, ``gc --dry-run`` lists exactly what ``gc`` deletes, provenance survives, and a
step whose outputs were collected runs again."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli_helpers import Recorded, clean, table_rows

from consist import Tracker


def test_validate_passes_on_an_untouched_workspace(fresh: Recorded) -> None:
    result = fresh.invoke("validate", "--verify-digests")
    assert result.exit_code == 0, result.stdout + result.stderr
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


def test_gc_dry_run_lists_exactly_what_gc_deletes(fresh: Recorded) -> None:
    before = sorted(p for p in fresh.root.rglob("*") if p.is_file())
    planned = fresh.invoke("gc", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert sorted(p for p in fresh.root.rglob("*") if p.is_file()) == before  # nothing gone
    # The first cleaning (factor 2) was superseded by the second in the same slot; the
    # failed run wrote nothing; everything else is current or consumed.
    assert [(a["key"], a["run_id"]) for a in plan["artifacts"]] == [
        ("cleaned", fresh.runs["first"])
    ]
    assert "superseded" in plan["artifacts"][0]["reason"]
    table = fresh.invoke("gc", "--dry-run")
    assert [row[:2] for row in table_rows(table.stdout)] == [["cleaned", fresh.runs["first"]]]
    assert "would delete 1 file" in table.stdout

    done = fresh.invoke("gc", "--json")
    assert done.exit_code == 0, done.stderr
    deleted = json.loads(done.stdout)
    assert deleted["artifacts"] == plan["artifacts"] and deleted["dry_run"] is False
    gone = Path(plan["artifacts"][0]["path"])
    assert not gone.exists()
    assert sorted(p for p in fresh.root.rglob("*") if p.is_file() and p.suffix != ".json") == [
        p for p in before if p != gone and p.suffix != ".json"
    ]
    # Nothing left to collect.
    assert json.loads(fresh.invoke("gc", "--dry-run", "--json").stdout)["artifacts"] == []


def test_after_gc_provenance_answers_and_the_step_runs_again(fresh: Recorded) -> None:
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

    with Tracker(fresh.root, db_path=fresh.db) as tracker:
        rerun = tracker.run(
            clean,
            inputs={"path": fresh.root / "raw.csv"},
            outputs=["cleaned"],
            config={"factor": 2},
            tags=["prep"],
            description="first try",
            year=2020,
        )
    assert not rerun.cache_hit
    assert rerun.outputs["cleaned"].path.exists()


def test_gc_keep_last_and_older_than(fresh: Recorded) -> None:
    keep_two = json.loads(fresh.invoke("gc", "--dry-run", "--json", "--keep-last", "2").stdout)
    assert keep_two["artifacts"] == []
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
            with tracker.start_run(f"export_{n}", model="export", year=2020, config={"n": n}):
                target.write_text(f"x\n{n}\n")
                tracker.log_output(target, key="exported")
    plan = json.loads(fresh.invoke("gc", "--dry-run", "--json").stdout)
    assert all(not a["path"].startswith(str(outside)) for a in plan["artifacts"])
    assert fresh.invoke("gc").exit_code == 0
    assert (outside / "v1.csv").exists() and (outside / "v2.csv").exists()
