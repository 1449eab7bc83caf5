"""Several processes writing one database (SPEC §13, §15): wall time and per-run spread.

Runs ``--workers`` processes × ``--runs`` cache-missing steps against one database file,
and the same total number of steps in a single process, for each store; prints the median
wall time of each and their ratio, and the median and p95 time of one step in the parallel
sweep (budget: p95 ≤ 3× the median). Every process pays its own interpreter start and
imports, as an array job would.

Run: ``python benchmarks/concurrent_writers.py`` (``--store duckdb`` or ``sqlite`` for one).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = """
import json
import sys
import time
from pathlib import Path

from consist import Tracker


def step(raw: Path, config):
    out = Path(f"out_{config['w']}_{config['i']}.txt")
    out.write_text(str(config))
    return {"result": out}


db, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = []
with Tracker(run_dir=".", db_path=db, project_root=".") as tracker:
    for i in range(count):
        start = time.perf_counter()
        tracker.run(step, inputs={"raw": Path("raw.txt")}, config={"w": worker, "i": i})
        times.append(time.perf_counter() - start)
Path(f"times_{worker}.json").write_text(json.dumps(times))
"""


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def sweep(store: str, workers: int, runs: int) -> tuple[float, list[float]]:
    """Seconds for ``workers`` processes of ``runs`` steps each, on a fresh database, and
    the seconds each step took."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "worker.py").write_text(WORKER)
        (folder / "raw.txt").write_text("raw")
        db = folder / f"provenance.{store}"
        env = {**os.environ, "PYTHONPATH": str(folder)}
        start = time.perf_counter()
        children = [
            subprocess.Popen(
                [sys.executable, "worker.py", str(db), str(w), str(runs)], cwd=folder, env=env
            )
            for w in range(workers)
        ]
        if any(child.wait() != 0 for child in children):
            raise SystemExit("a worker failed")
        wall = time.perf_counter() - start
        steps = [
            t for w in range(workers) for t in json.loads((folder / f"times_{w}.json").read_text())
        ]
        return wall, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=50, help="steps per worker")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", choices=["duckdb", "sqlite"], action="append")
    args = parser.parse_args()
    total = args.workers * args.runs
    print(f"{args.workers} processes x {args.runs} steps vs 1 process x {total} steps")
    print(
        f"{'store':8} {'parallel s':>11} {'serial s':>9} {'ratio':>6}"
        f" {'step median ms':>15} {'step p95 ms':>12} {'p95/median':>11}  budget <= 3x"
    )
    for store in args.store or ["duckdb", "sqlite"]:
        parallel, serial, steps = [], [], []
        for _ in range(args.rounds):  # interleaved, so machine drift hits both alike
            wall, times = sweep(store, args.workers, args.runs)
            parallel.append(wall)
            steps.extend(times)
            serial.append(sweep(store, 1, total)[0])
        p, s = statistics.median(parallel), statistics.median(serial)
        median, high = statistics.median(steps) * 1000, p95(steps) * 1000
        status = "OK" if high <= 3 * median else "OVER"
        print(
            f"{store:8} {p:11.2f} {s:9.2f} {p / s:6.2f}"
            f" {median:15.2f} {high:12.2f} {high / median:10.2f}x  {status}"
        )


if __name__ == "__main__":
    main()
