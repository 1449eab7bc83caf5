"""Several processes, one database (SPEC §13, §15): throughput and per-step spread.

For each store and each process count N (``--procs``, default 1, 2, 4, 8), N freshly spawned
processes run ``--total`` cache-missing steps between them (``total / N`` each) against one
new database file; one process doing all of them is the baseline of the same round. Rounds
are interleaved (every N once per round), so drift of a shared machine hits all alike.

Prints, per store and N: the median wall time, the throughput ratio against one process
(``wall(1) / wall(N)``: above 1 means N processes get more done), and the median, p95 and
maximum time of one step over every round — and checks that every step's run is in the
database. Every process pays its own interpreter start and imports, as an array job would.

Run: ``python benchmarks/concurrent_writers.py`` (``--store duckdb`` or ``sqlite`` for one,
``--total 200`` for 4 x 50).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def recorded(db: Path, store: str) -> int:
    """Completed runs in the database (read after every process has exited)."""
    query = "SELECT count(*) FROM run WHERE status = 'completed'"
    if store == "sqlite":
        with sqlite3.connect(db) as conn:
            return int(conn.execute(query).fetchone()[0])
    import duckdb

    conn = duckdb.connect(str(db), read_only=True)
    try:
        return int(conn.execute(query).fetchone()[0])
    finally:
        conn.close()


def sweep(store: str, workers: int, total: int) -> tuple[float, list[float]]:
    """Wall seconds for ``workers`` processes sharing ``total`` steps on a fresh database,
    and the seconds each step took; raises if a step's run is missing."""
    runs = total // workers
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
        found = recorded(db, store)
        if found != workers * runs:
            raise SystemExit(f"{store}: {found} of {workers * runs} runs in the database")
        return wall, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", default="1,2,4,8", help="process counts, e.g. 1,4")
    parser.add_argument("--total", type=int, default=2000, help="steps per sweep")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", choices=["duckdb", "sqlite"], action="append")
    args = parser.parse_args()
    counts = sorted({1, *(int(n) for n in args.procs.split(","))})
    print(f"{args.total} steps shared by N processes, {args.rounds} interleaved rounds")
    print(
        f"{'store':7} {'N':>2} {'wall s':>7} {'throughput':>11} {'step p50 ms':>12}"
        f" {'p95 ms':>7} {'max ms':>7} {'p95/p50':>8}"
    )
    for store in args.store or ["duckdb", "sqlite"]:
        walls: dict[int, list[float]] = {n: [] for n in counts}
        steps: dict[int, list[float]] = {n: [] for n in counts}
        for _ in range(args.rounds):
            for n in counts:
                wall, times = sweep(store, n, args.total)
                walls[n].append(wall)
                steps[n].extend(times)
        base = statistics.median(walls[1])
        for n in counts:
            wall = statistics.median(walls[n])
            p50, p95 = percentile(steps[n], 0.5) * 1000, percentile(steps[n], 0.95) * 1000
            print(
                f"{store:7} {n:2d} {wall:7.2f} {base / wall:10.2f}x {p50:12.2f} {p95:7.2f}"
                f" {max(steps[n]) * 1000:7.1f} {p95 / p50:7.2f}x"
            )


if __name__ == "__main__":
    main()
