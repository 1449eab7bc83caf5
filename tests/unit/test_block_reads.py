"""What a traced block reads from its surroundings, found from its source."""

from __future__ import annotations

import ast
import textwrap
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consist.core.identity import config_digest
from consist.core.identity.arguments import block_arguments_identity
from consist.core.identity.block_reads import block_reads, free_names, mutated_names
from consist.core.model import Artifact


def reads(body: str, *bound: str) -> tuple[str, ...]:
    return free_names(ast.parse(textwrap.dedent(body)).body, bound)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("y = f(x)", ("f", "x")),
        ("x = x + 1", ("x",)),  # the value is read before the target is bound
        ("x += 1", ("x",)),
        ("if c:\n    y = 1\nprint(y)", ("c",)),  # bound in the block before use
        ("for i in items:\n    total = i", ("items",)),
        ("v = [a * k for a in xs if a > lim]", ("xs", "lim", "k")),
        ("d = {k: v for k, v in pairs}", ("pairs",)),
        ("g = lambda q: q + off", ("off",)),
        ("def h(p):\n    local = p\n    return local + glob\nh(1)", ("glob",)),
        ("import numpy as np\nnp.zeros(n)", ("n",)),
        ("try:\n    pass\nexcept Err as e:\n    print(e)", ("Err",)),
        ("out = helpers.scale(values)", ("helpers.scale", "values")),
        ("a.b.c = params.alpha", ("params.alpha", "a.b")),
        ("t.load(ref)", ("ref",)),  # the with target is bound by the block
        ("print(len(x), sorted(x))", ("x",)),  # builtins are not reads
        ("with open(p) as fh:\n    fh.read()", ("p",)),
        ("(w := value)\nprint(w)", ("value",)),
    ],
)
def test_free_names(body: str, expected: tuple[str, ...]) -> None:
    assert reads(body, "t") == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("results.append(x)", {"results"}),
        ("totals[key] = value", {"totals"}),
        ("state.count += 1", {"state"}),
        ("n += 1", {"n"}),
        ("del cache[key]", {"cache"}),
        ("seen.update(more)\nbag.add(1)", {"seen", "bag"}),
        ("y = params.get('a')\nz = f(params)", set()),  # read only
        ("frame = load(x)\nframe['b'] = 1", {"frame"}),
    ],
)
def test_names_a_block_changes_in_place(body: str, expected: set[str]) -> None:
    assert mutated_names(ast.parse(textwrap.dedent(body)).body) == expected


SOURCE = textwrap.dedent(
    """\
    import consist

    with tracker.trace(
        "multi-line",
        config={"k": 1},
    ) as t:
        result = step(alpha)
        with tracker.trace("inner") as u:
            other = beta
    with tracker.trace("one-line"): gamma()
    """
).splitlines(keepends=True)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # The header's own arguments are the block's declared config, not reads.
        (3, ("step", "alpha", "tracker.trace", "beta")),
        (5, ("step", "alpha", "tracker.trace", "beta")),  # any line of a multi-line header
        (8, ("beta",)),  # the innermost block whose header covers the line
        (10, ("gamma",)),
    ],
)
def test_block_reads_finds_the_with_statement_covering_the_line(
    line: int, expected: tuple[str, ...]
) -> None:
    found = block_reads("<unit>", SOURCE, line)
    assert found is not None and found.names == expected


def test_block_reads_outside_any_block_or_unparsable_source_is_none() -> None:
    assert block_reads("<unit-none>", SOURCE, 1) is None
    assert block_reads("<unit-bad>", ["with x(:\n"], 1) is None


def test_an_edited_source_is_read_again() -> None:
    first = ["with tr() as t:\n", "    a\n"]
    second = ["with tr() as t:\n", "    b\n"]
    assert block_reads("<unit-edit>", first, 1).names == ("a",)  # type: ignore[union-attr]
    assert block_reads("<unit-edit>", second, 1).names == ("b",)  # type: ignore[union-attr]


class Handle:
    __consist_block_read__ = "context"


class State:
    __consist_block_read__ = "scenario"


class Opaque:
    __slots__ = ()


def artifact(digest: str) -> Artifact:
    from datetime import UTC, datetime

    return Artifact("a", "k", "workspace://k", None, digest, 1, None, datetime.now(UTC))


def test_values_count_by_content_and_handles_not_at_all() -> None:
    base, unseen = block_arguments_identity({"x": 1, "h": Handle(), "mod": ast})
    assert unseen == () and base.tree == {"reads": {"x": 1}}
    assert block_arguments_identity({"x": 2})[0].digest != base.digest
    same = block_arguments_identity({"x": 1, "h": Handle()})[0]
    assert same.digest == base.digest
    one, two = artifact("blake3:1"), artifact("blake3:1")
    assert (
        block_arguments_identity({"a": one})[0].digest
        == block_arguments_identity({"a": two})[0].digest
    )
    assert (
        block_arguments_identity({"a": artifact("blake3:2")})[0].digest
        != block_arguments_identity({"a": one})[0].digest
    )


def test_scenario_state_and_undigestable_values_are_reported_unseen() -> None:
    identity, unseen = block_arguments_identity({"sc": State(), "o": Opaque(), "n": 3})
    assert unseen == ("sc", "o")
    assert identity.tree == {"reads": {"n": 3}}


def test_a_value_counts_as_it_is_now_and_the_blocks_own_accumulators_as_first_seen() -> None:
    params = {"alpha": 1}
    before = block_arguments_identity({"params": params})[0].digest
    params["alpha"] = 2  # changed in place between two blocks: it counts
    assert block_arguments_identity({"params": params})[0].digest != before
    results: list[int] = []
    first = block_arguments_identity({"results": results}, accumulators={"results"})[0].digest
    results.append(1)  # the block's own accumulator keeps its identity
    assert (
        block_arguments_identity({"results": results}, accumulators={"results"})[0].digest == first
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@given(json_values, json_values)
def test_two_reads_share_a_digest_exactly_when_their_values_are_equal(a: Any, b: Any) -> None:
    digest_a = block_arguments_identity({"x": a})[0].digest
    digest_b = block_arguments_identity({"x": b})[0].digest
    assert (digest_a == digest_b) == (config_digest(a) == config_digest(b))


def test_numpy_arrays_count_by_dtype_shape_and_bytes() -> None:
    np = pytest.importorskip("numpy")

    def digest(value: Any) -> str:
        return block_arguments_identity({"a": value})[0].digest

    base = np.arange(12, dtype=float).reshape(3, 4)
    assert digest(base.copy()) == digest(np.asfortranarray(base))  # layout does not count
    assert digest(base) != digest(base.astype(int))  # the dtype does
    assert digest(base) != digest(base.reshape(4, 3))  # and the shape
    changed = base.copy()
    changed[2, 3] = -1
    assert digest(changed) != digest(base)


def test_the_memo_does_not_keep_large_values_alive() -> None:
    np = pytest.importorskip("numpy")
    import gc
    import weakref

    array = np.ones(1000)
    ref = weakref.ref(array)
    block_arguments_identity({"a": array}, accumulators={"a"})  # remembered, weakly
    del array
    gc.collect()
    assert ref() is None


class Model:
    def __init__(self, alpha: float, handle: Any) -> None:
        self.alpha = alpha
        self.tracker = handle


def test_an_object_read_counts_by_its_state_and_handles_it_holds_do_not() -> None:
    one, other = Model(0.5, Handle()), Model(0.5, Handle())
    assert (
        block_arguments_identity({"m": one})[0].digest
        == block_arguments_identity({"m": other})[0].digest
    )
    assert (
        block_arguments_identity({"m": Model(0.7, Handle())})[0].digest
        != block_arguments_identity({"m": one})[0].digest
    )
    assert block_arguments_identity({"m": Model(0.5, State())})[1] == ("m",)
