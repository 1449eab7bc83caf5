"""Quick start: run a cleaning step twice (a miss, then a cache hit) and ask where its output
came from.

Run it with ``make demo`` (or ``python examples/quickstart.py``). It works in a fresh
``quickstart-workspace/`` folder beside where you run it, so each run starts from scratch.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from consist import Tracker

workspace = Path("quickstart-workspace")
shutil.rmtree(workspace, ignore_errors=True)
workspace.mkdir()

data_dir = workspace / "data"
data_dir.mkdir()
raw = data_dir / "raw.csv"
pd.DataFrame({"id": range(6), "value": [0.1, 0.7, 0.4, 0.9, 0.55, 0.2]}).to_csv(raw, index=False)


class CleaningConfig(BaseModel):
    threshold: float = 0.5


# Files under a mount are recorded as "data://raw.csv": portable to any machine that
# mounts its own copy of the data folder under the same name.
tracker = Tracker(
    run_dir=workspace / "runs",
    db_path=workspace / "provenance.duckdb",
    mounts={"data": data_dir},
)


@tracker.define_step(outputs=["cleaned"])
def clean(raw_file: Path, config: CleaningConfig) -> dict[str, pd.DataFrame]:
    print("    (clean() is executing)")
    df = pd.read_csv(raw_file)
    return {"cleaned": df[df["value"] >= config.threshold]}


for attempt in (1, 2):
    started = time.perf_counter()
    result = tracker.run(fn=clean, inputs={"raw_file": raw}, config=CleaningConfig(threshold=0.5))
    elapsed_ms = (time.perf_counter() - started) * 1000
    verdict = "cache HIT " if result.cache_hit else "cache MISS"
    print(f"run {attempt}: {verdict} run_id={result.run.id}  ({elapsed_ms:.1f} ms)")

cleaned = result["cleaned"]
print(f"\ncleaned rows: {len(cleaned.load())}  stored at {cleaned.uri}")

# Provenance: which run produced the artifact, from which inputs and which config?
producer = tracker.get_run(cleaned.run_id)
lineage = tracker.get_artifacts_for_run(producer.id)
print("\nprovenance of 'cleaned':")
print(
    f"  produced by run {producer.id} (model={producer.model_name}, status={producer.status.value})"
)
print(f"  config         {producer.config}")
for key, artifact in lineage.inputs.items():
    print(f"  input {key:<9}{artifact.uri}  {artifact.digest[:20]}…")

# The same history is plain SQL in the metadata database.
with tracker.engine.connect() as connection:
    rows = pd.read_sql(
        "SELECT id, model_name, status, cache_source FROM run ORDER BY created_at", connection
    )
print("\nSELECT id, model_name, status, cache_source FROM run ORDER BY created_at")
print(rows.to_string(index=False))
tracker.close()
