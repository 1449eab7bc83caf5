"""Known gaps: an implementation declares the contract tests it does not pass (yet).

In the style of Ibis's ``notimpl`` markers, a gap is declared, never silently omitted. A
subclass of a contract names the tests it is known to fail, with the reason::

    class TestMyEngine(FrameEngineContract):
        notimpl = {"test_parquet_round_trip": "writes json only"}

        @pytest.fixture
        def engine(self): ...

Each declared test still runs, as a strict ``xfail``: it is reported as an expected failure,
and it fails the suite as soon as it passes, so a closed gap must be undeclared.
:class:`GapsDeclared` (a base of every contract here) checks that each declared name is a
test of the contract, so a renamed test cannot leave a stale declaration behind.

The markers are applied by :func:`pytest_collection_modifyitems`; import it into the
``conftest.py`` next to the suites::

    from consist.testing.contracts.gaps import pytest_collection_modifyitems  # noqa: F401

This module imports no pytest at import time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar


class GapsDeclared:
    """Mixin: a ``notimpl`` mapping of test name -> reason, validated by a test of its own."""

    notimpl: ClassVar[Mapping[str, str]] = {}

    def test_declared_gaps_are_tests_of_the_contract(self) -> None:
        tests = {name for name in dir(type(self)) if name.startswith("test_")}
        unknown = sorted(set(self.notimpl) - tests)
        assert not unknown, f"notimpl names tests that do not exist: {unknown}"
        blank = sorted(name for name, reason in self.notimpl.items() if not str(reason).strip())
        assert not blank, f"notimpl entries need a reason: {blank}"


def gap_reason(cls: type | None, test_name: str) -> str | None:
    """The declared reason ``cls`` does not pass ``test_name``, or None."""
    notimpl = getattr(cls, "notimpl", None) if cls is not None else None
    if not isinstance(notimpl, Mapping):
        return None
    reason = notimpl.get(test_name)
    return None if reason is None else str(reason)


def mark_gaps(items: Iterable[Any]) -> None:
    """Add a strict ``xfail`` marker to every collected test its class declares a gap."""
    import pytest

    for item in items:
        name = str(getattr(item, "originalname", None) or getattr(item, "name", ""))
        reason = gap_reason(getattr(item, "cls", None), name)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=f"notimpl: {reason}", strict=True))


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    """pytest hook: apply :func:`mark_gaps` to the collected tests."""
    mark_gaps(items)
