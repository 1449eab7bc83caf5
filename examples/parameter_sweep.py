"""A parameter sweep, queried as one SQL view and drawn as a figure.

Each point of the sweep is a cached step whose output table lands in a view spanning every
run; the figure is drawn from one query over that view, joined to the runs' facets so each
curve is labelled with its parameter. Running the script again re-uses every point.

Writes ``sweep-workspace/sweep.png`` (one line per value of ``decay``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # draw to a file; no display needed

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from sqlmodel import Field, SQLModel, select  # noqa: E402

import consist  # noqa: E402
from consist import Tracker  # noqa: E402

workspace = Path("sweep-workspace")
shutil.rmtree(workspace, ignore_errors=True)
workspace.mkdir()


class Curve(SQLModel, table=True):
    """One row per time step of one simulated curve; the view is named after the table."""

    __tablename__ = "curve"
    id: int | None = Field(default=None, primary_key=True)
    t: int
    stock: float


tracker = Tracker(
    run_dir=workspace / "runs", db_path=workspace / "provenance.duckdb", schemas=[Curve]
)


def simulate(config: dict) -> pd.DataFrame:
    """A stock that decays by ``decay`` per step and is topped up by ``inflow``."""
    stock, rows = 100.0, []
    for t in range(25):
        rows.append({"t": t, "stock": stock})
        stock = stock * (1 - config["decay"]) + config["inflow"]
    return pd.DataFrame(rows)


DECAYS = (0.05, 0.1, 0.2, 0.4)
for attempt in ("first pass", "second pass"):
    hits = 0
    for decay in DECAYS:
        result = tracker.run(
            simulate,
            config={"decay": decay, "inflow": 2.0},
            facet_from=["decay"],  # queryable, and already part of the identity via config
            outputs=["curve"],
        )
        hits += result.cache_hit
    print(f"{attempt}: {len(DECAYS)} points, {hits} cache hits")

# One query over every run's output, with each run's decay joined from its facet.
VCurve = tracker.views.Curve
params = consist.pivot_facets(namespace="simulate", keys=["decay"])
rows = consist.run_query(
    select(params.c.decay, VCurve.t, VCurve.stock)
    .join(params, params.c.run_id == VCurve.consist_run_id)
    .order_by(params.c.decay, VCurve.t),
    tracker=tracker,
)
frame = pd.DataFrame([tuple(row) for row in rows], columns=["decay", "t", "stock"])

fig, ax = plt.subplots(figsize=(6, 4))
for decay, curve in frame.groupby("decay"):
    ax.plot(curve["t"], curve["stock"], label=f"decay = {decay:g}")
ax.set_xlabel("time step")
ax.set_ylabel("stock")
ax.set_title("Parameter sweep, read back from the view")
ax.legend()
png = workspace / "sweep.png"
fig.savefig(png, dpi=100)
print(f"figure with {len(ax.get_lines())} lines written to {png}")
assert len(ax.get_lines()) == len(DECAYS)
tracker.close()
