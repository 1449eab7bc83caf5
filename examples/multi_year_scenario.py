"""A multi-year scenario with feedback iterations between two models.

For each simulated year, a demand model and a congestion model are iterated until travel
times settle: demand reads the previous iteration's travel times, congestion turns demand
into new travel times. The steps pass artifacts to each other through the scenario's
coupler, and every step is recorded with its ``year`` and ``iteration``.

The scenario is run twice under two names. The second (``high_fuel``) changes the fuel
price, which only the demand model reads: its land-use step is shared with ``baseline``
(a cache hit), everything downstream runs again. Finally the script asks which runs exist,
why one executed, and where the last travel times came from.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

import consist
from consist import Tracker

workspace = Path("scenario-workspace")
shutil.rmtree(workspace, ignore_errors=True)
workspace.mkdir()
tracker = Tracker(run_dir=workspace / "runs", db_path=workspace / "provenance.duckdb")

YEARS = (2020, 2030, 2040)
MAX_ITERATIONS = 6
TOLERANCE = 0.01


def land_use(config: dict) -> pd.DataFrame:
    """Households per zone in the base year (the demand model grows them by ``growth``)."""
    return pd.DataFrame({"zone": [1, 2, 3], "households": [400.0, 250.0, 150.0]})


def demand(households: pd.DataFrame, times: pd.DataFrame, config: dict) -> pd.DataFrame:
    """Trips per zone: more households, more trips; longer times and dearer fuel, fewer."""
    growth = (1 + config["growth"]) ** ((config["year"] - 2020) / 10)
    merged = households.merge(times, on="zone")
    trips = merged["households"] * growth * 2.0 / (1 + 0.02 * merged["minutes"])
    return pd.DataFrame({"zone": merged["zone"], "trips": trips / config["fuel_price"]})


def congestion(trips: pd.DataFrame) -> pd.DataFrame:
    """Travel minutes per zone rise with the trips loaded onto the network."""
    return pd.DataFrame({"zone": trips["zone"], "minutes": 10 + 0.02 * trips["trips"]})


def run_scenario(name: str, fuel_price: float) -> None:
    with consist.scenario(name, tracker=tracker, config={"fuel_price": fuel_price}) as sc:
        # Function-shaped and content-addressed: the same in every scenario, so a hit there.
        base = sc.run(land_use, config={"growth": 0.1}, outputs=["households"])
        print(f"  [{name}] land_use: {'cache hit' if base.cache_hit else 'executed'}")
        free_flow = pd.DataFrame({"zone": [1, 2, 3], "minutes": [10.0, 10.0, 10.0]})
        with sc.trace(name="free_flow"):
            consist.log_dataframe(free_flow, key="times")  # set on the coupler as "times"
        for year in YEARS:
            previous = free_flow["minutes"]
            for iteration in range(MAX_ITERATIONS):
                sc.run(
                    demand,
                    inputs={"households": "households", "times": "times"},  # coupler keys
                    config={"year": year, "growth": 0.1, "fuel_price": fuel_price},
                    outputs=["trips"],
                    year=year,
                    iteration=iteration,
                )
                result = sc.run(
                    congestion,
                    inputs={"trips": "trips"},
                    outputs=["times"],
                    year=year,
                    iteration=iteration,
                )
                minutes = result["times"].load()["minutes"]
                change = float((minutes - previous).abs().max())
                previous = minutes
                if change < TOLERANCE:
                    break
            print(
                f"  [{name}] {year}: settled after {iteration + 1} iterations, "
                f"mean time {minutes.mean():.2f} min"
            )


for scenario_name, price in (("baseline", 1.0), ("high_fuel", 1.5)):
    print(f"scenario {scenario_name} (fuel price {price})")
    run_scenario(scenario_name, price)

# Which congestion runs of 2040 exist in the baseline, by iteration?
by_iteration = consist.find_runs(
    tracker=tracker, parent_id="baseline", model="congestion", year=2040, index_by="iteration"
)
print(f"\nbaseline 2040 congestion runs, by iteration: {sorted(by_iteration)}")

# Why did the high-fuel demand step run instead of reusing the baseline one?
first_demand = consist.find_run(
    tracker=tracker, parent_id="high_fuel", model="demand", year=2020, iteration=0
)
print(f"\nexplain {first_demand.id}:\n{tracker.explain(first_demand.id)}")

# Where did the newest travel times come from? (the tree, then the same graph as Mermaid)
print("\nlineage of the last 'times' (two levels):")
tracker.print_lineage("times", max_depth=2)
mermaid = tracker.export_lineage("times", format="mermaid", max_depth=2)
(workspace / "lineage.mmd").write_text(str(mermaid))
print(f"\nMermaid graph written to {workspace / 'lineage.mmd'}")
tracker.close()
