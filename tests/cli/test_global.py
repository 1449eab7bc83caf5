"""What every command shares (finding the database, ``--version``, global ``--json``, exit
codes), and ``db doctor``, ``db rebuild`` and ``plugins``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from cli_helpers import Recorded, table_rows
from typer.testing import CliRunner

from consist.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("consist ")


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "runs", "show", "artifacts", "lineage", "scenarios", "scenario", "search", "summary",
        "preview", "explain", "diff", "validate", "gc", "plugins", "db", "schema",
    ):  # fmt: skip
        assert f" {command} " in result.stdout or f" {command}\n" in result.stdout, command


def test_database_from_the_environment_and_the_command_option(
    recorded: Recorded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    from_env = runner.invoke(app, ["runs", "--json"], env={"CONSIST_DB": str(recorded.db)})
    assert from_env.exit_code == 0 and len(json.loads(from_env.stdout)) == 8
    # The command's own --db wins over the global one, which wins over $CONSIST_DB.
    elsewhere = str(tmp_path / "missing.duckdb")
    own = runner.invoke(
        app,
        ["--db", elsewhere, "runs", "--db", str(recorded.db)],
        env={"CONSIST_DB": elsewhere},
    )
    assert own.exit_code == 0
    missing = runner.invoke(app, ["--db", elsewhere, "runs"], env={"CONSIST_DB": None})
    assert missing.exit_code == 1
    assert missing.stderr.startswith(f"error: no Consist database at {elsewhere};")
    assert "--db" in missing.stderr and "CONSIST_DB" in missing.stderr


def test_database_defaults_to_the_current_folder_then_dot_consist(
    recorded: Recorded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    nothing = runner.invoke(app, ["runs"], env={"CONSIST_DB": None})
    assert nothing.exit_code == 1
    assert f"no Consist database at {tmp_path / 'provenance.duckdb'}" in nothing.stderr

    hidden = tmp_path / ".consist"
    hidden.mkdir()
    older, newer = hidden / "old.duckdb", hidden / f"new{recorded.db.suffix}"
    (older).write_bytes(b"not a database")
    os.utime(older, (1, 1))
    shutil.copy(recorded.db, newer)
    found = runner.invoke(app, ["summary", "--json"], env={"CONSIST_DB": None})
    assert found.exit_code == 0, found.stderr
    assert json.loads(found.stdout)["database"] == str(newer)


def test_global_json_applies_to_the_command(recorded: Recorded) -> None:
    result = runner.invoke(
        app, ["--json", "--db", str(recorded.db), "summary"], env={"CONSIST_DB": None}
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["runs"] == 8


def test_a_broken_database_file_fails_with_a_message(tmp_path: Path) -> None:
    broken = tmp_path / "provenance.duckdb"
    broken.write_bytes(b"this is not a database" * 100)
    result = runner.invoke(app, ["--db", str(broken), "runs"], env={"CONSIST_DB": None})
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


def test_unknown_command_and_missing_argument_are_usage_errors(recorded: Recorded) -> None:
    assert recorded.invoke("frobnicate").exit_code == 2
    assert recorded.invoke("show").exit_code == 2
    assert recorded.invoke("diff", "one").exit_code == 2


def test_doctor_on_a_healthy_database(recorded: Recorded) -> None:
    shown = recorded.invoke("db", "doctor")
    data = json.loads(recorded.invoke("db", "doctor", "--json").stdout)
    assert shown.exit_code == 0, shown.stdout + shown.stderr
    assert data["schema_version"] is not None and data["runs"] == 8
    assert data["pending"] == data["crashed"] == data["orphans"] == []
    assert data["healthy"] is True
    facts = {row[0]: row[1] for row in table_rows(shown.stdout)}
    assert facts["schema version"] == data["schema_version"]
    assert facts["orphans"] == "none"


def test_doctor_finds_orphans_and_pending_snapshots(fresh: Recorded) -> None:
    stray = fresh.root / "outputs" / "clean" / "leftover.tmp"
    stray.write_text("nobody logged me")
    pending = fresh.root / ".consist" / "pending"
    pending.mkdir(parents=True, exist_ok=True)
    (pending / "late_run.json").write_text("{}")
    result = fresh.invoke("db", "doctor", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["orphans"] == ["outputs/clean/leftover.tmp"]
    assert data["pending"] == ["late_run.json"]
    assert data["healthy"] is False
    shown = fresh.invoke("db", "doctor")
    assert "leftover.tmp" in shown.stdout and "orphan files" in shown.stderr


def test_rebuild_restores_a_deleted_database(fresh: Recorded) -> None:
    before = json.loads(fresh.invoke("runs", "--json", "--limit", "0").stdout)
    fresh.db.unlink()
    rebuilt = fresh.invoke("db", "rebuild", "--json")
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["runs"] == len(before)
    after = json.loads(fresh.invoke("runs", "--json", "--limit", "0").stdout)
    assert {r["id"] for r in after} == {r["id"] for r in before}


def test_plugins_lists_the_built_in_adapters() -> None:
    shown = runner.invoke(app, ["plugins"])
    data = json.loads(runner.invoke(app, ["plugins", "--json"]).stdout)
    assert shown.exit_code == 0
    names = {(d["kind"], d["name"]) for d in data}
    assert {("store", "duckdb"), ("store", "sqlite"), ("filesystem", "local")} <= names
    assert {("frame_engine", "pandas"), ("executor", "python")} <= names
    duckdb = next(d for d in data if d["name"] == "duckdb")
    assert ".duckdb" in duckdb["selects"]["suffixes"] and duckdb["usable"] is True
    rows = table_rows(shown.stdout)
    assert [(r[0], r[1]) for r in rows if r[0]] == [(d["kind"], d["name"]) for d in data]
