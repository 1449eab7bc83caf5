"""The PostgreSQL store: per-run bookkeeping and several processes on one database.

Starts a throwaway cluster on 127.0.0.1 (as the test suite does, ``tests/postgres_server.py``;
``fsync`` off, so commits cost what the protocol costs, not the disk), then measures:

* per-run overhead of a cache miss and a cache hit (trivial step, tiny file input), median
  over ``--rounds`` rounds of ``--runs`` runs, beside the same on a DuckDB file;
* 4 processes × ``--per-process`` runs (default 50) on one database against one process
  doing them all (each process freshly spawned, paying its interpreter start): median wall
  times and their ratio (throughput of the parallel sweep relative to one process), with the
  same measured on a SQLite file in the same rounds as a reference for the machine's load.

Run: ``python benchmarks/postgres.py`` (``--url postgresql://...`` records into that existing,
preferably empty, database instead of a throwaway cluster).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from postgres_server import PostgresCluster, start_cluster  # noqa: E402

WORKER = """
import sys
from pathlib import Path

from consist import Tracker


def step(raw: Path, config):
    out = Path(f"out_{config['w']}_{config['i']}.txt")
    out.write_text(str(config))
    return {"result": out}


db, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with Tracker(run_dir=".", db_path=db, project_root=".") as tracker:
    for i in range(count):
        tracker.run(step, inputs={"raw": Path("raw.txt")}, config={"w": worker, "i": i})
"""


def step(raw: Path, config: dict) -> dict:
    import consist

    out = consist.current_run_dir() / "out.txt"
    out.write_text(str(config))
    return {"result": out}


def per_run(db: str, runs: int) -> tuple[float, float]:
    """Median milliseconds of one miss and one hit on ``db``."""
    from consist import Tracker

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = folder / "raw.txt"
        raw.write_text("raw")
        with Tracker(run_dir=folder, db_path=db, project_root=folder) as tracker:
            tracker.run(step, inputs={"raw": raw}, config={"i": -1})  # warm: imports, schema
            times: dict[bool, list[float]] = {False: [], True: []}
            for hit in (False, True):
                for i in range(runs):
                    start = time.perf_counter()
                    tracker.run(step, inputs={"raw": raw}, config={"i": i})
                    times[hit].append(time.perf_counter() - start)
    return statistics.median(times[False]) * 1e3, statistics.median(times[True]) * 1e3


def processes(db: str, workers: int, runs: int) -> float:
    """Seconds for ``workers`` fresh processes of ``runs`` steps each on ``db``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "worker.py").write_text(WORKER)
        (folder / "raw.txt").write_text("raw")
        start = time.perf_counter()
        children = [
            subprocess.Popen([sys.executable, "worker.py", db, str(w), str(runs)], cwd=folder)
            for w in range(workers)
        ]
        if any(child.wait() for child in children):
            raise SystemExit("a worker failed")
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="an existing server's postgresql:// URL (admin rights)")
    parser.add_argument("--runs", type=int, default=200, help="runs per per-run round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--per-process", type=int, default=50, help="runs of each of the 4 processes"
    )
    args = parser.parse_args()
    cluster: PostgresCluster | None = None
    if args.url is None:
        got = start_cluster()
        if isinstance(got, str):
            raise SystemExit(f"cannot start PostgreSQL: {got}")
        cluster = got
    try:
        new_db = cluster.new_database if cluster else (lambda: args.url)
        miss, hit, duck_miss, duck_hit = [], [], [], []
        one, four, lite_one, lite_four = [], [], [], []
        for _ in range(args.rounds):  # interleaved, so drift hits every variant alike
            m, h = per_run(new_db(), args.runs)
            miss.append(m)
            hit.append(h)
            with tempfile.TemporaryDirectory() as tmp:
                m, h = per_run(str(Path(tmp) / "p.duckdb"), args.runs)
            duck_miss.append(m)
            duck_hit.append(h)
            one.append(processes(new_db(), 1, 4 * args.per_process))
            four.append(processes(new_db(), 4, args.per_process))
            # The same on a SQLite file, measured alongside: the machine's load hits both.
            with tempfile.TemporaryDirectory() as tmp:
                lite_one.append(processes(str(Path(tmp) / "a.sqlite"), 1, 4 * args.per_process))
                lite_four.append(processes(str(Path(tmp) / "b.sqlite"), 4, args.per_process))
        med = statistics.median
        print(f"per-run miss: PostgreSQL {med(miss):.2f} ms  (DuckDB {med(duck_miss):.2f} ms)")
        print(f"per-run hit:  PostgreSQL {med(hit):.2f} ms  (DuckDB {med(duck_hit):.2f} ms)")
        print(
            f"1 process x {4 * args.per_process} runs: {med(one):.2f} s; 4 processes x "
            f"{args.per_process} runs: {med(four):.2f} s; "
            f"throughput 4 vs 1: {med(one) / med(four):.2f}x"
        )
        print(
            f"same on SQLite (reference): {med(lite_one):.2f} s vs {med(lite_four):.2f} s; "
            f"throughput 4 vs 1: {med(lite_one) / med(lite_four):.2f}x"
        )
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
