"""Config canonicalisation and digests: spelling never matters, meaning always does."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import time
from collections import OrderedDict
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consist.core.checks import MAX_DEPTH
from consist.core.errors import ConfigHashError, ConsistError
from consist.core.identity import canonical_json, canonicalize, config_digest, tree_digest
from consist.core.identity.canonical import canonical_bytes

# -- strategies -------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(min_value=-(2**53), max_value=2**53).map(float)  # integral floats
    | st.text(max_size=6)
)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


def semantic_key(value: Any) -> Any:
    """What a config *means*: integral floats are ints, bools are not ints, lists ordered."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("number", value)
    if isinstance(value, float):
        if math.isnan(value):
            return ("nan",)
        return ("number", int(value)) if value.is_integer() else ("float", value)
    if isinstance(value, str):
        return ("str", value)
    if value is None:
        return ("none",)
    if isinstance(value, list):
        return ("list", tuple(semantic_key(v) for v in value))
    return ("dict", frozenset((k, semantic_key(v)) for k, v in value.items()))


def respell(value: Any) -> Any:
    """The same meaning spelt differently: ints <-> integral floats, tuples, reversed keys."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return float(value) if abs(value) <= 2**53 else value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return tuple(respell(v) for v in value)
    return {k: respell(v) for k, v in reversed(list(value.items()))}


# -- properties -------------------------------------------------------------------------


@given(st.dictionaries(st.text(max_size=5), json_like, min_size=2, max_size=8), st.randoms())
def test_mapping_key_order_is_ignored(config: dict[str, Any], rnd: Any) -> None:
    items = list(config.items())
    rnd.shuffle(items)
    shuffled = dict(items)
    assert config_digest(shuffled) == config_digest(config)
    assert canonical_json(shuffled) == canonical_json(config)


@settings(max_examples=150)
@given(json_like, json_like)
def test_digests_equal_exactly_when_meanings_equal(a: Any, b: Any) -> None:
    same_meaning = semantic_key(a) == semantic_key(b)
    assert (config_digest(a) == config_digest(b)) is same_meaning


@given(json_like)
def test_respelling_keeps_the_digest(value: Any) -> None:
    assert config_digest(respell(value)) == config_digest(value)


class _Seq(list):  # a list subclass: not plain JSON data, so it takes the general path
    pass


def slowed(value: Any) -> Any:
    if isinstance(value, list):
        return _Seq(slowed(v) for v in value)
    if isinstance(value, dict):
        return OrderedDict((k, slowed(v)) for k, v in value.items())
    return value


@given(json_like)
def test_fast_path_agrees_with_general_path(value: Any) -> None:
    assert canonical_bytes(slowed(value)) == canonical_bytes(value)


@given(json_like | st.dictionaries(st.integers() | st.tuples(st.integers()), json_like))
def test_canonicalize_is_idempotent_and_tree_digest_matches(value: Any) -> None:
    tree = canonicalize(value)
    assert canonical_bytes(canonicalize(tree)) == canonical_bytes(tree)
    assert tree_digest(tree) == config_digest(value)


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_int_and_integral_float_are_equal(n: int) -> None:
    assert config_digest({"x": n}) == config_digest({"x": float(n)})
    assert canonicalize(float(n)) == n and type(canonicalize(float(n))) is int


# -- the injectivity examples from the design --------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"a": True}, {"a": 1}),
        ({"a": False}, {"a": 0}),
        ({1: "x"}, {"1": "x"}),
        (["ab"], ["a", "b"]),
        ("1", 1),
        (None, "null"),
        ([], {}),
        ([[]], []),
        ({"a": [1, 2]}, {"a": [2, 1]}),
        (1.5, "1.5"),
        ({"a": {"b": 1}}, {"a.b": 1}),
        ({"k": None}, {}),
    ],
)
def test_distinct_meanings_get_distinct_digests(a: Any, b: Any) -> None:
    assert config_digest(a) != config_digest(b)
    assert canonical_bytes(a) != canonical_bytes(b)


def test_digest_format_and_float_normalisation() -> None:
    digest = config_digest({"a": 1})
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    assert config_digest({"a": 1.0}) == digest
    assert config_digest(-0.0) == config_digest(0)
    assert canonicalize({"b": 1.0, "a": -0.0}) == {"a": 0, "b": 1}
    assert list(canonicalize({"b": 1, "a": 2})) == ["a", "b"]


def test_nan_and_infinity_are_allowed_and_stable() -> None:
    assert config_digest({"x": float("nan")}) == config_digest({"x": float("nan")})
    assert config_digest(float("inf")) != config_digest(float("-inf"))
    assert config_digest(float("inf")) != config_digest(float("nan"))
    assert canonical_json([float("nan"), float("inf")]) == "[NaN,Infinity]"


def test_tuples_lists_and_sets() -> None:
    assert config_digest((1, 2)) == config_digest([1, 2])
    assert canonicalize({3, 1, 2}) == [1, 2, 3]
    assert config_digest(frozenset({"b", "a"})) == config_digest({"a", "b"})
    # Mixed types still sort deterministically (by encoding).
    assert canonicalize({"x", 1, None}) == canonicalize({None, 1, "x"})


def test_non_string_keys_are_kept_distinct_and_typed() -> None:
    by_year = {2020: 1.0, 2030: 2}
    assert canonicalize(by_year) == {2020: 1, 2030: 2}
    assert config_digest(by_year) != config_digest({"2020": 1, "2030": 2})
    assert config_digest({(1, 2): "a"}) == config_digest({(1.0, 2): "a"})
    assert canonical_json({2020: 1, "a": 2}) == '{"2020":1,"a":2}'


def test_keys_colliding_after_canonicalisation_are_rejected() -> None:
    with pytest.raises(ConfigHashError) as info:
        canonicalize({Path("a"): 1, "a": 2})
    assert "config" in str(info.value)


# -- structured types -------------------------------------------------------------------


def test_pydantic_model_equals_equivalent_dict() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Solver(pydantic.BaseModel):
        tol: float = 1e-6
        iterations: int = 10

    class Config(pydantic.BaseModel):
        name: str
        solver: Solver
        tags: set[str] = set()

    model = Config(name="run", solver=Solver(iterations=3), tags={"b", "a", "c"})
    as_dict = {"name": "run", "solver": {"tol": 1e-6, "iterations": 3}, "tags": ["a", "b", "c"]}
    assert config_digest(model) == config_digest(as_dict)
    assert config_digest(model) != config_digest(Config(name="run", solver=Solver()))


def test_dataclass_enum_path_and_dates() -> None:
    @dataclasses.dataclass
    class Grid:
        nx: int
        origin: tuple[float, float]

    class Method(enum.Enum):
        FAST = "fast"
        EXACT = 2

    class Level(enum.IntEnum):
        HIGH = 3

    assert canonicalize(Grid(4, (0.0, 1.5))) == {"nx": 4, "origin": [0, 1.5]}
    assert config_digest(Grid(4, (0.0, 1.5))) != config_digest(Grid(5, (0.0, 1.5)))
    assert canonicalize([Method.FAST, Method.EXACT, Level.HIGH]) == ["fast", 2, 3]
    assert canonicalize(Path("data") / "x.csv") == "data/x.csv"
    assert canonicalize(PureWindowsPath("data\\x.csv")) == "data/x.csv"
    assert canonicalize(PurePosixPath("/a/b")) == "/a/b"
    assert canonicalize(dt.date(2024, 1, 2)) == "2024-01-02"
    assert canonicalize(dt.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05"
    assert canonicalize(dt.time(3, 4)) == "03:04:00"


def test_subclasses_of_builtins_and_mappings() -> None:
    class Name(str):
        def __str__(self) -> str:
            return "overridden"

    assert canonicalize(Name("x")) == "x" and type(canonicalize(Name("x"))) is str
    assert config_digest(OrderedDict([("b", 1), ("a", 2)])) == config_digest({"a": 2, "b": 1})
    assert config_digest(MappingProxyType({"a": 1})) == config_digest({"a": 1})


def test_numpy_values() -> None:
    np = pytest.importorskip("numpy")
    assert config_digest({"x": np.float64(2.0)}) == config_digest({"x": 2})
    assert config_digest({"x": np.int32(7)}) == config_digest({"x": 7})
    assert config_digest(np.bool_(True)) == config_digest(True)
    assert config_digest(np.bool_(True)) != config_digest(1)
    assert config_digest(np.array([[1.0, 2.5], [3, 4]])) == config_digest([[1, 2.5], [3, 4]])


# -- errors and the plugin fallback ------------------------------------------------------


def test_error_names_the_key_path() -> None:
    with pytest.raises(TypeError) as info:
        canonicalize({"solver": {"callback": lambda: 0}})
    assert isinstance(info.value, ConfigHashError) and isinstance(info.value, ConsistError)
    assert info.value.path == 'config["solver"]["callback"]'
    assert str(info.value).startswith('config["solver"]["callback"] holds a builtins.function')


def test_error_names_a_list_index_and_int_keys() -> None:
    with pytest.raises(ConfigHashError) as info:
        config_digest({"layers": [1, {"ok": 2}, object()]})
    assert info.value.path == 'config["layers"][2]'
    with pytest.raises(ConfigHashError) as info:
        canonicalize({2020: [object()]}, path="params")
    assert info.value.path == "params[2020][0]"


def test_self_referencing_config_is_rejected() -> None:
    looped: list[Any] = [1]
    looped.append(looped)
    with pytest.raises(ConfigHashError):
        config_digest({"x": looped})


def _nested(levels: int, container: type = dict) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value} if container is dict else [value]
    return value


@pytest.mark.parametrize("container", [dict, list])
def test_nesting_up_to_the_limit_is_digested_alike_on_both_paths(container: type) -> None:
    value = _nested(MAX_DEPTH, container)
    assert canonical_bytes(value) == canonical_bytes(canonicalize(value))  # fast == general
    assert config_digest(value) == tree_digest(canonicalize(value))


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 5000])
@pytest.mark.parametrize("container", [dict, list])
def test_deeper_nesting_is_refused_on_both_paths(levels: int, container: type) -> None:
    value = _nested(levels, container)
    for digest in (canonicalize, config_digest, canonical_bytes):
        with pytest.raises(ConfigHashError, match=f"more than {MAX_DEPTH} levels deep") as info:
            digest(value)
        assert info.value.path.startswith(
            'config["a"]["a"]' if container is dict else "config[0][0]"
        )
        assert len(info.value.path) < 130  # cut in the middle, not a thousand characters


def test_nesting_through_stand_ins_is_refused_not_a_recursion_error() -> None:
    # Each level goes through the fallback hook, several frames deep: the stack runs out
    # before the depth limit is reached.
    class Node:
        def __init__(self, child: object) -> None:
            self.child = child

    chain: object = None
    for _ in range(3000):
        chain = Node(chain)
    hook = lambda obj: {"child": obj.child} if isinstance(obj, Node) else None  # noqa: E731
    with pytest.raises(ConfigHashError, match="levels deep"):
        canonicalize(chain, fallback=hook)


def test_a_cycle_is_named_as_a_cycle() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(ConfigHashError, match="contains itself") as info:
        canonicalize({"solver": loop})
    assert info.value.path == 'config["solver"]["self"]'


def test_fallback_hook_supplies_or_declines_stand_ins() -> None:
    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    def hook(obj: object) -> object:
        return {"point": obj.x} if isinstance(obj, Point) else None

    assert canonicalize({"p": Point(2)}, fallback=hook) == {"p": {"point": 2}}
    assert config_digest(Point(2), fallback=hook) != config_digest(Point(3), fallback=hook)
    with pytest.raises(ConfigHashError) as info:
        canonicalize({"p": [Point(1), object()]}, fallback=hook)
    assert info.value.path == 'config["p"][1]'
    with pytest.raises(ConfigHashError):
        canonicalize(Point(1))


# -- display and speed ------------------------------------------------------------------


def test_canonical_json_is_compact_sorted_and_parseable() -> None:
    text = canonical_json({"b": (1, 2.0), "a": {"z": None, "y": True}, "p": Path("x/y")})
    assert text == '{"a":{"y":true,"z":null},"b":[1,2],"p":"x/y"}'
    assert json.loads(text)["b"] == [1, 2]


def test_small_config_digests_quickly() -> None:
    config = {f"key{i}": (i, float(i) / 3, f"v{i}") if i % 2 else i for i in range(10)}
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(200):
            config_digest(config)
        best = min(best, (time.perf_counter() - start) / 200)
    assert best < 50e-6
