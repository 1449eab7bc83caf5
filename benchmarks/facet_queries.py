"""Benchmark of facets in the DuckDB metadata store.

Fills one store with runs of model ``simulate`` whose facets are ``{"alpha": <float, 2
places>, "beta": <int 0..9>, "mode": "fast" | "slow"}`` through ``apply`` in large batches,
then prints:

* the median time of ``find_runs`` filtered on one facet value (``alpha`` = a value that
  exists, ~1 % of the runs match), facets read back included;
* the median time of a pivot of ``run_config_kv`` into one row per run (``run_id, alpha,
  beta, mode``) on the raw connection, the query a user would write for a data frame;
* ``apply`` throughput in ms per 1 000 runs with facets and, on a second store, for the
  same runs without facets (the cost facets add to a flush).

Usage::

    python benchmarks/facet_queries.py [--runs 10000] [--batch 1000] [--queries 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from consist.adapters.stores.duckdb_ import DuckDBStore
from consist.core.model import Run, RunStatus
from consist.core.ports.store import RunQuery, WriteBatch

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PIVOT = (
    "SELECT run_id,"
    " max(CASE WHEN key = 'alpha' THEN value_num END) AS alpha,"
    " max(CASE WHEN key = 'beta' THEN value_num END) AS beta,"
    " max(CASE WHEN key = 'mode' THEN value_str END) AS mode"
    " FROM run_config_kv WHERE namespace = 'simulate' GROUP BY run_id"
)


def make_runs(n_runs: int, seed: int = 7) -> list[Run]:
    """``n_runs`` completed runs of ``simulate``, each with a random facet."""
    rng = random.Random(seed)
    runs = []
    for i in range(n_runs):
        created = T0 + timedelta(seconds=i)
        facet = {
            "alpha": round(rng.random(), 2),
            "beta": rng.randrange(10),
            "mode": rng.choice(("fast", "slow")),
        }
        runs.append(
            Run(
                id=f"run{i:07d}",
                model_name="simulate",
                status=RunStatus.COMPLETED,
                created_at=created,
                signature=f"sig{i:07d}",
                config={**facet, "seed": i},
                facet=facet,
                started_at=created,
                ended_at=created + timedelta(seconds=1),
            )
        )
    return runs


def fill(stores: dict[str, tuple[DuckDBStore, list[Run]]], batch: int) -> dict[str, float]:
    """Write each store's runs in batches of ``batch``; median ms per 1 000 runs per store.

    The stores take turns batch by batch, so both see the same machine load and the
    difference reflects the facets rather than what else the machine was doing.
    """
    samples: dict[str, list[float]] = {name: [] for name in stores}
    n_runs = max(len(runs) for _, runs in stores.values())
    for first in range(0, n_runs, batch):
        for name, (store, runs) in stores.items():
            chunk = runs[first : first + batch]
            start = time.perf_counter()
            store.apply(WriteBatch(runs=chunk))
            samples[name].append((time.perf_counter() - start) * 1000 * 1000 / len(chunk))
    return {name: statistics.median(values) for name, values in samples.items()}


def median_ms(action: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``action`` in ms, after two unmeasured warm-up calls."""
    for _ in range(2):
        action()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def through_the_api(db: Path, alpha: float, args: argparse.Namespace) -> tuple[float, float]:
    """The same two questions asked the way a user asks them."""
    from sqlmodel import select

    import consist

    with consist.Tracker(run_dir=db.parent / "runs", db_path=db) as tracker:
        find = median_ms(
            lambda: tracker.find_runs(model="simulate", facet={"alpha": alpha}), args.queries
        )
        params = consist.pivot_facets(
            namespace="simulate",
            keys=["alpha", "beta", "mode"],
            value_columns={"mode": "value_str"},
        )
        query = select(params.c.run_id, params.c.alpha, params.c.beta, params.c.mode)
        assert len(consist.run_query(query, tracker=tracker)) == args.runs
        pivot = median_ms(lambda: consist.run_query(query, tracker=tracker), args.queries)
    return find, pivot


def _query(store: DuckDBStore, sql: str) -> list[tuple]:
    """Rows of a raw query on the store's own connection (the same DuckDB instance)."""
    with store.db.reading("benchmark query") as conn:
        return conn.execute(sql).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    runs = make_runs(args.runs)
    bare = make_runs(args.runs)
    for run in bare:
        run.facet = None
    alpha = runs[len(runs) // 2].facet["alpha"]  # type: ignore[index]
    expected = sum(1 for run in runs if run.facet["alpha"] == alpha)  # type: ignore[index]

    with (
        tempfile.TemporaryDirectory() as tmp,
        DuckDBStore(str(Path(tmp) / "facets.duckdb")) as store,
        DuckDBStore(str(Path(tmp) / "bare.duckdb")) as bare_store,
    ):
        per_thousand = fill({"facets": (store, runs), "bare": (bare_store, bare)}, args.batch)
        query = RunQuery(model="simulate", facet=(("alpha", alpha),))
        found = store.find_runs(query)
        assert len(found) == expected and found[0].facet is not None, len(found)
        find_ms = median_ms(lambda: store.find_runs(query), args.queries)
        rows = _query(store, PIVOT)
        assert len(rows) == args.runs and rows[0][3] in ("fast", "slow"), rows[:1]
        pivot_ms = median_ms(lambda: _query(store, PIVOT), args.queries)
        documents = _query(store, "SELECT count(*) FROM config_facet")[0][0]
        store.close()
        api_find_ms, api_pivot_ms = through_the_api(Path(tmp) / "facets.duckdb", alpha, args)

    with_facets, without = per_thousand["facets"], per_thousand["bare"]
    print(f"{args.runs} runs of 'simulate', {documents} distinct facet documents")
    print(
        f"find_runs(model='simulate', facet alpha={alpha}): median {find_ms:.2f} ms "
        f"({expected} runs returned, facets decoded)"
    )
    print(f"pivot of run_config_kv into {args.runs} rows (raw fetchall): median {pivot_ms:.2f} ms")
    print(f"tracker.find_runs(facet=...) through the public API: median {api_find_ms:.2f} ms")
    print(
        f"consist.pivot_facets + run_query ({args.runs} rows, SQLAlchemy): "
        f"median {api_pivot_ms:.2f} ms"
    )
    print(
        f"apply, batches of {args.batch}: {with_facets:.1f} ms per 1 000 runs with facets, "
        f"{without:.1f} ms without (+{with_facets - without:.1f} ms, "
        f"{with_facets / without:.2f}x)"
    )


if __name__ == "__main__":
    main()
