"""Pure core rules: binding plans, output mapping, key validation, URIs, the cache decision."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from consist.core.binding import classify_annotation, plan_binding
from consist.core.cache import decide
from consist.core.errors import BindingError, InvalidKeyError, OutputError
from consist.core.model import Artifact, Run, RunStatus, validate_key
from consist.core.outputs import map_return_value
from consist.core.ports.store import CacheCandidate
from consist.core.workspace import Workspace


def _plan(fn, **kw):
    defaults = dict(
        fn_args={}, has_config=False, config_keys=set(), input_keys=set(), load_inputs=True
    )
    defaults.update(kw)
    return {b.name: b for b in plan_binding(fn, **defaults)}


def test_binding_precedence_fn_args_config_inputs_config_keys() -> None:
    def fn(a, config, b, c, d=1):
        pass

    plan = _plan(
        fn, fn_args={"a": 1, "b": 2}, has_config=True, config_keys={"c", "b"}, input_keys={"b", "c"}
    )
    assert plan["a"].source == "fn_args"
    assert plan["config"].source == "config"
    assert plan["b"].source == "fn_args"  # fn_args win over inputs
    assert plan["c"].source == "input"  # inputs win over config keys
    assert "d" not in plan  # has a default, nothing offers it


def test_unbindable_parameter_names_function_and_parameter() -> None:
    def needs(x):
        pass

    with pytest.raises(BindingError, match=r"needs\(\) parameter 'x'"):
        _plan(needs)


def test_annotations_choose_how_inputs_are_passed() -> None:
    import pandas as pd

    assert classify_annotation(Path)[0] == "path"
    assert classify_annotation(str)[0] == "path"
    assert classify_annotation("Path")[0] == "path"
    assert classify_annotation(Artifact)[0] == "artifact"
    load, frame_type = classify_annotation(pd.DataFrame)
    assert load == "frame" and frame_type in {"pandas.DataFrame", "pandas.core.frame.DataFrame"}
    assert classify_annotation("pl.LazyFrame") == ("frame", "polars.LazyFrame")
    assert classify_annotation(Path | None)[0] == "path"


def test_load_inputs_false_always_passes_paths() -> None:
    import pandas as pd

    def fn(frame: pd.DataFrame):
        pass

    assert _plan(fn, input_keys={"frame"}, load_inputs=False)["frame"].load == "path"


@pytest.mark.parametrize(
    ("value", "declared", "expected"),
    [
        ({"a": 1, "b": 2}, [], [("a", 1), ("b", 2)]),
        ((1, 2), ["a", "b"], [("a", 1), ("b", 2)]),
        (5, ["only"], [("only", 5)]),
        (5, [], [("output", 5)]),
        (None, ["a"], []),
    ],
)
def test_return_value_mapping(value, declared, expected) -> None:
    assert map_return_value(value, declared, "s") == expected


@pytest.mark.parametrize(("value", "declared"), [((1, 2), []), ((1,), ["a", "b"]), (1, ["a", "b"])])
def test_return_value_shape_errors(value, declared) -> None:
    with pytest.raises(OutputError):
        map_return_value(value, declared, "s")


@pytest.mark.parametrize(
    "key", ["", " ", "a/b", "a\\b", "..", "../x", "x/..", ".", "a\x00b", None, 3]
)
def test_invalid_keys(key) -> None:
    with pytest.raises(InvalidKeyError):
        validate_key(key)


@pytest.mark.parametrize("key", ["persons", "persons_2030", "a.b", "Trips-v2"])
def test_valid_keys(key) -> None:
    assert validate_key(key) == key


def test_workspace_uris_round_trip_and_mounts_win(tmp_path: Path) -> None:
    ws = Workspace(
        tmp_path / "runs", {"inputs": tmp_path / "data", "inner": tmp_path / "runs" / "m"}
    )
    cases = {
        tmp_path / "runs" / "outputs" / "x y.csv": "workspace://outputs/x%20y.csv",
        tmp_path / "data" / "a.csv": "inputs://a.csv",
        tmp_path / "runs" / "m" / "b.csv": "inner://b.csv",
    }
    for path, uri in cases.items():
        assert ws.to_uri(path) == (uri, True)
        assert ws.to_path(uri) == path
    outside = tmp_path / "elsewhere.csv"
    uri, portable = ws.to_uri(outside)
    assert not portable and uri.startswith("file://") and ws.to_path(uri) == outside
    # The same URI resolves under another machine's roots.
    moved = Workspace(tmp_path / "moved", {"inputs": tmp_path / "d2"})
    assert moved.to_path("inputs://a.csv") == tmp_path / "d2" / "a.csv"
    with pytest.raises(LookupError, match="mount 'nope'"):
        ws.to_path("nope://x")


def _run(**meta) -> Run:
    return Run("r1", "m", RunStatus.COMPLETED, datetime.now(UTC), meta=meta)


def test_cache_decision() -> None:
    candidate = CacheCandidate(_run(), {})
    assert decide("reuse", candidate).hit
    assert decide("readonly", candidate).hit
    assert not decide("overwrite", candidate).hit
    assert not decide("reuse", None).hit
    gone = decide("reuse", candidate, outputs_present=lambda c: ["gone"])
    assert not gone.hit and "outputs of run r1 are missing (gone)" in gone.reason
    present = decide("reuse", candidate, outputs_present=lambda c: [])
    assert present.hit and present.source_run_id == "r1"
