"""Wrapping a legacy tool: a program that reads config files and writes CSVs into a folder.

The "tool" here is a small script run as a separate process, standing in for a compiled
model or an old code base that cannot be changed. Consist does not see inside it, so the
wrapper tells Consist what matters:

- ``inputs=``: the data file the tool reads (its content counts for identity);
- ``depends_on=``: the config files it reads (they count for identity and lineage, but are
  not passed to the function);
- ``ctx.capture_outputs(folder, pattern="*.csv")``: every CSV the tool wrote becomes an
  output of the run, keyed by its file stem.

The script runs the tool, runs it again (a cache hit: the tool is not started), then edits
one parameter and shows that the step runs again and why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from consist import Tracker

workspace = Path("legacy-workspace").resolve()
shutil.rmtree(workspace, ignore_errors=True)
workspace.mkdir()
os.chdir(workspace)  # legacy tools often assume they run in their project folder

TOOL = """
import csv, json, pathlib, sys
params = json.loads(pathlib.Path("parameters.json").read_text())
scale = float(pathlib.Path("config.yaml").read_text().split(":")[1])
rows = list(csv.DictReader(open(sys.argv[1])))
out = pathlib.Path("outputs")
out.mkdir(exist_ok=True)
with open(out / "flows.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["origin", "destination", "trips"])
    for r in rows:
        w.writerow([r["origin"], r["destination"], float(r["trips"]) * scale * params["factor"]])
with open(out / "totals.csv", "w") as f:
    f.write("total\\n%s\\n" % sum(float(r["trips"]) for r in rows))
print("legacy tool finished", file=sys.stderr)
"""
Path("legacy_model.py").write_text(TOOL)
Path("config.yaml").write_text("scale: 1.5\n")
Path("parameters.json").write_text(json.dumps({"factor": 2}))
Path("input.csv").write_text("origin,destination,trips\n1,2,10\n2,1,7\n1,3,4\n")

# The project folder is a mount, so its files are recorded as "project://input.csv".
tracker = Tracker(run_dir="runs", db_path="provenance.duckdb", mounts={"project": "."})


def run_legacy_model(upstream: Path, ctx) -> None:
    """Start the tool on the input file, then record what it wrote."""
    subprocess.run([sys.executable, "legacy_model.py", str(upstream)], check=True)
    ctx.capture_outputs(Path("outputs"), pattern="*.csv")


def wrapped():
    return tracker.run(
        run_legacy_model,
        inputs={"upstream": Path("input.csv")},
        load_inputs=False,  # the tool wants a path, not a loaded table
        depends_on=["config.yaml", "parameters.json"],
        inject_context="ctx",
    )


first = wrapped()
print(f"first call:  executed={not first.cache_hit}, outputs={sorted(first.outputs)}")
second = wrapped()
print(f"second call: cache hit={second.cache_hit} (the tool was not started)")

Path("parameters.json").write_text(json.dumps({"factor": 3}))
third = wrapped()
print(f"after editing parameters.json: cache hit={third.cache_hit}")
print(f"  {tracker.explain(third.run.id)}")
print(f"  flows now:\n{third['flows'].load().to_string(index=False)}")
tracker.close()
