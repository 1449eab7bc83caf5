"""How long the ``consist`` command line takes on large databases.

For each store and database size, prints the median over ``--repeat`` runs of:

* ``consist runs`` as a user types it: a fresh process of the installed console script,
  until it exits (the first page, 50 runs; budget at 50 000 runs: 0.5 s);
* the same command in a warm process (Typer's runner; the library already imported);
* ``consist runs --model m3 --since 30d`` (a filtered page) and
  ``consist runs --json --limit 0`` (every run), in a warm process;
* ``consist summary`` and ``consist search``, in a warm process.

The database is padded through the store (as ``benchmarks/scaling.py`` does), with runs
spread over ten models and a year of creation times.

Run: ``python benchmarks/cli.py`` (defaults: ``--runs 5000 50000 --repeat 5``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

BATCH = 5000


def fill(db: Path, total: int) -> None:
    """A database of ``total`` completed runs, newest last."""
    from consist import Tracker
    from consist.core.model import Run, RunStatus
    from consist.core.ports.store import WriteBatch

    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / total
    with Tracker(run_dir=db.parent, db_path=db) as tracker:
        store = tracker.services.store  # a benchmark may pad the database directly
        for first in range(0, total, BATCH):
            store.apply(
                WriteBatch(
                    runs=[
                        Run(
                            f"step_{i:06d}",
                            f"m{i % 10}",
                            RunStatus.COMPLETED,
                            start + i * step,
                            signature=f"sig{i}",
                            year=2020 + i % 30,
                            tags=["sweep"],
                            meta={"cache_hit": False},
                        )
                        for i in range(first, min(total, first + BATCH))
                    ]
                )
            )


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def console_script() -> str:
    beside = Path(sys.executable).parent / "consist"
    return str(beside) if beside.exists() else (shutil.which("consist") or "consist")


def measure(db: Path, repeat: int) -> list[tuple[str, float]]:
    from typer.testing import CliRunner

    from consist.cli import app

    runner = CliRunner()
    env = {**os.environ, "CONSIST_DB": str(db)}

    def cold() -> None:
        done = subprocess.run([console_script(), "runs"], capture_output=True, env=env)
        assert done.returncode == 0, done.stderr

    def warm(*args: str) -> Callable[[], None]:
        def invoke() -> None:
            result = runner.invoke(app, ["--db", str(db), *args])
            assert result.exit_code == 0, result.output

        return invoke

    warm("runs")()  # imports and caches, as any later command in a session would have them
    return [
        ("consist runs, fresh process", median_seconds(cold, repeat)),
        ("consist runs, warm", median_seconds(warm("runs"), repeat)),
        (
            "runs --model m3 --since 30d",
            median_seconds(warm("runs", "--model", "m3", "--since", "30d"), repeat),
        ),  # noqa: E501
        (
            "runs --json --limit 0 (all)",
            median_seconds(warm("runs", "--json", "--limit", "0"), repeat),
        ),  # noqa: E501
        ("summary", median_seconds(warm("summary"), repeat)),
        ("search step_0042", median_seconds(warm("search", "step_0042"), repeat)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[5000, 50_000])
    parser.add_argument("--stores", nargs="+", default=["duckdb", "sqlite"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'store':8} {'runs':>7}  {'command':32} {'median s':>9}")
    for kind in args.stores:
        for total in args.runs:
            with tempfile.TemporaryDirectory() as tmp:
                db = Path(tmp) / f"provenance.{kind}"
                fill(db, total)
                for label, seconds in measure(db, args.repeat):
                    flag = ""
                    if label.startswith("consist runs, fresh") and total >= 50_000:
                        flag = "  OK (<= 0.5 s)" if seconds <= 0.5 else "  OVER 0.5 s"
                    print(f"{kind:8} {total:>7}  {label:32} {seconds:>9.3f}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
