"""The contract every :class:`~consist.core.ports.executor.Executor` must pass.

Usage::

    class TestMyExecutor(ExecutorContract):
        @pytest.fixture
        def executor(self):
            return MyExecutor(...)

The step functions here are module-level, take and return plain picklable values, so an
executor that runs them in another process can pass the tests that do not observe shared
memory; those that do (``called exactly once``, nesting) may be declared as gaps
(``notimpl``, see :mod:`consist.testing.contracts.gaps`). This module imports no pytest at
import time.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from consist.core.ports.executor import Executor
from consist.testing.contracts.gaps import GapsDeclared


class StepFailed(Exception):
    """Raised by a step in the contract; carries a payload the executor must not lose."""

    def __init__(self, message: str, payload: dict[str, Any]) -> None:
        super().__init__(message, payload)
        self.payload = payload


class StepAborted(BaseException):
    """A ``BaseException`` that is not an ``Exception`` (like ``KeyboardInterrupt``)."""


def add(a: int, b: int = 10) -> int:
    return a + b


def echo(**kwargs: Any) -> dict[str, Any]:
    return dict(kwargs)


def keyword_only(*, x: int, y: str) -> tuple[int, str]:
    return x, y


def nothing() -> None:
    return None


def fail(message: str) -> None:
    raise StepFailed(message, {"row": 3, "column": "age"})


def abort() -> None:
    raise StepAborted("stop")


class ExecutorContract(GapsDeclared):
    """Contract tests for an executor; subclasses provide an ``executor`` fixture."""

    def test_is_an_executor(self, executor: Executor) -> None:
        assert isinstance(executor, Executor)
        assert isinstance(executor.name, str) and executor.name

    def test_calls_fn_with_the_kwargs_and_returns_its_value(self, executor: Executor) -> None:
        assert executor.execute(add, {"a": 1, "b": 2}) == 3

    def test_parameter_defaults_apply(self, executor: Executor) -> None:
        assert executor.execute(add, {"a": 1}) == 11

    def test_kwargs_are_passed_by_keyword(self, executor: Executor) -> None:
        assert executor.execute(keyword_only, {"y": "b", "x": 1}) == (1, "b")

    def test_values_arrive_intact(self, executor: Executor) -> None:
        kwargs = {"n": 2**63 - 1, "f": 0.1, "s": "ünï", "none": None, "nested": {"l": [1, (2,)]}}
        assert executor.execute(echo, kwargs) == kwargs

    def test_no_kwargs(self, executor: Executor) -> None:
        assert executor.execute(echo, {}) == {}

    def test_none_result(self, executor: Executor) -> None:
        assert executor.execute(nothing, {}) is None

    def test_any_mapping_is_accepted_and_left_unchanged(self, executor: Executor) -> None:
        kwargs = {"a": 1, "b": 2}
        assert executor.execute(add, MappingProxyType(kwargs)) == 3
        assert kwargs == {"a": 1, "b": 2}

    def test_called_exactly_once(self, executor: Executor) -> None:
        calls: list[int] = []

        def step(x: int) -> int:
            calls.append(x)
            return x * 2

        assert executor.execute(step, {"x": 4}) == 8
        assert calls == [4]

    def test_exception_propagates_unchanged(self, executor: Executor) -> None:
        import pytest

        with pytest.raises(StepFailed, match="bad rows") as info:
            executor.execute(fail, {"message": "bad rows"})
        assert type(info.value) is StepFailed
        assert info.value.args == ("bad rows", {"row": 3, "column": "age"})
        assert info.value.payload == {"row": 3, "column": "age"}

    def test_wrong_kwargs_raise_type_error(self, executor: Executor) -> None:
        import pytest

        with pytest.raises(TypeError):
            executor.execute(add, {"a": 1, "nope": 2})

    def test_base_exceptions_propagate(self, executor: Executor) -> None:
        import pytest

        with pytest.raises(StepAborted):
            executor.execute(abort, {})

    def test_executor_is_reusable_after_a_failure(self, executor: Executor) -> None:
        import contextlib

        with contextlib.suppress(StepFailed):
            executor.execute(fail, {"message": "first"})
        assert executor.execute(add, {"a": 2, "b": 3}) == 5

    def test_nested_steps(self, executor: Executor) -> None:
        def outer(n: int) -> int:
            return executor.execute(add, {"a": n, "b": 1}) * 10

        assert executor.execute(outer, {"n": 1}) == 20
