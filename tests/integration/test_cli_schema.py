"""``consist schema export``: usage errors, database lookup, exit codes and output streams."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import consist
from consist import Tracker
from consist.cli import app

runner = CliRunner()


def invoke(*args: str, env: dict[str, str | None] | None = None) -> Any:
    return runner.invoke(app, ["schema", "export", *args], env=env or {"CONSIST_DB": None})


# -- usage and database errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    "ids", [[], ["--artifact-id", "a", "--schema-id", "s"]], ids=["neither", "both"]
)
def test_exactly_one_of_artifact_and_schema_id_is_required(tmp_path: Path, ids: list[str]) -> None:
    # Checked before the database: the missing file is not what gets reported.
    result = invoke(*ids, "--db", str(tmp_path / "missing.duckdb"))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: give exactly one of --artifact-id and --schema-id.\n"


def test_a_missing_database_names_the_path_and_the_ways_to_point_at_one(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "provenance.duckdb"
    result = invoke("--artifact-id", "a", "--db", str(missing))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: no Consist database at {missing};")
    assert "--db" in result.stderr and "CONSIST_DB" in result.stderr
    assert "Traceback" not in result.output


def test_the_database_defaults_to_consist_db(tmp_path: Path) -> None:
    from_env = tmp_path / "from_env.duckdb"
    result = invoke("--schema-id", "s", env={"CONSIST_DB": str(from_env)})
    assert result.exit_code == 1
    assert f"no Consist database at {from_env};" in result.stderr


def test_the_database_defaults_to_provenance_duckdb_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("--schema-id", "s")
    assert result.exit_code == 1
    assert f"no Consist database at {tmp_path / 'provenance.duckdb'};" in result.stderr


def test_unknown_options_are_usage_errors() -> None:
    assert invoke("--bogus").exit_code == 2


def test_the_top_level_app_lists_the_schema_group() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "schema" in result.stdout


def test_import_consist_does_not_import_the_cli() -> None:
    code = "import sys, json, consist; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert not {"consist.cli", "typer", "click"} & loaded


# -- what the command does with the tracker (a stand-in Tracker) ----------------------------


class _FakeTracker:
    calls: list[dict[str, Any]] = []
    error: Exception | None = None

    def __init__(self, run_dir: Path, db_path: Path, read_only: bool) -> None:
        self.opened = {"run_dir": run_dir, "db_path": db_path, "read_only": read_only}

    def __enter__(self) -> _FakeTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def export_schema_sqlmodel(self, **kwargs: Any) -> str:
        self.calls.append({**self.opened, **kwargs})
        if self.error is not None:
            raise self.error
        return "class Persons:\n    pass\n"


@pytest.fixture
def fake_tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> type[_FakeTracker]:
    monkeypatch.setattr(consist, "Tracker", _FakeTracker)
    monkeypatch.setattr(_FakeTracker, "calls", [])
    monkeypatch.setattr(_FakeTracker, "error", None)
    (tmp_path / "provenance.duckdb").touch()
    return _FakeTracker


def test_export_opens_the_database_read_only_and_prints_plain_code(
    tmp_path: Path, fake_tracker: type[_FakeTracker]
) -> None:
    db = tmp_path / "provenance.duckdb"
    result = invoke(
        "--artifact-id", "a1", "--class-name", "P", "--table-name", "p", "--db", str(db)
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "class Persons:\n    pass\n"
    assert result.stderr == ""
    assert fake_tracker.calls == [
        {
            "run_dir": tmp_path,
            "db_path": db,
            "read_only": True,
            "artifact_id": "a1",
            "schema_id": None,
            "class_name": "P",
            "table_name": "p",
            "out_path": None,
        }
    ]


def test_export_to_a_file_confirms_on_stderr_only(
    tmp_path: Path, fake_tracker: type[_FakeTracker]
) -> None:
    out = tmp_path / "stub.py"
    db = tmp_path / "provenance.duckdb"
    result = invoke("--schema-id", "s1", "--out", str(out), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"wrote the SQLModel class to {out}\n"
    assert fake_tracker.calls[0]["out_path"] == out


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (consist.RunNotFoundError("no artifact 'a1'"), 1),
        (LookupError("no schema was captured for 'a1'"), 1),
        (consist.InvalidKeyError("bad class name"), 2),
        (ValueError("bad argument"), 2),
        (consist.StoreError("the store failed"), 1),
    ],
)
def test_export_errors_map_to_exit_codes(
    tmp_path: Path, fake_tracker: type[_FakeTracker], error: Exception, code: int
) -> None:
    fake_tracker.error = error
    result = invoke("--artifact-id", "a1", "--db", str(tmp_path / "provenance.duckdb"))
    assert result.exit_code == code
    assert result.stdout == ""
    assert result.stderr == f"error: {error}\n"


# -- against a real database -----------------------------------------------------------------


@pytest.fixture
def recorded(tmp_path: Path, store_kind: str, db_file: Path | str) -> tuple[Path | str, str]:
    """A database (of each store) with one ingested frame; returns its path (or URL) and the
    artifact id."""
    db = db_file
    t = Tracker(run_dir=tmp_path, db_path=db)
    with t.start_run("r1", model="m"):
        art = t.log_dataframe(
            pd.DataFrame({"person_id": [1, 2], "Trip Count": [3, 4]}), key="persons"
        )
    t.ingest(art)
    t.close()
    return db, art.id


def test_export_prints_a_sqlmodel_class_for_a_recorded_artifact(
    recorded: tuple[Path, str],
) -> None:
    db, artifact_id = recorded
    result = invoke("--artifact-id", artifact_id, "--db", str(db))
    assert result.exit_code == 0, result.output
    compile(result.stdout, "<stub>", "exec", dont_inherit=True)
    assert "__tablename__" in result.stdout
    assert '"Trip Count"' in result.stdout


def test_export_writes_the_class_to_out(recorded: tuple[Path, str], tmp_path: Path) -> None:
    db, artifact_id = recorded
    out = tmp_path / "stubs" / "persons.py"
    result = invoke("--artifact-id", artifact_id, "--db", str(db), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    compile(out.read_text(encoding="utf-8"), str(out), "exec", dont_inherit=True)


def test_export_of_an_unknown_artifact_exits_1(recorded: tuple[Path, str]) -> None:
    db, _ = recorded
    result = invoke("--artifact-id", "no-such-artifact", "--db", str(db))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_the_console_script_is_installed() -> None:
    script = shutil.which("consist", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the consist console script is not installed (pip install -e .)")
    done = subprocess.run([script, "schema", "export"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == "error: give exactly one of --artifact-id and --schema-id.\n"
