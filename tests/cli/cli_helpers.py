"""Helpers of the CLI tests: a workspace recorded through the public API, and reading
Rich tables back from a command's output."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from consist import Tracker
from consist.cli import app

STORES = ("duckdb", "sqlite")


def clean(path: Path, factor: int = 1) -> pd.DataFrame:
    """A step: scale a csv by the config's factor."""
    return pd.read_csv(path) * factor


def summarize(cleaned: pd.DataFrame) -> pd.DataFrame:
    """A step downstream of ``clean``."""
    return cleaned.sum().to_frame("total")


def explode() -> None:
    raise RuntimeError("the solver diverged")


@dataclass
class Recorded:
    """A workspace recorded through the public API and the ids of what is in it."""

    root: Path
    db: Path
    runs: dict[str, str] = field(default_factory=dict)

    def invoke(self, *args: str, env: dict[str, str | None] | None = None) -> Any:
        """``consist --db <db> ARGS`` through Typer's runner (stdout and stderr apart)."""
        return CliRunner().invoke(
            app, ["--db", str(self.db), *args], env=env or {"CONSIST_DB": None}
        )


def record(root: Path, store_kind: str) -> Recorded:
    """Two cleanings of one input (config 2, then 3), a cache hit of the second, a
    summary downstream, a scenario of two yearly steps, and a failed run."""
    root.mkdir(parents=True, exist_ok=True)
    raw = root / "raw.csv"
    raw.write_text("a,b\n1,2\n3,4\n5,6\n")
    done = Recorded(root, root / f"provenance.{store_kind}")
    with Tracker(root, db_path=done.db) as tracker:
        common: dict[str, Any] = {"inputs": {"path": raw}, "outputs": ["cleaned"], "year": 2020}
        first = tracker.run(
            clean, config={"factor": 2}, tags=["prep"], description="first try", **common
        )
        second = tracker.run(clean, config={"factor": 3}, tags=["prep", "final"], **common)
        hit = tracker.run(clean, config={"factor": 3}, tags=["prep", "final"], **common)
        assert hit.cache_hit
        summary = tracker.run(
            summarize, inputs={"cleaned": second.outputs["cleaned"]}, outputs=["summary"]
        )
        with tracker.scenario("baseline", config={"policy": "none"}) as sc:
            steps = [
                sc.run(
                    clean,
                    name="clean",
                    inputs={"path": raw},
                    outputs=["cleaned"],
                    config={"factor": year},
                    year=year,
                ).run.id
                for year in (2030, 2040)
            ]
        with pytest.raises(RuntimeError):
            tracker.run(explode, run_id="explode_1")
    done.runs = {
        "first": first.run.id,
        "second": second.run.id,
        "hit": hit.run.id,
        "summary": summary.run.id,
        "scenario": "baseline",
        "step_2030": steps[0],
        "step_2040": steps[1],
        "failed": "explode_1",
    }
    return done


def table_rows(text: str) -> list[list[str]]:
    """The body rows of every Rich table in ``text``, as lists of stripped cells."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]
