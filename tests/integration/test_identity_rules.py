"""Identity rules through the public API: every value that reaches the function counts,
accumulators do not, and where the process was launched from never matters."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import consist
from consist import ArgumentHashError, Tracker
from consist.core.identity import canonicalize


def test_fn_args_partial_arguments_and_keywords_are_one_call(tracker: Tracker) -> None:
    seen = []

    def step(k, scale=1):
        seen.append((k, scale))

    first = tracker.run(step, fn_args={"k": 1})
    assert tracker.run(functools.partial(step, k=1)).cache_hit
    assert tracker.run(functools.partial(step, 1)).cache_hit
    changed = tracker.run(functools.partial(step, 2))
    assert not changed.cache_hit and changed.run.model_name == "step"
    assert not tracker.run(step, fn_args={"k": 1, "scale": 3}).cache_hit
    # fn_args override a partial's keywords, as they do when the function is called.
    assert tracker.run(functools.partial(step, k=5), fn_args={"k": 1}).cache_hit
    assert seen == [(1, 1), (2, 1), (1, 3)]
    assert first.run.arguments_digest is not None
    assert tracker.get_run(first.run.id).identity["arguments"] == {"fn_args": {"k": 1}}


def test_an_fn_args_key_the_function_cannot_receive_is_refused(tracker: Tracker) -> None:
    def step(alpha):
        raise AssertionError("must not run")

    with pytest.raises(consist.BindingError, match=r"fn_args names \['alhpa'\].*\['alpha'\]"):
        tracker.run(step, fn_args={"alpha": 1, "alhpa": 2})
    assert tracker.find_runs() == []

    received = []

    def flexible(**options):
        received.append(options)

    tracker.run(flexible, fn_args={"alpha": 1})
    assert received == [{"alpha": 1}]


class Model:
    def __init__(self, k: int) -> None:
        self.k = k
        self.calls = 0
        self.results: list[int] = []

    def step(self) -> None:
        self.calls += 1
        self.results.append(self.k)


@dataclass
class Solver:
    tolerance: float

    def __call__(self) -> None:
        SOLVED.append(self.tolerance)


SOLVED: list[float] = []


def test_bound_method_counts_its_instance_state(tracker: Tracker) -> None:
    one = Model(1)
    assert not tracker.run(one.step).cache_hit
    # The same instance again: its counter and results list are its own accumulators.
    assert tracker.run(one.step).cache_hit and one.calls == 1
    # A new instance with equal values hits; one with other values misses.
    assert tracker.run(Model(1).step).cache_hit
    other = tracker.run(Model(2).step)
    assert not other.cache_hit
    assert "self.k: 1 -> 2" in str(tracker.explain(other.run.id))


def test_callable_objects_count_their_state(tracker: Tracker) -> None:
    tracker.run(Solver(0.1), name="solve")
    assert tracker.run(Solver(0.1), name="solve").cache_hit
    assert not tracker.run(Solver(0.01), name="solve").cache_hit
    assert SOLVED[-2:] == [0.1, 0.01]


def test_a_value_without_a_stable_digest_is_refused_with_the_fix(tracker: Tracker) -> None:
    import threading

    class Holder:
        def __init__(self) -> None:
            self.lock = threading.Lock()

        def step(self) -> None:
            raise AssertionError("must not run")

    def step(conn) -> None:
        raise AssertionError("must not run")

    with pytest.raises(ArgumentHashError, match=r'fn_args\["conn"\].*config=') as info:
        tracker.run(step, fn_args={"conn": threading.Lock()})
    assert "__consist_identity__" in str(info.value)
    assert isinstance(info.value, TypeError) and isinstance(info.value, consist.ConsistError)
    with pytest.raises(ArgumentHashError, match=r'self\["lock"\]'):
        tracker.run(Holder().step)
    assert tracker.find_runs() == []


def test_a_digest_hook_makes_a_live_object_count(tracker: Tracker) -> None:
    class Connection:
        def __init__(self, url: str) -> None:
            self.url = url

        def __consist_identity__(self) -> dict[str, str]:
            return {"url": self.url}

    def step(conn) -> None:
        pass

    tracker.run(step, fn_args={"conn": Connection("db://a")})
    assert tracker.run(step, fn_args={"conn": Connection("db://a")}).cache_hit
    assert not tracker.run(step, fn_args={"conn": Connection("db://b")}).cache_hit


def test_callables_passed_as_arguments_count_by_their_code(tracker: Tracker) -> None:
    def step(transform) -> None:
        pass

    def double(x):
        return 2 * x

    def triple(x):
        return 3 * x

    tracker.run(step, fn_args={"transform": double})
    assert tracker.run(step, fn_args={"transform": double}).cache_hit
    assert not tracker.run(step, fn_args={"transform": triple}).cache_hit


CALLS: list[int] = []
COUNT = 0


def _module_accumulator() -> None:
    CALLS.append(1)


def _module_counter() -> int:
    global COUNT
    COUNT += 1
    return None if COUNT else None


def test_accumulators_do_not_change_identity(tracker: Tracker) -> None:
    calls: list[int] = []
    memo: dict[str, int] = {}

    def closure_step() -> None:
        calls.append(1)
        memo[str(len(memo))] = len(calls)

    before = (len(CALLS), COUNT)  # module state is shared by both stores' runs of this test
    for _ in range(3):
        tracker.run(closure_step)
        tracker.run(_module_accumulator)
        tracker.run(_module_counter)
    assert calls == [1] and (len(CALLS), COUNT) == (before[0] + 1, before[1] + 1)


def _make_step(factor):
    def step() -> None:
        FACTORS.append(factor)

    return step


FACTORS: list[object] = []


def test_factory_closures_over_different_values_miss(tracker: Tracker) -> None:
    assert not tracker.run(_make_step(3), name="scaled").cache_hit
    assert tracker.run(_make_step(3), name="scaled").cache_hit
    changed = tracker.run(_make_step(4), name="scaled")
    assert not changed.cache_hit
    assert "closure.factor: 3 -> 4" in str(tracker.explain(changed.run.id))
    assert not tracker.run(_make_step([1, 2]), name="scaled").cache_hit
    assert not tracker.run(_make_step([1, 3]), name="scaled").cache_hit
    assert not tracker.run(_make_step(Model(1)), name="scaled").cache_hit
    assert not tracker.run(_make_step(Model(2)), name="scaled").cache_hit
    assert tracker.run(_make_step(Model(2)), name="scaled").cache_hit
    assert FACTORS[:2] == [3, 4]


def test_rebinding_a_global_changes_identity_mutating_it_does_not(tracker: Tracker) -> None:
    namespace: dict[str, object] = {"__name__": "__notebook__"}
    cell = "WEIGHTS = [1, 2]\n\ndef step():\n    return None if WEIGHTS else None\n"
    exec(compile(cell, "<cell-1>", "exec"), namespace)  # noqa: S102 - a notebook cell
    first = tracker.run(namespace["step"])
    namespace["WEIGHTS"].append(3)  # type: ignore[attr-defined]
    assert tracker.run(namespace["step"]).cache_hit  # in place: not seen (documented)
    exec(compile("WEIGHTS = [1, 2, 3]\n", "<cell-2>", "exec"), namespace)  # noqa: S102
    rerun = tracker.run(namespace["step"])
    assert not rerun.cache_hit
    assert first.run.code_digest != rerun.run.code_digest


class Params(BaseModel):
    n: int
    flag: bool


def test_numpy_scalars_canonicalise_in_config_and_facets(tracker: Tracker) -> None:
    def step(config) -> None:
        pass

    first = tracker.run(step, config={"n": np.int64(1), "flag": np.True_, "x": np.float32(0.5)})
    assert tracker.run(step, config={"n": 1, "flag": True, "x": 0.5}).cache_hit
    assert tracker.run(step, config=Params(n=1, flag=True).model_dump() | {"x": 0.5}).cache_hit
    assert tracker.get_run(first.run.id).config == {"flag": True, "n": 1, "x": 0.5}
    faceted = tracker.run(step, config={"n": 2}, facet={"n": np.int64(2), "ok": np.bool_(False)})
    assert tracker.get_run(faceted.run.id).facet == {"n": 2, "ok": False}
    assert tracker.find_runs(facet={"n": 2})[0].id == faceted.run.id
    assert tracker.run(step, fn_args={"config": {"n": np.int64(7)}}).run.arguments_digest
    assert tracker.run(step, fn_args={"config": {"n": 7}}).cache_hit


# -- launched from any folder --------------------------------------------------------------

HELPER = "def scale(x):\n    return x * 2\n"
DRIVER = """
import json, os, sys
from consist import Tracker
import helper

def step():
    return None if helper.scale(1) else None

tracker = Tracker(run_dir=os.environ["RUNS"], db_path=os.environ["DB"])
result = tracker.run(step)
print(json.dumps({"hit": result.cache_hit, "signature": result.run.signature}))
tracker.close()
"""


@pytest.mark.slow
def test_a_driver_launched_from_any_folder_follows_its_helpers(
    tmp_path: Path, store_kind: str
) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (project / "src" / "helper.py").write_text(HELPER)
    (project / "src" / "driver.py").write_text(textwrap.dedent(DRIVER))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        **os.environ,
        "RUNS": str(tmp_path / "runs"),
        "DB": str(tmp_path / f"provenance.{store_kind}"),
    }

    def launch(cwd: Path) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, str(project / "src" / "driver.py")],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    first = launch(project)
    from_elsewhere = launch(elsewhere)
    assert not first["hit"] and from_elsewhere["hit"]
    assert from_elsewhere["signature"] == first["signature"]
    (project / "src" / "helper.py").write_text(HELPER.replace("x * 2", "x * 3"))
    edited = launch(elsewhere)
    assert not edited["hit"] and edited["signature"] != first["signature"]
    assert launch(project / "src") == {"hit": True, "signature": edited["signature"]}


# -- property: equal canonical values <=> equal signature -----------------------------------

_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.0, 0.5, -1.5]),  # integral floats equal their ints
    st.sampled_from(["a", "b", "1"]),
    st.integers(-3, 3).map(np.int64),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner),
    max_leaves=6,
)
_arguments = st.dictionaries(st.sampled_from(["k", "alpha", "beta"]), _values, max_size=3)


def _takes_config(config) -> None:
    pass


def _takes_keywords(**options) -> None:
    pass


def _signature(tracker: Tracker, channel: str, values: dict) -> str:
    if channel == "config":
        result = tracker.run(_takes_config, config=values)
    elif channel == "fn_args":
        result = tracker.run(_takes_keywords, fn_args=values)
    else:
        result = tracker.run(functools.partial(_takes_keywords, **values))
    return str(result.run.signature)


@pytest.mark.parametrize("channel", ["config", "fn_args", "partial"])
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=_arguments, second=_arguments)
def test_equal_canonical_values_iff_equal_signature(
    tracker: Tracker, channel: str, first: dict, second: dict
) -> None:
    trees = canonicalize(first), canonicalize(second)
    # True and 1 are equal in Python but not canonically: compare leaf types too.
    leaves = _leaves_of(trees[0]), _leaves_of(trees[1])
    same = trees[0] == trees[1] and [type(a) for a in leaves[0]] == [type(b) for b in leaves[1]]
    equal = _signature(tracker, channel, first) == _signature(tracker, channel, second)
    assert equal == same, (first, second)


def _leaves_of(tree: object) -> list[object]:
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in [key, *_leaves_of(tree[key])]]
    if isinstance(tree, list):
        return [leaf for item in tree for leaf in _leaves_of(item)]
    return [tree]


class Reporter:
    """A typical model class: settings, plus a logger and a compiled pattern."""

    def __init__(self, level: int, channel: str) -> None:
        import logging
        import re

        self.level = level
        self.log = logging.getLogger(channel)
        self.pattern = re.compile(r"\d+")
        self.raw = b"\x00\x01"

    def step(self) -> None:
        self.log.debug("level %s", self.level)


def test_instances_holding_loggers_patterns_and_bytes_count_by_their_identity(
    tracker: Tracker,
) -> None:
    assert not tracker.run(Reporter(1, "model.a").step).cache_hit
    assert tracker.run(Reporter(1, "model.a").step).cache_hit
    assert not tracker.run(Reporter(1, "model.b").step).cache_hit  # another logger
    assert not tracker.run(Reporter(2, "model.a").step).cache_hit
    assert tracker.run(Reporter(2, "model.a").step, fn_args={}).cache_hit
