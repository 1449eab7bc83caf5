"""How Consist's costs behave as history accumulates (SPEC §15).

Prints, for DuckDB:

* per-run cost over a sweep of ``--sweep`` cache misses: median of runs 10-110 against the
  last 100 (budget: within 1.2x);
* peak resident memory of a process doing ``--sweep`` runs (budget: 100 MB);
* opening a tracker on a database of ``--big`` runs, in a fresh process: the constructor
  with the library's modules imported (budget: 100 ms), and the cold total with imports;
* listing all ``--big`` runs with ``tracker.find_runs()`` (budget: 0.5 s).

Run: ``python benchmarks/scaling.py`` (defaults: ``--sweep 1000 --big 50000``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

SWEEP = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    from consist import Tracker

    def step(raw: Path, config):
        return None

    root = Path(sys.argv[1])
    raw = root / "data" / "raw.csv"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text("id,value\\n1,0.5\\n")
    tracker = Tracker(run_dir=root / "runs", db_path=root / "sweep.duckdb",
                      mounts={"data": raw.parent})
    times = []
    for i in range(int(sys.argv[2])):
        start = time.perf_counter()
        tracker.run(step, inputs={"raw": raw}, config={"i": i})
        times.append((time.perf_counter() - start) * 1000)
    tracker.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"times": times, "peak_mb": peak_kb / 1024}))
    """
)

OPEN = textwrap.dedent(
    """
    import json, sys, time
    start = time.perf_counter()
    import duckdb  # noqa: F401  (the import alone is most of a cold open)
    imported = time.perf_counter()
    from consist import Tracker
    import consist.api.tracker, consist.adapters.stores.duckdb_  # noqa: E401,F401
    import consist.adapters.filesystems.local  # noqa: F401
    modules = time.perf_counter()
    tracker = Tracker(run_dir=sys.argv[1], db_path=sys.argv[2])
    opened = time.perf_counter()
    runs = tracker.find_runs()
    listed = time.perf_counter()
    print(json.dumps({"open_ms": (opened - start) * 1000,
                      "open_after_import_ms": (opened - imported) * 1000,
                      "constructor_ms": (opened - modules) * 1000,
                      "list_s": listed - opened, "count": len(runs)}))
    tracker.close()
    """
)


def _python(code: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fill(db: Path, run_dir: Path, total: int) -> None:
    from datetime import UTC, datetime

    from consist import Tracker
    from consist.core.model import Run, RunStatus
    from consist.core.ports.store import WriteBatch

    with Tracker(run_dir=run_dir, db_path=db) as tracker:
        store = tracker.services.store  # a benchmark may pad the database directly
        now = datetime.now(UTC)
        for start in range(0, total, 5000):
            store.apply(
                WriteBatch(
                    runs=[
                        Run(
                            f"filler_{i}",
                            "filler",
                            RunStatus.COMPLETED,
                            now,
                            signature=f"sig{i}",
                            meta={"cache_hit": False},
                        )
                        for i in range(start, min(total, start + 5000))
                    ]
                )
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=int, default=1000)
    parser.add_argument("--big", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sweep = _python(SWEEP, str(root / "sweep"), str(args.sweep))
        times = sweep["times"]
        early = statistics.median(times[10:110])
        late = statistics.median(times[-100:])
        _fill(root / "big.duckdb", root / "big_runs", args.big)
        opened = _python(OPEN, str(root / "big_runs"), str(root / "big.duckdb"))

    rows = [
        ("runs 10-110 of the sweep (median ms)", f"{early:.2f}", "", ""),
        (f"last 100 of {args.sweep} runs (median ms)", f"{late:.2f}", "", ""),
        ("ratio late / early", f"{late / early:.2f}x", "<= 1.2x", late / early <= 1.2),
        (
            f"peak memory, {args.sweep} runs",
            f"{sweep['peak_mb']:.0f} MB",
            "<= 100 MB",
            sweep["peak_mb"] <= 100,
        ),
        (
            f"Tracker() on {opened['count']:,} runs",
            f"{opened['constructor_ms']:.0f} ms",
            "<= 100 ms",
            opened["constructor_ms"] <= 100,
        ),
        ("  cold, fresh process incl. imports", f"{opened['open_ms']:.0f} ms", "", ""),
        ("  of which after 'import duckdb'", f"{opened['open_after_import_ms']:.0f} ms", "", ""),
        (
            f"list all {opened['count']:,} runs",
            f"{opened['list_s']:.2f} s",
            "<= 0.5 s",
            opened["list_s"] <= 0.5,
        ),
    ]
    print(f"{'measurement':44} {'result':>10}  {'budget':>10}  status")
    for label, value, budget, ok in rows:
        status = "" if ok == "" else ("OK" if ok else "OVER")
        print(f"{label:44} {value:>10}  {budget:>10}  {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
