"""What can be recorded: the checks made before anything is written."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consist.core.checks import (
    INT32_MAX,
    MAX_DEPTH,
    check_int,
    check_key_text,
    check_storable,
    check_tags,
    check_text,
    short_path,
    storable,
    storable_text,
)
from consist.core.errors import (
    ArgumentError,
    ArgumentTypeError,
    InvalidKeyError,
    has_credentials,
    redact,
)
from consist.core.identity import canonicalize
from consist.core.identity.canonical import storable_tree
from consist.core.model import MAX_KEY_BYTES, validate_key


@pytest.mark.parametrize("value", [0, -1, 2030, INT32_MAX, -(2**31)])
def test_integers_in_range_pass(value: int) -> None:
    assert check_int(value, "year") == value


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (2**31, ArgumentError),
        (-(2**31) - 1, ArgumentError),
        (2**70, ArgumentError),
        (1.5, ArgumentTypeError),
        (2030.0, ArgumentTypeError),
        ("2030", ArgumentTypeError),
        (True, ArgumentTypeError),
    ],
)
def test_other_integers_are_refused_naming_the_value(value: object, error: type) -> None:
    with pytest.raises(error, match=r"year="):
        check_int(value, "year")


def test_text_with_a_lone_surrogate_is_refused() -> None:
    assert check_text("é", "description") == "é"
    with pytest.raises(ArgumentError, match="lone surrogate"):
        check_text("a\ud800", "description")
    assert storable_text("a\ud800") == "a\\ud800"


def test_tags_are_a_list_of_text() -> None:
    assert check_tags(None) == []
    assert check_tags("a") == ["a"]
    assert check_tags(("a", "b")) == ["a", "b"]
    with pytest.raises(ArgumentTypeError, match="tags=5"):
        check_tags(5)
    with pytest.raises(ArgumentTypeError, match="a tag in tags"):
        check_tags(["a", 5])


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"a": {(1, 2): 3}}, r'meta\["a"\]'),
        ({"a": ["x", "\udc80"]}, r'meta\["a"\]\[1\]'),
        ({"\ud800": 1}, "a key of meta"),
    ],
)
def test_unstorable_values_are_refused_with_their_key_path(value: object, path: str) -> None:
    assert not storable(value)
    with pytest.raises((ArgumentError, ArgumentTypeError), match=path):
        check_storable(value, "meta")


def test_cycles_are_refused() -> None:
    loop: list = []
    loop.append(loop)
    with pytest.raises(ArgumentTypeError, match="contains itself"):
        check_storable({"a": loop}, "meta")


def test_values_nested_too_deeply_are_refused() -> None:
    deep: dict = {}
    for _ in range(5000):
        deep = {"a": deep}
    with pytest.raises(ArgumentTypeError, match=f"more than {MAX_DEPTH} levels deep") as info:
        check_storable({"x": deep}, "meta")
    assert len(str(info.value)) < 300  # the key path is cut in the middle


def test_short_paths_are_kept_and_long_ones_cut() -> None:
    assert short_path('config["a"]') == 'config["a"]'
    cut = short_path("config" + '["a"]' * 500)
    assert cut.startswith('config["a"]') and "..." in cut and cut.endswith('["a"]')
    assert len(cut) < 130


def test_keys_and_tags_cannot_hold_nul() -> None:
    assert check_key_text("alpha.beta", "a facet key") == "alpha.beta"
    with pytest.raises(ArgumentError, match=r"a facet key \('a\\x00b'\) contains a NUL.*'ab'"):
        check_key_text("a\x00b", "a facet key")
    with pytest.raises(ArgumentError, match="a tag in tags"):
        check_tags(["ok", "x\x00"])
    with pytest.raises(ArgumentError, match="tags"):
        check_tags("x\x00")


@pytest.mark.parametrize(
    ("text", "shown", "secret"),
    [
        ("s3://AKIAXXX:SECRETYYY@b/p.duckdb", "s3://***@b/p.duckdb", True),
        (
            "db_path='postgresql://u:pw@host/db' and x",
            "db_path='postgresql://***@host/db' and x",
            True,
        ),
        ("s3://AKIA:abc/def@bucket/x", "s3://***@bucket/x", True),  # a "/" in the secret
        ("https://TOKEN@github.com/x", "https://***@github.com/x", False),
        ("a s3://k:s@b b s3://k2:s2@c", "a s3://***@b b s3://***@c", True),
        ("https://T@h s3://k:s@b", "https://***@h s3://***@b", True),
        ("file:///home/u/x@2.csv", "file:///home/u/x@2.csv", False),
        ("file:///C:/x@2.csv", "file:///C:/x@2.csv", False),
        ("/data/user@host:1/x.csv", "/data/user@host:1/x.csv", False),
        ("inputs://runs/x.csv", "inputs://runs/x.csv", False),
    ],
)
def test_credentials_in_urls_are_redacted(text: str, shown: str, secret: bool) -> None:
    assert redact(text) == shown
    assert has_credentials(text) is secret


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3), kids),
    max_leaves=10,
)
keys = st.one_of(
    st.text(max_size=3), st.integers(), st.none(), st.tuples(st.integers(), st.text(max_size=2))
)


@given(st.dictionaries(keys, json_like, max_size=4))
def test_every_canonical_tree_can_be_recorded(config: dict) -> None:
    record = storable_tree(canonicalize(config))
    assert storable(record)
    json.dumps(record)


def test_keys_have_a_byte_limit() -> None:
    assert validate_key("k" * MAX_KEY_BYTES)
    assert validate_key("é" * (MAX_KEY_BYTES // 2))
    for key in ("k" * (MAX_KEY_BYTES + 1), "é" * (MAX_KEY_BYTES // 2 + 1), "a\ud800"):
        with pytest.raises(InvalidKeyError):
            validate_key(key)
