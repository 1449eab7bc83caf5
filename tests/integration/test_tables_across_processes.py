"""Tables with a schema logged by separate processes into one database.

Every process opens the database anew, as an array job or a second script run does. DuckDB
2 refuses to register a frame on a connection that holds an unfinished result, and only a
process opening an existing database left one (its schema-version read), so these tests
run real child processes one after another on the same file, and a pair at once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

import consist
from consist import RunStatus, Tracker

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "tables-and-views.md"

LOG_PERSONS = """
import sys

import pandas as pd
from sqlmodel import Field, SQLModel

import consist
from consist import Tracker


class Person(SQLModel, table=True):
    person_id: int = Field(primary_key=True)
    age: int
    number_of_trips: int


db, name, age = sys.argv[1], sys.argv[2], int(sys.argv[3])
lib = sys.argv[4] if len(sys.argv) > 4 else "pandas"  # the frame library
tracker = Tracker(run_dir="runs", db_path=db, schemas=[Person])
with tracker.start_run(name, model="m"):
    data = {"person_id": [1, 2, 3], "age": [age] * 3, "number_of_trips": [1, 2, 3]}
    if lib == "polars":
        import polars as pl

        frame = pl.DataFrame(data)
    else:
        frame = pd.DataFrame(data)
    consist.log_dataframe(frame, key="persons", schema=Person)
tracker.close()
"""

# The guide leaves the model to the reader: a small deterministic persons table, and the
# survey file its import example logs.
GUIDE_PRELUDE = """
from pathlib import Path

import pandas as pd


def simulate(year, trips_per_person):
    ids = range(20)
    return pd.DataFrame({
        "person_id": list(ids),
        "age": [(year + i) % 90 for i in ids],
        "number_of_trips": [trips_per_person + i % 3 for i in ids],
    })


Path("survey").mkdir(exist_ok=True)
simulate(2019, 1).to_parquet("survey/persons_2019.parquet")
"""

GUIDE_EPILOGUE = """
import json

print("RESULT " + json.dumps({
    "per_year": sorted(
        ([s, y, a] for s, y, a in consist.run_query(per_year, tracker=tracker)),
        key=lambda row: (row[0] or "", row[1]),
    ),
    "everyone_2030": len(everyone_2030),
}))
tracker.close()
"""


def guide_blocks(*sections: str) -> str:
    """The python code blocks of the guide's ``sections`` (by heading), in order."""
    found: dict[str, list[str]] = {}
    for part in re.split(r"^## ", GUIDE.read_text(), flags=re.MULTILINE)[1:]:
        heading, _, body = part.partition("\n")
        found[heading.strip()] = re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)
    missing = [s for s in sections if not found.get(s)]
    assert not missing, f"the guide has no python code under {missing}"
    return "\n".join(block for s in sections for block in found[s])


def run_child(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        env={**os.environ, "CONSIST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def person_rows(tracker: Tracker, hot_table) -> dict[str, int]:
    statement = text(
        f"SELECT consist_run_id, count(*) FROM {hot_table('person')} GROUP BY consist_run_id"
    )
    return dict(consist.run_query(statement, tracker=tracker))


@pytest.mark.slow
def test_processes_one_after_another_log_frames_with_a_schema(
    workdir: Path, db_file: Path, hot_table, store_kind: str, lib: str
) -> None:
    if lib == "polars" and store_kind != "duckdb":
        pytest.skip("registering a frame in a fresh process is DuckDB's hazard (see above)")
    script = workdir / "log_persons.py"
    script.write_text(LOG_PERSONS)
    for name, age in (("first", 30), ("second", 40), ("third", 50)):
        done = run_child(script, str(db_file), name, str(age), lib, cwd=workdir)
        assert done.returncode == 0, f"process {name!r} failed:\n{done.stderr}"

    with Tracker(run_dir=workdir / "runs", db_path=db_file) as tracker:
        for name in ("first", "second", "third"):
            assert tracker.get_run(name).status is RunStatus.COMPLETED
            assert set(tracker.get_artifacts_for_run(name).outputs) == {"persons"}
        assert person_rows(tracker, hot_table) == {"first": 3, "second": 3, "third": 3}


@pytest.mark.slow
def test_processes_at_once_log_frames_with_a_schema(
    workdir: Path, db_file: Path, hot_table
) -> None:
    script = workdir / "log_persons.py"
    script.write_text(LOG_PERSONS)
    env = {**os.environ, "CONSIST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    children = [
        subprocess.Popen(
            [sys.executable, str(script), str(db_file), name, str(age)],
            cwd=workdir,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, age in (("left", 30), ("right", 40))
    ]
    for child in children:
        _, err = child.communicate(timeout=300)
        assert child.returncode == 0, err

    with Tracker(run_dir=workdir / "runs", db_path=db_file) as tracker:
        assert person_rows(tracker, hot_table) == {"left": 3, "right": 3}


@pytest.mark.slow
def test_the_guide_views_example_runs_twice_on_one_database(
    workdir: Path, store_kind: str, db_file: Path
) -> None:
    code = guide_blocks(
        "Declaring a schema", "Logging tables with a schema", "Querying across runs"
    )
    script = workdir / "guide_views.py"
    script.write_text(
        textwrap.dedent(GUIDE_PRELUDE)
        + code.replace("provenance.duckdb", f"provenance.{store_kind}")
        + textwrap.dedent(GUIDE_EPILOGUE)
    )

    results = []
    for attempt in (1, 2):
        done = run_child(script, cwd=workdir)
        assert done.returncode == 0, f"run {attempt} failed:\n{done.stderr}"
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        results.append(json.loads(line.removeprefix("RESULT ")))

    first, second = results
    # Two scenarios x two years, plus the 2019 import (no scenario). A second run adds
    # runs with the same rows, so the averages stay what they were.
    assert [(s, y) for s, y, _ in first["per_year"]] == [
        (None, 2019),
        ("baseline", 2020),
        ("baseline", 2030),
        ("high_gas", 2020),
        ("high_gas", 2030),
    ]
    assert second["per_year"] == first["per_year"]
    assert first["everyone_2030"] == second["everyone_2030"] == 40
    # Both processes recorded their scenarios (entering one again adds a generation).
    with Tracker(run_dir=workdir / "runs", db_path=db_file) as tracker:
        headers = {run.id for run in tracker.find_runs(model="scenario")}
    assert headers == {"baseline", "high_gas", "baseline#2", "high_gas#2"}
