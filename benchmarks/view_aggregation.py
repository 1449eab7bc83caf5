"""A cross-run view aggregation against the same query written by hand in DuckDB (SPEC §15).

Fifty steps (two scenarios × 25 years) each log a parquet file of 100 000 persons with the
``Person`` schema, read in place by the view. The query is the usage guide's: average trips
per scenario and year. It is timed

* through ``tracker.views.Person`` with ``consist.run_query`` (SQLAlchemy included);
* by hand in DuckDB over the same files: the files plus a mapping table file → scenario and
  year (what a user writes to get the same answer), and a UNION ALL of one sub-query per
  file with the scenario and year as constants;
* as the plain ``GROUP BY`` a user writes with no provenance: one average per file (the
  budget's reference: the view may cost at most 1.5× this);
* and, for scale, a plain average over the files with no provenance at all.

Rounds interleave the variants so drifting machine speed hits each alike.

Run: ``python benchmarks/view_aggregation.py`` (``--files``, ``--rows``, ``--rounds``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sqlmodel import Field, SQLModel, func, select

import consist
from consist import Tracker

BUDGET_RATIO = 1.5


class Person(SQLModel, table=True):
    person_id: int = Field(primary_key=True)
    age: int
    number_of_trips: int


def populate(tracker: Tracker, files: int, rows: int) -> list[tuple[str, str, int]]:
    """Log ``files`` parquet outputs; return ``(path, scenario, year)`` of each."""
    rng = np.random.default_rng(0)
    logged = []
    for scenario in ("baseline", "high_gas"):
        with tracker.scenario(scenario) as sc:
            for year in range(2000, 2000 + files // 2):
                frame = pd.DataFrame(
                    {
                        "person_id": np.arange(rows),
                        "age": rng.integers(0, 90, rows),
                        "number_of_trips": rng.integers(0, 12, rows),
                    }
                )
                with sc.trace(name="simulate", run_id=f"{scenario}_{year}", year=year) as t:
                    path = t.run_artifact_dir() / "persons.parquet"
                    frame.to_parquet(path)
                    t.log_artifact(path, key="persons", schema=Person)
                logged.append((str(path), scenario, year))
    return logged


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def hand_written(logged: list[tuple[str, str, int]]) -> dict[str, Callable[[], object]]:
    conn = duckdb.connect()
    conn.execute("CREATE TABLE files (path VARCHAR, scenario VARCHAR, year INTEGER)")
    conn.executemany("INSERT INTO files VALUES (?, ?, ?)", logged)
    paths = "[" + ", ".join(quoted(p) for p, _, _ in logged) + "]"
    joined = (
        "SELECT m.scenario, m.year, avg(f.number_of_trips) FROM read_parquet("
        f"{paths}, filename = true) f JOIN files m ON m.path = f.filename GROUP BY ALL"
    )
    union = " UNION ALL ".join(
        f"SELECT {quoted(s)} AS scenario, {y} AS year, number_of_trips "
        f"FROM read_parquet({quoted(p)})"
        for p, s, y in logged
    )
    per_file = f"SELECT scenario, year, avg(number_of_trips) FROM ({union}) GROUP BY ALL"
    grouped = (
        f"SELECT filename, avg(number_of_trips) FROM read_parquet({paths}, filename = true) "
        "GROUP BY filename"
    )
    plain = f"SELECT avg(number_of_trips) FROM read_parquet({paths})"
    return {
        "plain GROUP BY file": lambda: conn.execute(grouped).fetchall(),
        "by hand: files + mapping join": lambda: conn.execute(joined).fetchall(),
        "by hand: UNION ALL per file": lambda: conn.execute(per_file).fetchall(),
        "plain average, no provenance": lambda: conn.execute(plain).fetchall(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tracker = Tracker(run_dir=Path(tmp) / "runs", schemas=[Person])
        start = time.perf_counter()
        logged = populate(tracker, args.files, args.rows)
        print(
            f"logged {args.files} parquet files × {args.rows:,} rows "
            f"in {time.perf_counter() - start:.1f} s"
        )
        view = tracker.views.Person
        query = select(
            view.consist_scenario_id, view.consist_year, func.avg(view.number_of_trips)
        ).group_by(view.consist_scenario_id, view.consist_year)
        start = time.perf_counter()
        through_view = consist.run_query(query, tracker=tracker)
        print(f"first query (builds the view): {(time.perf_counter() - start) * 1000:.1f} ms")
        assert len(through_view) == args.files

        variants: dict[str, Callable[[], object]] = {
            "through the view (run_query)": lambda: consist.run_query(query, tracker=tracker)
        }
        variants.update(hand_written(logged))
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, run in variants.items():
                start = time.perf_counter()
                run()
                samples[name].append((time.perf_counter() - start) * 1000)
        tracker.close()

    medians = {name: statistics.median(values) for name, values in samples.items()}
    view_ms = medians["through the view (run_query)"]
    print(f"\nmedian of {args.rounds} interleaved rounds:")
    for name, ms in medians.items():
        print(f"  {name:<32} {ms:8.1f} ms   view / this = {view_ms / ms:4.2f}x")
    ratio = view_ms / medians["plain GROUP BY file"]
    verdict = "within" if ratio <= BUDGET_RATIO else "OVER"
    print(
        f"\nview vs a plain hand-written GROUP BY over the files: {ratio:.2f}x "
        f"({verdict} the {BUDGET_RATIO}x budget)"
    )


if __name__ == "__main__":
    main()
