"""Sweeps on Dask distributed: throughput with one worker and with two, and a re-run.

A sweep of ``--steps`` steps (each sleeps ``--work`` ms, standing for the model, and writes a
small file) goes through ``tracker.map(..., executor="dask")`` on a ``LocalCluster`` of one,
then of two single-threaded worker processes, recording into a throwaway PostgreSQL cluster
(``tests/postgres_server.py``). Prints the median wall time over ``--rounds`` rounds, steps
per second, the 2-vs-1 ratio, and the time of re-running a finished sweep (all hits, no
task scheduled).

Run: ``python benchmarks/dask_sweep.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from postgres_server import start_cluster  # noqa: E402


def model(config: dict) -> Path:
    import consist

    time.sleep(config["work"] / 1000)
    out = consist.current_run_dir() / "out.txt"
    out.write_text(str(config["i"]))
    return out


def sweep(url: str, client: object, steps: int, work: float) -> tuple[float, float]:
    """Seconds for the sweep on a fresh database, and for its re-run (all hits)."""
    from consist import Tracker

    items = [{"i": i, "work": work} for i in range(steps)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        Tracker(run_dir=Path(tmp) / "runs", db_path=url, project_root=tmp) as tracker,
    ):
        start = time.perf_counter()
        tracker.map(model, items, executor="dask", dask_client=client)
        first = time.perf_counter() - start
        start = time.perf_counter()
        again = tracker.map(model, items, executor="dask", dask_client=client)
        rerun = time.perf_counter() - start
        assert all(r.cache_hit for r in again)
    return first, rerun


def main() -> None:
    import distributed

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--work", type=float, default=20.0, help="ms of work per step")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cluster = start_cluster()
    if isinstance(cluster, str):
        raise SystemExit(f"cannot start PostgreSQL: {cluster}")
    try:
        results: dict[int, list[float]] = {1: [], 2: []}
        reruns: list[float] = []
        for workers in (1, 2):
            with (
                distributed.LocalCluster(
                    n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None
                ) as local,
                distributed.Client(local) as client,
            ):
                sweep(cluster.new_database(), client, 10, args.work)  # warm the workers
                for _ in range(args.rounds):
                    first, rerun = sweep(cluster.new_database(), client, args.steps, args.work)
                    results[workers].append(first)
                    reruns.append(rerun)
        med = statistics.median
        for workers, times in results.items():
            print(
                f"{workers} worker(s): {args.steps} steps in {med(times):.2f} s "
                f"({args.steps / med(times):.0f} steps/s)"
            )
        print(f"throughput 2 workers vs 1: {med(results[1]) / med(results[2]):.2f}x")
        print(f"re-run of a finished sweep (all hits, no tasks): {med(reruns):.2f} s")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
