"""Benchmark of the DuckDB metadata store's hot path.

Prints the median ``find_cached`` time with 1 000 and with 100 000 runs in the database and
their ratio (budget: <= 1.5x, i.e. flat with database size), the median cost of ``apply``
for a batch of 1 run and of 100 runs (each run with one input link and one output artifact
and link), and the time to open a store on an existing database.

Usage::

    python benchmarks/store_lookup.py [--small 1000] [--large 100000] [--lookups 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from consist.adapters.stores.duckdb_ import DuckDBStore
from consist.core.model import Artifact, Direction, Link, Run, RunStatus
from consist.core.ports.store import WriteBatch

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BULK_BATCH = 5_000


def step(i: int, prefix: str = "r") -> tuple[Run, Artifact, list[Link]]:
    """Run ``i``: executed, completed, consuming the output of run ``i - 1``."""
    run_id, out_id = f"{prefix}{i:07d}", f"{prefix}a{i:07d}"
    created = T0 + timedelta(seconds=i)
    run = Run(
        id=run_id,
        model_name=f"model_{i % 20}",
        status=RunStatus.COMPLETED,
        created_at=created,
        signature=f"{prefix}sig{i:07d}",
        config={"i": i, "p": [1, 2]},
        tags=["bench"],
        started_at=created,
        ended_at=created + timedelta(seconds=1),
        meta={"rows": i},
        year=2020 + i % 30,
    )
    artifact = Artifact(
        id=out_id,
        key="table",
        uri=f"workspace://runs/{run_id}/table.parquet",
        driver="parquet",
        digest=f"d{i}",
        size=1000 + i,
        run_id=run_id,
        created_at=created,
    )
    links = [Link(run_id, out_id, Direction.OUTPUT, "table")]
    if i > 0:
        links.append(Link(run_id, f"{prefix}a{i - 1:07d}", Direction.INPUT, "previous"))
    return run, artifact, links


def batch_of(indices: range, prefix: str = "r") -> WriteBatch:
    batch = WriteBatch()
    for i in indices:
        run, artifact, links = step(i, prefix)
        batch.runs.append(run)
        batch.artifacts.append(artifact)
        batch.links.extend(links)
    return batch


def fill(store: DuckDBStore, n_runs: int) -> float:
    """Insert ``n_runs`` runs (plus artifacts and links) in large batches; return seconds."""
    start = time.perf_counter()
    for first in range(0, n_runs, BULK_BATCH):
        store.apply(batch_of(range(first, min(first + BULK_BATCH, n_runs))))
    return time.perf_counter() - start


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_lookups(stores: dict[int, DuckDBStore], lookups: int) -> dict[int, float]:
    """Median ``find_cached`` time per store, sampled alternately.

    Alternating the stores lookup by lookup exposes both to the same machine load, so the
    ratio reflects database size rather than what else the machine was doing.
    """
    rng = random.Random(42)
    samples: dict[int, list[float]] = {n: [] for n in stores}
    for _ in range(lookups):
        for n_runs, store in stores.items():
            signature = f"rsig{rng.randrange(n_runs):07d}"
            start = time.perf_counter()
            found = store.find_cached(signature)
            samples[n_runs].append(time.perf_counter() - start)
            assert found is not None and found.outputs, signature
    return {n: median_ms(s) for n, s in samples.items()}


def bench_apply(store: DuckDBStore, size: int, repeats: int, offset: int) -> float:
    samples = []
    for r in range(repeats):
        batch = batch_of(range(offset + r * size, offset + (r + 1) * size), prefix="w")
        start = time.perf_counter()
        store.apply(batch)
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


def cold_open_ms(path: str) -> float:
    """Open the store in a fresh interpreter (imports included) and read one run."""
    code = (
        "import time; t = time.perf_counter()\n"
        "from consist.adapters.stores.duckdb_ import DuckDBStore\n"
        f"s = DuckDBStore({path!r}); s.get_run('r0000001')\n"
        "print((time.perf_counter() - t) * 1000); s.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    args = parser.parse_args()

    sizes = (args.small, args.large)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {n: str(Path(tmp) / f"runs_{n}.duckdb") for n in sizes}
        for n_runs, path in paths.items():
            with DuckDBStore(path) as store:
                took = fill(store, n_runs)
            print(f"filled {n_runs:>7} runs (+ artifacts, links) in {took:6.1f} s")
        # Reopened, as a new process would find them.
        stores = {n: DuckDBStore(path) for n, path in paths.items()}
        try:
            lookup = bench_lookups(stores, args.lookups)
            apply_1 = bench_apply(stores[args.large], 1, 200, offset=0)
            apply_100 = bench_apply(stores[args.large], 100, 30, offset=1_000)
        finally:
            for store in stores.values():
                store.close()
        opened = statistics.median(cold_open_ms(paths[args.large]) for _ in range(5))

    for n_runs in sizes:
        print(f"find_cached median with {n_runs:>7} runs: {lookup[n_runs]:.3f} ms")
    ratio = lookup[args.large] / lookup[args.small]
    verdict = "OK" if ratio <= 1.5 else "OVER BUDGET"
    print(
        f"find_cached ratio {args.large}/{args.small} runs: {ratio:.2f}x "
        f"(budget <= 1.5x: {verdict})"
    )
    print(f"apply, batch of   1 run : median {apply_1:.2f} ms (database of {args.large} runs)")
    print(f"apply, batch of 100 runs: median {apply_100:.2f} ms ({apply_100 / 100:.3f} ms per run)")
    print(
        f"open store on {args.large} runs in a fresh process (imports included): "
        f"median {opened:.1f} ms"
    )


if __name__ == "__main__":
    main()
