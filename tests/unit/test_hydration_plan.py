"""The hydration planner: pure decisions about which bytes go where."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from consist.core.errors import MissingBytesError, OptionValueError
from consist.core.hydration import check_policy, plan_cached_outputs, plan_missing_inputs
from consist.core.model import Artifact

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def art(key: str, uri: str, run_id: str | None = "r1") -> Artifact:
    return Artifact(f"id-{key}", key, uri, "parquet", "blake3:00", 1, run_id, NOW)


def test_check_policy() -> None:
    assert check_policy("metadata", output_paths={}, materialize_dir=None) == "metadata"
    with pytest.raises(OptionValueError, match="'outputs-all'"):
        check_policy("all", output_paths={}, materialize_dir=None)
    with pytest.raises(ValueError, match="output_paths"):
        check_policy("outputs-requested", output_paths={}, materialize_dir=None)
    with pytest.raises(ValueError, match="outputs-all"):
        check_policy("inputs-missing", output_paths={}, materialize_dir="d")


def test_missing_inputs_are_planned_from_where_they_are() -> None:
    inputs = {
        "here": art("here", "workspace://a.parquet"),
        "elsewhere": art("elsewhere", "workspace://b.parquet"),
        "external": art("external", "file:///data/c.csv", run_id=None),
    }
    local = {Path("/ws/a.parquet")}
    plan = plan_missing_inputs(
        inputs,
        expected=lambda a: Path("/ws") / a.uri.split("://")[1],
        exists=lambda p: p in local,
        locate=lambda a: Path("/other") / a.uri.split("://")[1],
    )
    assert [(c.key, c.source, c.dest) for c in plan] == [
        ("elsewhere", Path("/other/b.parquet"), Path("/ws/b.parquet"))
    ]
    with pytest.raises(MissingBytesError, match="'elsewhere'"):
        plan_missing_inputs(
            inputs,
            expected=lambda a: Path("/ws") / a.uri.split("://")[1],
            exists=lambda p: p in local,
            locate=lambda a: None,
        )


def test_cached_outputs_per_policy() -> None:
    outputs = {
        "p": art("p", "workspace://outputs/m/r1/p.parquet"),
        "h": art("h", "workspace://h.csv"),
    }
    where = {"p": Path("/ws/outputs/m/r1/p.parquet"), "h": Path("/ws/h.csv")}

    def plan(policy: str, **kw):
        kw.setdefault("output_paths", {})
        kw.setdefault("materialize_dir", None)
        return plan_cached_outputs(
            policy,
            outputs,
            artifact_dir=Path("/ws/outputs/m/r2"),
            locate=lambda a: where[a.key],
            **kw,
        )

    assert plan("metadata") == [] and plan("inputs-missing") == []
    requested = plan("outputs-requested", output_paths={"p": Path("copy.parquet")})
    assert [(c.key, c.dest) for c in requested] == [("p", Path("/ws/outputs/m/r2/copy.parquet"))]
    everything = plan("outputs-all", materialize_dir=Path("/out"))
    assert sorted((c.key, c.dest) for c in everything) == [
        ("h", Path("/out/h.csv")),
        ("p", Path("/out/p.parquet")),
    ]
