"""The command line on a PostgreSQL database: ``--db`` takes the URL, errors hide the password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consist import Tracker
from consist.cli import app

runner = CliRunner()


def test_runs_lists_what_a_tracker_recorded(workdir: Path, postgres_consist_url: str) -> None:
    with Tracker(run_dir=workdir, db_path=postgres_consist_url) as tracker:
        tracker.begin_run("r1", model="m")
        tracker.end_run()
    result = runner.invoke(
        app, ["runs", "--db", postgres_consist_url, "--json"], env={"CONSIST_DB": None}
    )
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in json.loads(result.stdout)] == ["r1"]


@pytest.mark.parametrize("via", ["--db", "CONSIST_DB"])
def test_an_unreachable_server_is_an_error_without_the_password(workdir: Path, via: str) -> None:
    from postgres_server import free_port

    url = f"postgresql://alice:hunter2pw@127.0.0.1:{free_port()}/prov"
    args, env = (["runs", "--db", url], {"CONSIST_DB": None})
    if via == "CONSIST_DB":
        args, env = ["runs"], {"CONSIST_DB": url}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1
    assert "hunter2pw" not in result.output and "pg_isready" in result.stderr


def test_db_rebuild_refills_a_recreated_database(
    workdir: Path, postgres_cluster, postgres_url: str
) -> None:
    runs = workdir / "runs"
    with Tracker(run_dir=runs, db_path=postgres_url) as tracker:
        for i in range(3):
            tracker.begin_run(f"r{i}", model="m", config={"i": i})
            tracker.end_run()
    postgres_cluster.drop_database(postgres_url)  # the server lost the database
    name = postgres_url.rsplit("/", 1)[-1]
    postgres_cluster.admin(f'CREATE DATABASE "{name}"')
    args = ["db", "rebuild", "--db", postgres_url, "--run-dir", str(runs)]
    result = runner.invoke(app, args, env={"CONSIST_DB": None})
    assert result.exit_code == 0, result.output
    with Tracker(run_dir=runs, db_path=postgres_url) as tracker:
        assert sorted(r.id for r in tracker.find_runs(model="m")) == ["r0", "r1", "r2"]
