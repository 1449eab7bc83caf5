"""``absolute`` (string arithmetic on the hot path) agrees with the pathlib formulation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consist.core.errors import ArgumentError, ArgumentTypeError
from consist.core.workspace import absolute

SEGMENT = st.sampled_from(["a", "b", "é", ".", "..", "", "c.d", "x y"])


def _reference(path: str, base: Path | None) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = (base or Path.cwd()) / p
    return Path(os.path.normpath(p))


@given(
    segments=st.lists(SEGMENT, max_size=6),
    rooted=st.booleans(),
    home=st.booleans(),
    base=st.sampled_from([None, Path("/base/dir"), Path("/base/../other")]),
    as_path=st.booleans(),
)
def test_absolute_agrees_with_pathlib(segments, rooted, home, base, as_path) -> None:
    text = "/".join(segments)
    if home:
        text = "~/" + text
    elif rooted:
        text = "/" + text
    given_path = Path(text) if as_path else text
    assert absolute(given_path, base) == _reference(text, base)


@pytest.mark.parametrize("bad", [b"bytes", 3, None])
def test_a_value_that_is_not_a_path_is_refused(bad) -> None:
    with pytest.raises(ArgumentTypeError):
        absolute(bad)


@pytest.mark.parametrize("bad", ["a\x00b", "x\ud800"])
def test_a_path_no_file_can_have_is_refused(bad) -> None:
    with pytest.raises(ArgumentError):
        absolute(bad)
