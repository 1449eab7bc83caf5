"""The executor contract, run against the in-process adapter and the recording fake."""

from __future__ import annotations

import pytest

from consist.adapters.executors.inprocess import InProcessExecutor
from consist.testing.contracts import ExecutorContract
from consist.testing.contracts.executor import StepFailed, add, fail
from consist.testing.fake_executor import RecordingExecutor


class TestInProcessExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self) -> InProcessExecutor:
        return InProcessExecutor()


class TestRecordingExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self) -> RecordingExecutor:
        return RecordingExecutor()


def test_recording_executor_records_calls_and_outcomes() -> None:
    executor = RecordingExecutor()
    kwargs = {"a": 1, "b": 2}
    assert executor.execute(add, kwargs) == 3
    with pytest.raises(StepFailed):
        executor.execute(fail, {"message": "boom"})
    first, second = executor.calls
    assert executor.called == [add, fail]
    assert (first.kwargs, first.result, first.error, first.finished) == (kwargs, 3, None, True)
    assert first.kwargs is not kwargs
    assert isinstance(second.error, StepFailed) and second.finished
    executor.reset()
    assert executor.calls == []
